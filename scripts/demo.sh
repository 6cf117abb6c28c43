#!/usr/bin/env bash
# README's main command: brings up a local target (a podman container with systemd as PID 1, from
# the bench image or from $MAILOPS_QMAIL_IMAGE), runs mailops.qmail.site on it, and prints a health
# report. Running it again converges the same container; MAILOPS_DEMO_FRESH=1 starts from scratch.
source "$(dirname "$0")/lib.sh"

name=${MAILOPS_DEMO_NAME:-mailops-demo}
image=${MAILOPS_QMAIL_IMAGE:-$MAILOPS_IMAGE_SYSTEMD}

bash "$MAILOPS_REPO/scripts/bootstrap.sh"
bash "$MAILOPS_REPO/scripts/images.sh"

if [ "${MAILOPS_DEMO_FRESH:-0}" = 1 ]; then podman rm -f "$name" >/dev/null 2>&1 || true; fi
if ! podman container exists "$name"; then
  mailops_log "starting target container $name from $image"
  podman run -d --name "$name" --hostname mail.demo.example --systemd=always "$image" >/dev/null
fi
[ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || podman start "$name" >/dev/null
podman exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true

inventory=$(mktemp "$MAILOPS_CACHE/demo-inventory.XXXXXX.yml")
trap 'rm -f "$inventory"' EXIT
cat > "$inventory" <<INV
all:
  hosts:
    $name:
      ansible_connection: containers.podman.podman
      # podman exec is already root, and the minimal image has no sudo.
      ansible_become: false
INV

mailops_log "running mailops.qmail.site on $name"
ansible-playbook -i "$inventory" "${MAILOPS_DEMO_PLAYBOOK:-mailops.qmail.site}" "$@"
mailops_log "health of $name"
ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=json \
  ansible all -i "$inventory" -m mailops.qmail.health -a "scan_dir=${MAILOPS_DEMO_SCAN_DIR:-/etc/service}" |
  python3 -c 'import json, sys
for host, result in json.load(sys.stdin)["plays"][0]["tasks"][0]["hosts"].items():
    print(result.get("text") or result.get("msg"))'
