#!/usr/bin/env bash
# The demo: two sites in two network namespaces joined by a veth pair, an ipsecd in
# each; they negotiate the tunnel with IKEv2 (a pre-shared key made for this run), then
# ping and a TCP transfer go through the ESP tunnel, and both sides show their SAs and
# status. Site A runs on the simulated card, site B in software.
# Run as root on Debian 12:  scripts/demo.sh
# Idempotent: every run creates its own uniquely named namespaces and removes them.
# Environment: DEMO_SKIP_SETUP=1 skips scripts/setup.sh; DEMO_PROFILE (cargo's profile
# option, default --release) with DEMO_BINDIR (its directory under the target, default
# release) picks the build; DEMO_TCP_BYTES the transfer size; DEMO_IKE_TIMEOUT how long
# to wait for IKEv2 (seconds, default 60).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

say() { printf '\n\033[1m[demo]\033[0m %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (it creates network namespaces and TUN devices)" >&2
    exit 1
fi

if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
    "$here/scripts/setup.sh"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
# Site A runs on the simulated card (the Verilator model of the generated RTL, driven
# by the real driver through its offload layer); site B runs the software ESP path.
say "building ipsecd and ipsecctl with the simulated card backend (--features sim)"
cargo build ${DEMO_PROFILE:---release} -p host-ipsec --features sim --bins
bin="$CARGO_TARGET_DIR/${DEMO_BINDIR:-release}"

work=$(mktemp -d /tmp/ipsec-demo.XXXXXX)
# shellcheck source=lib/sites.sh
. "$here/scripts/lib/sites.sh"
trap sites_cleanup EXIT
trap 'exit 130' INT TERM

sites_up ipsd
say "namespaces $nsa and $nsb, veth 192.168.77.1 <-> 192.168.77.2; sites 10.1.0.0/24 and 10.2.0.0/24"
site_conf a auto 'offload_device = "sim"' > "$work/a.toml"
site_conf b software > "$work/b.toml"

say "starting ipsecd in both namespaces; site A initiates IKEv2 (pre-shared key made for this run)"
sites_start
sites_wait_established "${DEMO_IKE_TIMEOUT:-60}"
say "IKE_SA and CHILD_SA established; site A: ipsecctl list-sas"
"$bin/ipsecctl" --socket "$work/site-a.sock" list-sas
say "site B: ipsecctl list-sas (the same CHILD_SA, SPIs crossed)"
"$bin/ipsecctl" --socket "$work/site-b.sock" list-sas

say "ping 10.1.0.1 -> 10.2.0.1 through the tunnel (every reply must come back)"
ip netns exec "$nsa" ping -c 5 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 | tee "$work/ping" || true
read -r sent got < <(awk '/packets transmitted/ {print $1, $4}' "$work/ping") || true
if [ "${sent:-0}" != 5 ] || [ "${got:-0}" != 5 ]; then
    sites_dump "PING LOST: ${got:-0} replies to ${sent:-0} pings, 5 of 5 expected"
    exit 1
fi

# The simulated card moves packets by DMA (the driver's rings in host memory, the
# Verilated core's bus master reading and writing them, an interrupt per batch), but
# at simulation speed (some hundred thousand core cycles a second), so the transfer
# is kept small when it is in the path.
size=${DEMO_TCP_BYTES:-262144}
say "TCP transfer of $size random bytes 10.1.0.1 -> 10.2.0.1 through the tunnel (SHA-256 checked)"
head -c "$size" /dev/urandom > "$work/payload"
ip netns exec "$nsb" python3 -c '
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.2.0.1", 5001)); s.listen(1); c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())' > "$work/received" &
rx=$!
pids+=("$rx")
sleep 0.5
t0=$(date +%s.%N)
ip netns exec "$nsa" timeout 120 python3 -c '
import socket, sys
s = socket.create_connection(("10.2.0.1", 5001), source_address=("10.1.0.1", 0))
s.sendall(open(sys.argv[1], "rb").read()); s.close()' "$work/payload"
wait "$rx"
t1=$(date +%s.%N)
sent_sum=$(sha256sum "$work/payload" | cut -d" " -f1)
read -r got_n got_sum < "$work/received"
rate=$(python3 -c "import sys; print('%.2f' % (int(sys.argv[1]) * 8 / 1e6 / (float(sys.argv[3]) - float(sys.argv[2]))))" "$got_n" "$t0" "$t1")
if [ "$got_sum" = "$sent_sum" ]; then
    echo "received $got_n bytes, SHA-256 matches ($rate Mbit/s)"
else
    echo "TRANSFER CORRUPTED: sent $size bytes $sent_sum, received $got_n bytes $got_sum" >&2
    exit 1
fi

say "what the wire carries (one captured packet on the veth): ESP in UDP 4500"
# udp[8:4] != 0: ESP, not IKE (which starts with four zero bytes on port 4500)
timeout 3 ip netns exec "$nsb" tcpdump -c 1 -n -i "vb$sites_id" 'udp port 4500 and udp[8:4] != 0' 2>/dev/null &
sleep 0.5
ip netns exec "$nsa" ping -c 1 -I 10.1.0.1 10.2.0.1 > /dev/null
wait $! 2>/dev/null || true

say "site A: ipsecctl status"
"$bin/ipsecctl" --socket "$work/site-a.sock" status
say "site B: ipsecctl status"
"$bin/ipsecctl" --socket "$work/site-b.sock" status

say "checking that the negotiated SAs carried the traffic: site A on the simulated card, site B in software"
for s in a b; do
    "$bin/ipsecctl" --socket "$work/site-$s.sock" --json list-sas | python3 -c '
import json, sys
side, path = sys.argv[1], sys.argv[2]
sas = json.load(sys.stdin)["sas"]
for s in sas:
    print("  site %s SA %s %-3s: origin %s, path %s, %d packets, %d fallbacks"
          % (side, s["spi"], s["direction"], s["origin"], s["path"], s["packets"], s["fallbacks"]))
bad = [s for s in sas if s["origin"] != "ike" or s["path"] != path or s["fallbacks"] != 0 or s["packets"] == 0]
if not sas or bad:
    sys.exit("site %s: not every SA was negotiated by IKE and carried traffic on the %s path" % (side, path))
' "$s" "$([ "$s" = a ] && echo card || echo software)"
done
say "IKEv2 negotiated the tunnel; site A's SAs ran on the simulated card, site B's in software; same bytes on the wire"
say "done; cleaning up"
