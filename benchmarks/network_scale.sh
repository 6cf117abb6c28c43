#!/usr/bin/env bash
# Scale benchmark of the full site playbook (mailops.qmail.site) with the settings of
# molecule/network's mx host (qmail, mta_swap, daemontools, send, tls, smtp_auth, relay_ctrl,
# smtpd, pop3d, qmtpd) on 1, 3 and 6 fresh containers at once (forks >= hosts). Prints, per N: the
# first converge, the idempotent rerun through every role (mailops_qmail_fast_rerun=false, what
# every rerun cost before the fast path) and the rerun as users get it (the fast path), each as wall
# seconds and task results (ok + skipped + failed, summed over hosts) with changed; a trivial
# one-task play on the same hosts; the rerun's ratio to it; and time(N)/time(1) of each run.
# Prints figures; asserts nothing.
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
run() {  # run LOG PLAYBOOK [ARGS...] -> wall seconds
  local start end log=$1 playbook=$2
  shift 2
  start=$(date +%s.%N)
  ansible-playbook -i "$work/inventory.yml" -f "$forks" "$playbook" "$@" >"$log" 2>&1 || { echo "failed, see $log" >&2; tail -20 "$log" >&2; }
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

cat >"$work/trivial.yml" <<'YAML'
- name: A trivial play, the unit of the ratios
  hosts: all
  gather_facts: false
  tasks:
    - name: Reach the host
      ansible.builtin.ping:
YAML
printf '%-5s | %7s %5s %4s | %9s %5s %4s | %9s %5s %4s | %9s | %9s %9s | %7s %7s %7s\n' \
  hosts first_s res chg full_rerun res chg fast_rerun res chg trivial_s full/triv fast/triv first/1 full/1 fast/1
base_first="" base_full="" base_fast=""
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
  full=$(run "$work/full-$n.log" mailops.qmail.site -e mailops_qmail_fast_rerun=false); read -r r2 c2 < <(recap "$work/full-$n.log")
  # The scenario's settings turn the fast path off for molecule's idempotence step.
  fast=$(run "$work/fast-$n.log" mailops.qmail.site -e mailops_qmail_fast_rerun=true); read -r r3 c3 < <(recap "$work/fast-$n.log")
  trivial=$(run "$work/trivial-$n.log" "$work/trivial.yml")
  base_first=${base_first:-$first} base_full=${base_full:-$full} base_fast=${base_fast:-$fast}
  printf '%-5s | %7.1f %5s %4s | %9.1f %5s %4s | %9.1f %5s %4s | %9.1f | %9.1f %9.1f | %7.2f %7.2f %7.2f\n' \
    "$n" "$first" "$r1" "$c1" "$full" "$r2" "$c2" "$fast" "$r3" "$c3" "$trivial" \
    "$(python3 -c "print($full / $trivial)")" "$(python3 -c "print($fast / $trivial)")" \
    "$(python3 -c "print($first / $base_first)")" "$(python3 -c "print($full / $base_full)")" \
    "$(python3 -c "print($fast / $base_fast)")"
  podman rm -f $(podman ps -aq --filter label=mailops-bench=network) >/dev/null 2>&1
done
