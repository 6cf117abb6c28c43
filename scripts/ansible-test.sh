#!/usr/bin/env bash
# Runs ansible-test on a copy of this checkout laid out as ansible_collections/mailops/qmail,
# which ansible-test requires as a physical path. Arguments go to ansible-test as they are,
# e.g. `scripts/ansible-test.sh sanity` or `scripts/ansible-test.sh units`.
source "$(dirname "$0")/lib.sh"

# ansible-test fetches this from a host that may be unreachable; the stand-in works offline.
pip_version=$(python - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$MAILOPS_REPO/scripts/support/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

stage=$MAILOPS_CACHE/ansible-test/$MAILOPS_CHECKOUT_KEY/ansible_collections/mailops/qmail
mkdir -p "$stage"
# Tracked and untracked-but-not-ignored files, so a work in progress is tested as it stands
# (tracked files deleted in the work tree are listed too, and skipped).
(cd "$MAILOPS_REPO" && git ls-files -z --cached --others --exclude-standard) |
  rsync -a --delete --ignore-missing-args --from0 --files-from=- "$MAILOPS_REPO/" "$stage/"
# --delete with --files-from only prunes inside listed directories: remove stale files explicitly.
(cd "$stage" && find . -type f -not -path './tests/output/*' -printf '%P\n') | while read -r f; do
  [ -e "$MAILOPS_REPO/$f" ] || rm -f "$stage/$f"
done
cd "$stage"
subcommand=$1; shift
case "$subcommand" in
  units) exec ansible-test units --venv --python 3.11 "$@" ;;
  sanity) exec ansible-test sanity --venv --python 3.11 "$@" ;;
  *) exec ansible-test "$subcommand" "$@" ;;
esac
