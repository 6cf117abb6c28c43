#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then runs every stage (molecule in
# the background beside the others) and prints one summary line per stage. Exit status is non-zero
# when any stage failed.
#   bash scripts/test.sh              all stages
#   bash scripts/test.sh lint units   only the named stages (see STAGES below)
source "$(dirname "$0")/lib.sh"

STAGES=(yamllint ansible-lint sanity units pytest docs molecule galaxy-install)
selected=("$@")
((${#selected[@]})) || selected=("${STAGES[@]}")

bash "$MAILOPS_REPO/scripts/bootstrap.sh"
cd "$MAILOPS_REPO"

stage_yamllint() { yamllint --strict .; }
stage_ansible-lint() { ansible-lint --offline; }
stage_sanity() { scripts/ansible-test.sh sanity 2>&1 | mailops_quiet_pip; }
stage_units() { scripts/ansible-test.sh units 2>&1 | mailops_quiet_pip; }
stage_pytest() {
  # Bench, role-rendering and live-service tests outside tests/unit (which ansible-test runs).
  local dirs=()
  for d in tests/bench tests/roles tests/integration; do [ -d "$d" ] && dirs+=("$d"); done
  ((${#dirs[@]})) || { echo "no pytest directories"; return 1; }
  PYTHONPATH=$MAILOPS_SELF:$MAILOPS_COLLECTIONS python -m pytest -q "${dirs[@]}"
}
stage_docs() { python scripts/docs.py --check && antsibull-changelog lint; }
# The images are built before any stage starts (below).
stage_molecule() {
  local scenario failed=0 logs status pids=() names=()
  logs=$(mktemp -d)
  # Side by side (their containers and networks have distinct names): most of a converge is
  # waiting on round trips to a container, so two scenarios take little more than the longer one.
  # Not `molecule test --all --workers N`, which skips creation and fails.
  for scenario in molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 &
    pids+=($!) names+=("$scenario")
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then status=passed; else status=FAILED; failed=1; fi
    echo "--- molecule scenario ${names[$i]}: $status"
    cat "$logs/${names[$i]}.log"
  done
  rm -rf "$logs"
  return $failed
}
stage_galaxy-install() { bash scripts/galaxy-install-check.sh; }
# With molecule: install the tarball once, and let every scenario run the site from that copy (the
# same proof as the demo run, by all of them, and one site run less).
stage_galaxy-install_for_molecule() {
  MAILOPS_GALAXY_INSTALL=$galaxy_dir bash scripts/galaxy-install-check.sh &&
    echo "every molecule scenario runs mailops.qmail from this installed copy"
}

results=() passed=0 failed=0
record() { # stage, status, seconds
  local line
  line=$(printf 'stage %-15s %s (%ds)' "$1" "$2" "$3")
  echo "$line"
  results+=("$line")
  if [ "$2" = passed ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
run_stage() { # stage name, function; sets status
  local start=$SECONDS
  echo "=== stage $1"
  if "$2"; then status=passed; else status=FAILED; fi
  record "$1" "$status" $((SECONDS - start))
}
for stage in "${selected[@]}"; do
  declare -F "stage_$stage" >/dev/null || { echo "unknown stage $stage (stages: ${STAGES[*]})" >&2; exit 2; }
done

# Both start containers from the bench images: build them once, before either runs.
if [[ " ${selected[*]} " == *" molecule "* || " ${selected[*]} " == *" galaxy-install "* ]]; then
  bash "$MAILOPS_REPO/scripts/images.sh"
fi

# molecule waits on containers most of the time: it runs in the background while the other stages
# use the second core, and its output is printed when it ends.
molecule_pid="" molecule_log=""
galaxy_done=""
if [[ " ${selected[*]} " == *" molecule "* ]]; then
  if [[ " ${selected[*]} " == *" galaxy-install "* ]]; then
    galaxy_dir=$(mktemp -d "$MAILOPS_CACHE/galaxy-molecule.XXXXXX")
    trap 'rm -rf "$galaxy_dir"' EXIT
    run_stage galaxy-install stage_galaxy-install_for_molecule
    galaxy_done=1
    # Only the installed copy and the dependencies: the checkout's own link stays off the path.
    [ "$status" = passed ] && export ANSIBLE_COLLECTIONS_PATH=$galaxy_dir/installed:$MAILOPS_COLLECTIONS
  fi
  molecule_log=$(mktemp)
  molecule_start=$SECONDS
  stage_molecule >"$molecule_log" 2>&1 &
  molecule_pid=$!
  export ANSIBLE_COLLECTIONS_PATH=$MAILOPS_SELF:$MAILOPS_COLLECTIONS
fi
for stage in "${selected[@]}"; do
  [ "$stage" = molecule ] && continue
  [ "$stage" = galaxy-install ] && [ -n "$galaxy_done" ] && continue
  run_stage "$stage" "stage_$stage"
done
if [ -n "$molecule_pid" ]; then
  echo "=== stage molecule (started with the first stage)"
  if wait "$molecule_pid"; then status=passed; else status=FAILED; fi
  cat "$molecule_log"
  rm -f "$molecule_log"
  record molecule "$status" $((SECONDS - molecule_start))
fi
echo "=== summary"
printf '%s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed (${SECONDS}s in all)"
((failed == 0))
