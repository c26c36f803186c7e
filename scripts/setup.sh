#!/usr/bin/env bash
# Installs everything the demo and the test suite need on a fresh Debian 12 machine
# (run as root). Idempotent: a second run installs nothing and takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# One setup at a time (tests and the demo may start it concurrently).
exec 9>/run/ipsec-offload-setup.lock
flock 9

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs Debian packages and creates network namespaces)" >&2
    exit 1
fi

# Debian packages: simulation, synthesis, network tests, interop peer, VFIO-in-QEMU test.
debs=(
    verilator yosys g++ make pkg-config
    iproute2 iputils-ping iperf3 tcpdump procps psmisc kmod nftables conntrack
    strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
    qemu-system-x86 busybox-static cpio
    python3-venv
)
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    log "Debian packages present"
fi
# strongSwan must never start on its own in the test namespaces.
systemctl disable --now strongswan-starter strongswan 2>/dev/null || true

# Python environment for the independent ESP peer (scapy) used by the tests.
venv="$here/.venv"
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    log "creating Python venv in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import scapy, cryptography' 2>/dev/null; then
    log "installing scapy and cryptography into $venv"
    "$venv/bin/python" -m pip install -q 'scapy==2.6.1' 'cryptography>=42'
else
    log "Python venv ready"
fi

# Rust toolchain components used by the checks.
if command -v rustup >/dev/null 2>&1; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
log "setup complete"
