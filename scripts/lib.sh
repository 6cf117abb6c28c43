# shellcheck shell=bash
# Shared environment for the bench scripts: sourced, never run.
# Everything lives under one cache directory so a second run on the same machine is warm
# and a fresh clone needs no set-up by hand.
set -euo pipefail

MAILOPS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAILOPS_CACHE=${MAILOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailops-qmail}
MAILOPS_PYTHON=${MAILOPS_PYTHON:-python3.11}
command -v "$MAILOPS_PYTHON" >/dev/null 2>&1 || MAILOPS_PYTHON=python3
MAILOPS_VENV=$MAILOPS_CACHE/venv-$(sha256sum "$MAILOPS_REPO/tests/requirements.txt" | cut -c1-12)
# Dependency collections, and separately a link to this checkout as mailops.qmail, so a check can
# put an installed copy of the collection first and the checkout not at all.
MAILOPS_COLLECTIONS=$MAILOPS_CACHE/collections
# Keyed by checkout so a CI run from a fresh clone never re-points another checkout's link.
MAILOPS_CHECKOUT_KEY=$(printf '%s' "$MAILOPS_REPO" | sha256sum | cut -c1-12)
MAILOPS_SELF=$MAILOPS_CACHE/self/$MAILOPS_CHECKOUT_KEY
# Community collections taken from the `ansible` wheel, because Galaxy may be unreachable.
MAILOPS_ANSIBLE_WHEEL_VERSION=12.3.0
MAILOPS_DEP_COLLECTIONS="containers/podman community/crypto community/general ansible/posix"

# Image names of the bench; MAILOPS_QMAIL_IMAGE (a local image with qmail under /var/qmail)
# replaces the scenario images when set.
MAILOPS_IMAGE_BASE=localhost/mailops-qmail/debian12-base
MAILOPS_IMAGE_SYSTEMD=localhost/mailops-qmail/debian12-systemd
MAILOPS_IMAGE_EXIM4=localhost/mailops-qmail/debian12-exim4
# Debian 12 booted by sysvinit's /sbin/init, with OpenRC or with Debian's initscripts as rc system.
MAILOPS_IMAGE_OPENRC=localhost/mailops-qmail/debian12-openrc
MAILOPS_IMAGE_SYSVINIT=localhost/mailops-qmail/debian12-sysvinit
MAILOPS_IMAGE_DEBIAN13_BASE=localhost/mailops-qmail/debian13-base
MAILOPS_IMAGE_DEBIAN13_SYSTEMD=localhost/mailops-qmail/debian13-systemd

export MAILOPS_REPO MAILOPS_CACHE MAILOPS_VENV MAILOPS_COLLECTIONS MAILOPS_SELF MAILOPS_CHECKOUT_KEY
export MAILOPS_IMAGE_BASE MAILOPS_IMAGE_SYSTEMD MAILOPS_IMAGE_EXIM4 MAILOPS_IMAGE_OPENRC MAILOPS_IMAGE_SYSVINIT
export MAILOPS_IMAGE_DEBIAN13_BASE MAILOPS_IMAGE_DEBIAN13_SYSTEMD
export CONTAINERS_CONF=$MAILOPS_CACHE/containers.conf
export ANSIBLE_COLLECTIONS_PATH=$MAILOPS_SELF:$MAILOPS_COLLECTIONS
export ANSIBLE_CONFIG=$MAILOPS_REPO/ansible.cfg
export PATH=$MAILOPS_VENV/bin:$PATH
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

mailops_log() { printf '==> %s\n' "$*" >&2; }
# Some machines' pip configuration names local indexes that do not exist; pip warns per package.
mailops_quiet_pip() { grep -v "is ignored: it is neither a file nor a directory" || true; }
