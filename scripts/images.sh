#!/usr/bin/env bash
# Builds the bench images offline and only when their recipe changed: each image carries a
# label with the hash of its recipe (and of its parent's), and a matching image is kept.
source "$(dirname "$0")/lib.sh"

recipe_label=org.mailops.recipe

current_hash() { podman image inspect --format "{{ index .Labels \"$recipe_label\" }}" "$1" 2>/dev/null || true; }

build_base() {
  local hash
  hash=$(sha256sum "$MAILOPS_REPO/images/base.recipe" | cut -c1-16)
  [ "$(current_hash "$MAILOPS_IMAGE_BASE")" = "$hash" ] && { echo "$hash"; return; }
  mailops_log "building $MAILOPS_IMAGE_BASE (debootstrap, about a minute)"
  # shellcheck disable=SC1091
  source "$MAILOPS_REPO/images/base.recipe"
  local root; root=$(mktemp -d "$MAILOPS_CACHE/rootfs.XXXXXX")
  mkdir -p "$MAILOPS_CACHE/debs"
  debootstrap --variant="$variant" --include="$include" --cache-dir="$MAILOPS_CACHE/debs" \
    "$suite" "$root" >"$MAILOPS_CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$MAILOPS_CACHE/debootstrap.log" >&2; rm -rf "$root"; return 1; }
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import --change "LABEL $recipe_label=$hash" \
    --change 'CMD ["sleep", "infinity"]' - "$MAILOPS_IMAGE_BASE" >/dev/null
  rm -rf "$root"
  echo "$hash"
}

build_derived() { # name, context dir, parent image, parent hash
  local name=$1 dir=$2 parent=$3 parent_hash=$4 hash
  hash=$( (echo "$parent_hash"; cat "$dir/Containerfile") | sha256sum | cut -c1-16)
  [ "$(current_hash "$name")" = "$hash" ] && { echo "$hash"; return; }
  mailops_log "building $name"
  podman build -q --build-arg BASE="$parent" --label "$recipe_label=$hash" -t "$name" "$dir" >/dev/null
  echo "$hash"
}

base_hash=$(build_base)
systemd_hash=$(build_derived "$MAILOPS_IMAGE_SYSTEMD" "$MAILOPS_REPO/images/systemd" "$MAILOPS_IMAGE_BASE" "$base_hash")
build_derived "$MAILOPS_IMAGE_EXIM4" "$MAILOPS_REPO/images/exim4" "$MAILOPS_IMAGE_SYSTEMD" "$systemd_hash" >/dev/null
mailops_log "images ready: $MAILOPS_IMAGE_BASE $MAILOPS_IMAGE_SYSTEMD $MAILOPS_IMAGE_EXIM4"
