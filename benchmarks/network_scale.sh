#!/usr/bin/env bash
# Scale benchmark of the full site playbook (mailops.qmail.site) with the settings of
# molecule/network's mx host (qmail, mta_swap, daemontools, send, tls, smtp_auth, relay_ctrl,
# smtpd, pop3d, qmtpd) on 1, 3 and 6 fresh containers at once (forks >= hosts). Prints, per N: first converge and idempotent rerun (wall seconds, task
# results, changed) and time(N)/time(1). Prints figures; asserts nothing.
# Usage: bash benchmarks/network_scale.sh [N ...]   (default: 1 3 6)
source "$(dirname "$0")/../scripts/lib.sh"
set +e
sizes=("${@:-1}")
[ $# -gt 0 ] || sizes=(1 3 6)
image=${MAILOPS_QMAIL_IMAGE:-$MAILOPS_IMAGE_SYSTEMD}
net=mailops-bench-net
scenario=$MAILOPS_REPO/molecule/network
work=$(mktemp -d)
trap 'podman rm -f $(podman ps -aq --filter label=mailops-bench=network) >/dev/null 2>&1; rm -rf "$work"' EXIT
podman network exists "$net" || podman network create "$net" >/dev/null

# recap FILE -> "results changed" summed over hosts
recap() {
  awk '/ ok=[0-9]+ +changed=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
         if (kv[1] == "ok" || kv[1] == "failed" || kv[1] == "skipped") n += kv[2]; if (kv[1] == "changed") c += kv[2] } }
       END { print n + 0, c + 0 }' "$1"
}
run() {  # run LOG PLAYBOOK -> wall seconds
  local start end
  start=$(date +%s.%N)
  ansible-playbook -i "$work/inventory.yml" -f "$forks" "$2" >"$1" 2>&1 || { echo "failed, see $1" >&2; tail -20 "$1" >&2; }
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

printf '%-6s %10s %8s %8s %10s %8s %8s %8s\n' hosts first_s results changed rerun_s results changed ratio
base=""
for n in "${sizes[@]}"; do
  forks=$(( n > 10 ? n : 10 ))
  names=()
  for i in $(seq 1 "$n"); do
    name=mailops-bench-$n-$i
    names+=("$name")
    podman run -d --name "$name" --hostname "$name" --network "$net" --label mailops-bench=network \
      --systemd always "$image" >/dev/null
  done
  # The group `mx` with the scenario's settings for its mx host, so prepare.yml applies too.
  python3 - "$scenario/molecule.yml" "${names[@]}" >"$work/inventory.yml" <<'PY'
import json, sys, yaml
config = yaml.safe_load(open(sys.argv[1]))["provisioner"]["inventory"]
settings = dict(config["group_vars"]["all"], **config["host_vars"]["mx"], ansible_connection="containers.podman.podman")
print(json.dumps({"mx": {"hosts": {name: None for name in sys.argv[2:]}, "vars": settings}}))
PY
  for i in $(seq 1 "$n"); do podman exec "mailops-bench-$n-$i" systemctl is-system-running --wait >/dev/null 2>&1; done
  ansible-playbook -i "$work/inventory.yml" -f "$forks" "$scenario/prepare.yml" >"$work/prepare-$n.log" 2>&1
  first=$(run "$work/first-$n.log" mailops.qmail.site); read -r r1 c1 < <(recap "$work/first-$n.log")
  again=$(run "$work/again-$n.log" mailops.qmail.site); read -r r2 c2 < <(recap "$work/again-$n.log")
  base=${base:-$first}
  printf '%-6s %10.1f %8s %8s %10.1f %8s %8s %8.2f\n' "$n" "$first" "$r1" "$c1" "$again" "$r2" "$c2" "$(python3 -c "print($first / $base)")"
  podman rm -f $(podman ps -aq --filter label=mailops-bench=network) >/dev/null 2>&1
done
