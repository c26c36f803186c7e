#!/usr/bin/env bash
# IKE under attack: a flood of spoofed IKE_SA_INIT requests at an ipsecd while a
# real peer (a second ipsecd) connects. Not part of the default suite.
#
#   sudo scripts/flood-ike.sh [COUNT [RATE]]   # default 100000 requests, 20000 a second
#
# Two network namespaces joined by a veth pair: B runs the daemon under attack
# (responder, 192.168.77.2), A runs the real peer (192.168.77.1) and the flooder
# (scripts/lib/flood_ike.py, raw sockets), which sends COUNT IKE_SA_INIT
# requests to B, half from random addresses in 10.77.0.0/16 (B routes them back
# to A, where they die), half with A's own address faked. About a second into
# the flood (at RATE requests a second, so it lasts COUNT/RATE seconds) A initiates. Reported: whether A's IKE SA came up and how long it
# took, B's RSS before / at its peak / after (from /proc, sampled every 50 ms),
# B's half-open IKE SAs (highest seen, and at the end), its drop, cookie and
# queue counters, and the log lines the rate limit left out. The run fails
# (exit 1) when A's IKE SA did not come up or B grew by more than the bound the
# host-ipsec README states.
#
# Environment: FLOOD_DAEMON_EXTRA: more [daemon] lines for B (e.g.
# 'ike_half_open_limit = 256'); IPSEC_PYTHON: the Python to run the flooder
# with (default python3); IPSECD_BIN_DIR: where ipsecd and ipsecctl are
# (default target/ci, built if missing); AFTER_WAIT: seconds to wait after the
# flood before the "after" figures (default 35: half-open SAs time out at 30).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-100000}
RATE=${2:-20000}
BIN=${IPSECD_BIN_DIR:-$ROOT/target/ci}
PY=${IPSEC_PYTHON:-python3}
AFTER_WAIT=${AFTER_WAIT:-35}
EXTRA=${FLOOD_DAEMON_EXTRA:-}

