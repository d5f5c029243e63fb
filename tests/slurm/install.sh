#!/bin/sh
# Install the Debian packages of a single-node SLURM (controller, node daemon, client tools) and munge,
# without starting their system services: tests/test_slurm.py starts private daemons itself.
# Needs root and Debian (bookworm ships SLURM 22.05). Exits non-zero with a message when it cannot install.
set -eu

PACKAGES="slurmctld slurmd slurm-client munge"

if [ "$(id -u)" -ne 0 ]; then
    echo "tests/slurm/install.sh: must run as root to apt-get install $PACKAGES" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/slurm/install.sh: apt-get not found; install $PACKAGES with your package manager" >&2
    exit 1
fi

# A policy-rc.d that refuses every service start, only for the time of the install (unless one exists).
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    OWN_POLICY=1
fi
cleanup() {
    if [ "$OWN_POLICY" -eq 1 ]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES
