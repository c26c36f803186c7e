#!/usr/bin/env bash
# Crash-restart torture of the sequence state of manually keyed SAs (not part of the
# default test suite).
#
# Two namespaces joined by a veth pair run ipsecd with one manual-key tunnel (AES-GCM,
# ESP in UDP 4500, keys made for this run) and a TCP stream through it (iperf3 at a
# capped rate). Site A, the sender, is killed with SIGKILL and restarted N times at
# random moments while tcpdump captures every ESP packet on the veth. At the end the
# capture is parsed and the (SPI, sequence number) pairs are counted: any pair seen
# twice is a reused GCM nonce, and the script fails.
#
# Usage: scripts/torture-restart.sh [N]   (default 50; root; ipsecd and ipsecctl from
# $BIN, default target/ci, built with `cargo build -p host-ipsec --profile ci --bins`)
# Environment: RATE (iperf3 bitrate, default 20M), MAX_UP (longest run of a
# daemon between kills, in tenths of a second, default 20).
set -euo pipefail

n=${1:-50}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${BIN:-$root/target/ci}
rate=${RATE:-20M}
max_up=${MAX_UP:-20}
for t in ip iperf3 tcpdump python3; do
    command -v "$t" >/dev/null || { echo "torture-restart: $t missing (scripts/setup.sh)" >&2; exit 2; }
done
[ -x "$bin/ipsecd" ] || { echo "torture-restart: no $bin/ipsecd (build it first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "torture-restart: run as root" >&2; exit 2; }

work=$(mktemp -d /tmp/torture-restart.XXXXXX)
# shellcheck source=scripts/lib/sites.sh
. "$here/lib/sites.sh"
trap sites_cleanup EXIT

sites_up torture
key() { head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
k_ab=$(key); k_ba=$(key)
manual_conf() {
    local side=$1 local remote lts rts ins outs ink outk
    if [ "$side" = a ]; then
        local=192.168.77.1 remote=192.168.77.2 lts=10.1.0.0/24 rts=10.2.0.0/24
        ins=0xb001 outs=0xa001 ink=$k_ba outk=$k_ab
    else
        local=192.168.77.2 remote=192.168.77.1 lts=10.2.0.0/24 rts=10.1.0.0/24
        ins=0xa001 outs=0xb001 ink=$k_ab outk=$k_ba
    fi
    cat <<EOF
[daemon]
name = "site-$side"
tun_name = "ipt${side}0"
control_socket = "$work/site-$side.sock"
state_dir = "$work/state-$side"

[connections.peer]
local_addrs = ["$local"]
remote_addrs = ["$remote"]
encap = "udp"
offload = "software"

[connections.peer.children.net]
local_ts = ["$lts"]
remote_ts = ["$rts"]
mode = "tunnel"
esp_proposals = "aes128gcm16"
in_spi = "$ins"
out_spi = "$outs"
in_key = "$ink"
out_key = "$outk"
EOF
}
manual_conf a >"$work/a.toml"
manual_conf b >"$work/b.toml"
chmod 600 "$work"/*.toml

# start_site SIDE: starts ipsecd of SIDE and waits for its control socket.
start_site() {
    local s=$1 ns i
    if [ "$s" = a ]; then ns=$nsa; else ns=$nsb; fi
    rm -f "$work/site-$s.sock"
    ip netns exec "$ns" "$bin/ipsecd" --config "$work/$s.toml" >/dev/null 2>>"$work/$s.log" &
    printf -v "pid_$s" %s "$!"
    pids+=($!)
    for i in $(seq 200); do
        "$bin/ipsecctl" --socket "$work/site-$s.sock" --json status >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "torture-restart: ipsecd of site $s did not come up" >&2
    tail -n 20 "$work/$s.log" >&2
    return 1
}

# next_seq: A's outbound next sequence number from its status.
next_seq() {
    "$bin/ipsecctl" --socket "$work/site-a.sock" --json status 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(next((s["next_seq"] for s in v["sas"] if s["direction"] == "out"), "-"))' 2>/dev/null || echo -
}

ip netns exec "$nsb" tcpdump -i "vb$sites_id" -U -s 64 -w "$work/esp.pcap" udp port 4500 2>"$work/tcpdump.log" &
pids+=($!)
tcpdump_pid=$!
start_site b
start_site a
sleep 0.5
ip netns exec "$nsb" iperf3 -s -B 10.2.0.1 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
client_pid=""
# keep_client: (re)starts the iperf3 client when it is not running (a long stall
# during a restart may end it).
keep_client() {
    if [ -z "$client_pid" ] || ! kill -0 "$client_pid" 2>/dev/null; then
        ip netns exec "$nsa" iperf3 -c 10.2.0.1 -B 10.1.0.1 -t 3600 -b "$rate" >>"$work/iperf.log" 2>&1 &
        client_pid=$!
        pids+=($!)
    fi
}
keep_client

printf '%-6s %-12s %-14s\n' round "up (s)" "resumed at"
for round in $(seq "$n"); do
    up=$(( (RANDOM % max_up) + 1 ))
    sleep "$(printf '%d.%d' $((up / 10)) $((up % 10)))"
    keep_client
    # shellcheck disable=SC2154
    kill -9 "$pid_a"
    wait "$pid_a" 2>/dev/null || true
    start_site a
    printf '%-6s %-12s %-14s\n' "$round/$n" "$((up / 10)).$((up % 10))" "$(next_seq)"
done
sleep 1
kill "$client_pid" 2>/dev/null || true
sleep 0.5
kill "$tcpdump_pid" 2>/dev/null || true
wait "$tcpdump_pid" 2>/dev/null || true

python3 - "$work/esp.pcap" "$n" <<'EOF'
import struct, sys
from collections import Counter

path, rounds = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
linktype = struct.unpack(end + "I", data[20:24])[0]
off, seen, esp = 24, Counter(), 0
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if linktype == 1:  # Ethernet
        if len(frame) < 14 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
    elif linktype == 113:  # Linux cooked
        ip = frame[16:]
    else:
        ip = frame
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    payload = udp[8:]
    # non-ESP marker (IKE) and NAT keepalives are not ESP
    if len(payload) < 8 or payload[:4] == b"\0\0\0\0":
        continue
    spi, seq = struct.unpack(">II", payload[:8])
    esp += 1
    seen[(spi, seq)] += 1
repeats = {k: c for k, c in seen.items() if c > 1}
spis = Counter(s for s, _ in seen)
print()
print(f"{'restarts (kill -9)':<28}{rounds:>14}")
print(f"{'ESP packets captured':<28}{esp:>14}")
for s in sorted(spis):
    seqs = [q for (p, q) in seen if p == s]
    print(f"{'  SPI %#010x' % s:<28}{spis[s]:>14}   seq {min(seqs)}..{max(seqs)}")
print(f"{'repeated (SPI, seq) pairs':<28}{len(repeats):>14}")
for (s, q), c in sorted(repeats.items())[:10]:
    print(f"  repeat: SPI {s:#010x} seq {q} seen {c} times")
sys.exit(1 if repeats or esp == 0 else 0)
EOF
