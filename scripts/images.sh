#!/usr/bin/env bash
# Builds the bench images offline and only when their recipe changed: each image carries a
# label with the hash of its recipe (and of its parent's), and a matching image is kept.
# One recipe per Debian suite (images/debian<N>.recipe) makes the base image; the Containerfiles
# under images/ are shared by the suites and take their parent as the build argument BASE.
source "$(dirname "$0")/lib.sh"

recipe_label=org.mailops.recipe

current_hash() { podman image inspect --format "{{ index .Labels \"$recipe_label\" }}" "$1" 2>/dev/null || true; }

build_base() { # name, recipe file
  local name=$1 recipe=$2 hash suite variant include
  hash=$(sha256sum "$recipe" | cut -c1-16)
  [ "$(current_hash "$name")" = "$hash" ] && { echo "$hash"; return; }
  mailops_log "building $name (debootstrap, about a minute)"
  # shellcheck disable=SC1090
  source "$recipe"
  local root log=$MAILOPS_CACHE/debootstrap-$suite.log
  root=$(mktemp -d "$MAILOPS_CACHE/rootfs.XXXXXX")
  mkdir -p "$MAILOPS_CACHE/debs"
  debootstrap --variant="$variant" --include="$include" --cache-dir="$MAILOPS_CACHE/debs" \
    "$suite" "$root" >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; rm -rf "$root"; return 1; }
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import --change "LABEL $recipe_label=$hash" \
    --change 'CMD ["sleep", "infinity"]' - "$name" >/dev/null
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

build_suite() { # recipe file, base, systemd and (optional) exim4 image names; prints the base's hash
  local base_hash systemd_hash
  base_hash=$(build_base "$2" "$1")
  systemd_hash=$(build_derived "$3" "$MAILOPS_REPO/images/systemd" "$2" "$base_hash")
  [ -z "${4:-}" ] || build_derived "$4" "$MAILOPS_REPO/images/exim4" "$3" "$systemd_hash" >/dev/null
  echo "$base_hash"
}

bookworm_hash=$(build_suite "$MAILOPS_REPO/images/debian12.recipe" \
  "$MAILOPS_IMAGE_BASE" "$MAILOPS_IMAGE_SYSTEMD" "$MAILOPS_IMAGE_EXIM4")
build_derived "$MAILOPS_IMAGE_OPENRC" "$MAILOPS_REPO/images/openrc" "$MAILOPS_IMAGE_BASE" "$bookworm_hash" >/dev/null
build_derived "$MAILOPS_IMAGE_SYSVINIT" "$MAILOPS_REPO/images/sysvinit" "$MAILOPS_IMAGE_BASE" "$bookworm_hash" >/dev/null
# Debian 13 needs no exim4 image: no scenario swaps exim out there.
build_suite "$MAILOPS_REPO/images/debian13.recipe" \
  "$MAILOPS_IMAGE_DEBIAN13_BASE" "$MAILOPS_IMAGE_DEBIAN13_SYSTEMD" >/dev/null
mailops_log "images ready: $MAILOPS_IMAGE_BASE $MAILOPS_IMAGE_SYSTEMD $MAILOPS_IMAGE_EXIM4" \
  "$MAILOPS_IMAGE_OPENRC $MAILOPS_IMAGE_SYSVINIT $MAILOPS_IMAGE_DEBIAN13_BASE $MAILOPS_IMAGE_DEBIAN13_SYSTEMD"