die() { echo "flood-ike: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (network namespaces, raw sockets)"
if [ ! -x "$BIN/ipsecd" ] || [ ! -x "$BIN/ipsecctl" ]; then
    echo "flood-ike: building ipsecd and ipsecctl (profile ci)"
    (cd "$ROOT" && cargo build -p host-ipsec --profile ci --bins)
fi

NA="flood-a-$$"
NB="flood-b-$$"
DIR=$(mktemp -d /tmp/flood-ike.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NA" 2>/dev/null || true
    ip netns del "$NB" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NA"
ip netns add "$NB"
ip link add "fla$$" netns "$NA" type veth peer name "flb$$" netns "$NB"
ip -n "$NA" addr add 192.168.77.1/24 dev "fla$$"
ip -n "$NB" addr add 192.168.77.2/24 dev "flb$$"
for ns in "$NA" "$NB"; do
    ip -n "$ns" link set lo up
done
ip -n "$NA" link set "fla$$" up
ip -n "$NB" link set "flb$$" up
ip -n "$NA" addr add 10.1.0.1/32 dev lo
ip -n "$NB" addr add 10.2.0.1/32 dev lo
# B answers the faked 10.77/16 sources towards A (which drops what it gets)
ip -n "$NB" route add 10.77.0.0/16 via 192.168.77.1

PSK="flood-test-psk-$RANDOM$RANDOM"
conf() { # name tun local remote lid rid lts rts extra
    cat <<CONF
[daemon]
name = "$1"
tun_name = "$2"
control_socket = "$DIR/$1.sock"
state_dir = "$DIR/state-$1"
$9

[connections.peer]
local_addrs = ["$3"]
remote_addrs = ["$4"]
local_id = "$5"
remote_id = "$6"
psk = "$PSK"
proposals = "aes256gcm16-prfsha256-x25519"
offload = "software"

[connections.peer.children.net]
local_ts = ["$7"]
remote_ts = ["$8"]
esp_proposals = "aes128gcm16"
CONF
}
conf a flooda 192.168.77.1 192.168.77.2 alice.example bob.example 10.1.0.0/24 10.2.0.0/24 "" >"$DIR/a.toml"
conf b floodb 192.168.77.2 192.168.77.1 bob.example alice.example 10.2.0.0/24 10.1.0.0/24 "$EXTRA" >"$DIR/b.toml"

ip netns exec "$NB" "$BIN/ipsecd" --config "$DIR/b.toml" >"$DIR/b.log" 2>&1 &
PIDB=$!
PIDS+=("$PIDB")
ip netns exec "$NA" "$BIN/ipsecd" --config "$DIR/a.toml" >"$DIR/a.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
    [ -S "$DIR/a.sock" ] && [ -S "$DIR/b.sock" ] && break
    sleep 0.1
done
[ -S "$DIR/a.sock" ] && [ -S "$DIR/b.sock" ] || { cat "$DIR"/*.log; die "daemons did not start"; }

ctl() { "$BIN/ipsecctl" --socket "$DIR/$1.sock" "${@:2}"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PIDB/status"; }
counter() { # JSON path in B's status, e.g. ike.counters.half_open
    ctl b --json status | "$PY" -c "import json,sys; v=json.load(sys.stdin)
for k in '$1'.split('.'): v = v.get(k, 0) if isinstance(v, dict) else 0
print(v if not isinstance(v, dict) else sum(v.values()))"
}

sleep 1
RSS_BEFORE=$(rss)
# RSS and half-open samples while the flood runs
(
    while kill -0 "$PIDB" 2>/dev/null && [ ! -e "$DIR/stop-sampling" ]; do
        rss >>"$DIR/rss"
        sleep 0.05
    done
) &
PIDS+=("$!")
(
    while [ ! -e "$DIR/stop-sampling" ]; do
        counter ike.counters.half_open >>"$DIR/half-open" 2>/dev/null || true
        sleep 0.2
    done
) &
PIDS+=("$!")

echo "flood-ike: $COUNT spoofed IKE_SA_INIT requests ($RATE/s) at B (192.168.77.2); B's RSS before: ${RSS_BEFORE} KiB"
ip netns exec "$NA" "$PY" "$ROOT/scripts/lib/flood_ike.py" 192.168.77.2 "$COUNT" 192.168.77.1 "$RATE" 10000 &
FLOOD=$!
PIDS+=("$FLOOD")
sleep 1
T0=$(date +%s.%N)
ctl a initiate peer >/dev/null || true
UP=no
T_UP=""
for _ in $(seq 1200); do
    if ctl a list-sas 2>/dev/null | grep -q ESTABLISHED; then
        UP=yes
        T_UP=$(echo "$(date +%s.%N) - $T0" | bc)
        break
    fi
    sleep 0.1
done
if [ "$UP" = yes ]; then
    echo "flood-ike: the real peer's IKE SA is up after ${T_UP} s"
else
    echo "flood-ike: the real peer's IKE SA did not come up within 120 s"
fi
wait "$FLOOD" || true
FLOOD_DONE=$(date +%s.%N)
UP_AFTER=$(ctl a list-sas 2>/dev/null | grep -c ESTABLISHED || true)
HALF_OPEN_END=$(counter ike.counters.half_open)
sleep 1
touch "$DIR/stop-sampling"
RSS_PEAK=$(sort -n "$DIR/rss" | tail -1)
HALF_OPEN_MAX=$(sort -n "$DIR/half-open" | tail -1)
echo "flood-ike: flood over; waiting ${AFTER_WAIT} s for half-open IKE SAs to time out"
sleep "$AFTER_WAIT"
RSS_AFTER=$(rss)
ALIVE=$(kill -0 "$PIDB" 2>/dev/null && echo yes || echo no)

LIMIT=$(grep -oP 'ike_half_open_limit\s*=\s*\K[0-9]+' <<<"$EXTRA" || echo 1024)
# The README's bound: per half-open IKE SA at most 16 KiB (a request of up to
# max_init_request = 4096 bytes, our response, keys, table entries and the
# allocator's share; about 8 KiB measured with small requests), plus 16 MiB
# for the IKE queue (1024 datagrams, here 120-byte ones) and allocator slack.
BOUND=$((LIMIT * 16 + 16384))
GROWTH=$((RSS_PEAK - RSS_BEFORE))

DROPS=$(ctl b --json status | "$PY" -c "import json,sys; d=json.load(sys.stdin)['ike']['counters']['dropped']; print(', '.join('%s %d' % kv for kv in sorted(d.items())) or 'none')")
LOGGED_DROPS=$(grep -c "dropped message" "$DIR/b.log" || true)
LOGGED_COOKIES=$(grep -c "cookie demanded" "$DIR/b.log" || true)
LOGGED_REFUSED=$(grep -c "no connection for" "$DIR/b.log" || true)
SUMMARIES=$(grep -c "log lines suppressed" "$DIR/b.log" || true)

printf '\n%-44s %s\n' "figure" "value"
printf '%-44s %s\n' "--------------------------------------------" "------------------------------"
printf '%-44s %s\n' "spoofed IKE_SA_INIT sent" "$COUNT at $RATE/s (half 10.77.0.0/16, half faking 192.168.77.1)"
printf '%-44s %s\n' "real peer's IKE SA established" "$UP${T_UP:+ (after $T_UP s)}"
printf '%-44s %s\n' "real peer's IKE SA still up after the flood" "$([ "$UP_AFTER" -ge 1 ] && echo yes || echo no)"
printf '%-44s %s\n' "B alive" "$ALIVE"
printf '%-44s %s\n' "B RSS before / peak / after (KiB)" "$RSS_BEFORE / $RSS_PEAK / $RSS_AFTER"
printf '%-44s %s\n' "B RSS growth vs bound (KiB)" "$GROWTH <= $BOUND (half_open_limit $LIMIT x 16 KiB + 16 MiB)"
printf '%-44s %s\n' "half-open IKE SAs: highest / after flood+login" "$HALF_OPEN_MAX / $HALF_OPEN_END (limit $LIMIT)"
printf '%-44s %s\n' "dropped by the engine" "$DROPS"
printf '%-44s %s\n' "dropped over the IKE queue" "$(counter ike.counters.queue_drops)"
printf '%-44s %s\n' "cookies demanded" "$(counter ike.counters.cookies_sent)"
printf '%-44s %s\n' "log lines suppressed (rate limit)" "$(counter ike.counters.log_lines_suppressed)"
printf '%-44s %s\n' "lines logged: drops / cookies / refused" "$LOGGED_DROPS / $LOGGED_COOKIES / $LOGGED_REFUSED (+ $SUMMARIES summaries)"
echo "(logs and configurations in $DIR)"

FAIL=0
[ "$UP" = yes ] || FAIL=1
[ "$ALIVE" = yes ] || FAIL=1
[ "$GROWTH" -le "$BOUND" ] || { echo "flood-ike: B grew by $GROWTH KiB, over the bound of $BOUND KiB"; FAIL=1; }
exit $FAIL
