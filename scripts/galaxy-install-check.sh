#!/usr/bin/env bash
# Proves a Galaxy-style install works: build the collection tarball, install it into an empty
# path, check that mailops.qmail resolves from there, and run the demo's site.yml from that copy.
# With MAILOPS_GALAXY_INSTALL=DIR the copy is installed under DIR and kept, and the demo is not
# run: scripts/test.sh runs every molecule scenario from that copy instead.
source "$(dirname "$0")/lib.sh"

name=mailops-galaxy-check
if [ -n "${MAILOPS_GALAXY_INSTALL:-}" ]; then
  work=$MAILOPS_GALAXY_INSTALL
  mkdir -p "$work"
else
  work=$(mktemp -d "$MAILOPS_CACHE/galaxy-check.XXXXXX")
  cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
  trap cleanup EXIT
fi

ansible-galaxy collection build --output-path "$work/dist" "$MAILOPS_REPO" >/dev/null
tarball=$(ls "$work"/dist/mailops-qmail-*.tar.gz)
# Dependencies are already on the bench's path (Galaxy may be unreachable), hence --no-deps.
# Only the empty target on the path, or ansible-galaxy sees the bench's link and installs nothing.
ANSIBLE_COLLECTIONS_PATH=$work/installed ansible-galaxy collection install --no-deps -p "$work/installed" "$tarball" >/dev/null
installed=$work/installed/ansible_collections/mailops/qmail
[ -f "$installed/playbooks/site.yml" ] || { echo "installed collection has no playbooks/site.yml" >&2; exit 1; }
for forbidden in .git scripts images molecule/default/.molecule tests/output; do
  [ ! -e "$installed/$forbidden" ] || { echo "tarball carries $forbidden (see build_ignore)" >&2; exit 1; }
done

# The checkout's own link ($MAILOPS_SELF) stays off the path: only the installed copy can answer.
export ANSIBLE_COLLECTIONS_PATH=$work/installed:$MAILOPS_COLLECTIONS
resolved=$(ansible-doc -t module mailops.qmail.health 2>/dev/null | sed -n '1s/.*(\(.*\)).*/\1/p')
case "$resolved" in
  "$installed"/*) ;;
  *) echo "mailops.qmail resolved to '$resolved', not to the installed copy" >&2; exit 1 ;;
esac
echo "installed $(basename "$tarball") into an empty path; mailops.qmail resolves from it"
[ -z "${MAILOPS_GALAXY_INSTALL:-}" ] || exit 0

MAILOPS_DEMO_NAME=$name MAILOPS_DEMO_FRESH=1 bash "$MAILOPS_REPO/scripts/demo.sh"
echo "mailops.qmail.site ran from the installed copy"
