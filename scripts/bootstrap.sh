#!/usr/bin/env bash
# Installs what the bench needs on a Debian 12 machine, and nothing twice:
# apt packages, a pinned venv, the dependency collections, podman settings.
source "$(dirname "$0")/lib.sh"

# nsd serves the zone of the DNS records' live test (tests/integration), on a port of its own.
apt_packages=(podman runc debootstrap ucspi-tcp daemontools openssl git rsync nsd)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  mailops_log "apt-get install ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # The bench starts the daemons it needs itself: no package may start its own (nsd would take port 53).
  policy=/usr/sbin/policy-rc.d; own_policy=
  [ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
                        "${sudo_cmd[@]}" chmod 755 "$policy"; own_policy=1; }
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  [ -z "$own_policy" ] || "${sudo_cmd[@]}" rm -f "$policy"
fi

mkdir -p "$MAILOPS_CACHE"
# crun fails on this kind of host (cgroups hybrid mode) and the default rlimits cannot be set
# by an unprivileged container: both settings are needed, nothing else.
cat > "$CONTAINERS_CONF.tmp" <<'CONF'
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
CONF
mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"

if [ ! -e "$MAILOPS_VENV/.complete" ]; then
  mailops_log "creating venv $MAILOPS_VENV"
  rm -rf "$MAILOPS_VENV"
  "$MAILOPS_PYTHON" -m venv "$MAILOPS_VENV"
  "$MAILOPS_VENV/bin/pip" install -q -r "$MAILOPS_REPO/tests/requirements.txt" 2> >(mailops_quiet_pip >&2)
  touch "$MAILOPS_VENV/.complete"
fi

stamp=$MAILOPS_COLLECTIONS/.ansible-$MAILOPS_ANSIBLE_WHEEL_VERSION
if [ ! -e "$stamp" ]; then
  mailops_log "extracting collections from ansible==$MAILOPS_ANSIBLE_WHEEL_VERSION"
  wheels=$MAILOPS_CACHE/wheels
  mkdir -p "$wheels"
  ls "$wheels"/ansible-"$MAILOPS_ANSIBLE_WHEEL_VERSION"-*.whl >/dev/null 2>&1 ||
    "$MAILOPS_VENV/bin/pip" download -q --no-deps -d "$wheels" "ansible==$MAILOPS_ANSIBLE_WHEEL_VERSION" 2> >(mailops_quiet_pip >&2)
  wheel=$(ls "$wheels"/ansible-"$MAILOPS_ANSIBLE_WHEEL_VERSION"-*.whl | head -n1)
  patterns=()
  for c in $MAILOPS_DEP_COLLECTIONS; do patterns+=("ansible_collections/$c/*"); done
  rm -rf "$MAILOPS_COLLECTIONS"
  mkdir -p "$MAILOPS_COLLECTIONS"
  (cd "$MAILOPS_COLLECTIONS" && "$MAILOPS_PYTHON" -m zipfile -e "$wheel" .extract >/dev/null &&
    for c in $MAILOPS_DEP_COLLECTIONS; do
      mkdir -p "ansible_collections/${c%/*}"
      mv ".extract/ansible_collections/$c" "ansible_collections/$c"
    done && rm -rf .extract)
  touch "$stamp"
fi
# This checkout is the collection mailops.qmail for every tool that reads the collections path.
rm -f "$MAILOPS_COLLECTIONS/ansible_collections/mailops/qmail"
mkdir -p "$MAILOPS_SELF/ansible_collections/mailops"
ln -sfn "$MAILOPS_REPO" "$MAILOPS_SELF/ansible_collections/mailops/qmail"
mailops_log "bootstrap ready: venv $(basename "$MAILOPS_VENV"), collections in $MAILOPS_COLLECTIONS"
