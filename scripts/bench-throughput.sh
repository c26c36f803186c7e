#!/usr/bin/env bash
# Throughput (iperf3 TCP) and latency (ping) between two network namespaces over
#   1. the plain veth pair,
#   2. ipsecd (software ESP path, ESP in UDP 4500, AES-128-GCM, tunnel mode), keys
#      from IKEv2 with a PSK between two ipsecd (scripts/lib/sites.sh, as in the demo),
#   3. strongSwan 5.9.8 with its user-space ESP (kernel-libipsec, which forces ESP in
#      UDP 4500), same transform and mode, keys from IKEv2 with a PSK,
# each with one TCP stream and with BENCH_STREAMS parallel streams (default 4), ipsecd
# once with one worker per core (default) and once with one worker per direction,
# and prints one table with the ratios. Run as root:  scripts/bench-throughput.sh [SECONDS]
# BENCH_PROFILE (cargo's profile option, default --release) with BENCH_BINDIR (its
# directory under the target, default release) picks the build of ipsecd.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-10}
# BENCH_ONLY="plain ipsecd strongswan" selects phases (all by default)
only=${BENCH_ONLY:-plain ipsecd strongswan}
streams=${BENCH_STREAMS:-4}
want() { case " $only " in *" $1 "*) return 0;; *) return 1;; esac; }
plain_mbit=0; plain_rtt=nan; ipsecd_mbit=0; ipsecd_rtt=nan; sw_mbit=0; sw_rtt=nan
plain_par=0; ipsecd_par=0; sw_par=0; ipsecd1_mbit=0; ipsecd1_par=0; ipsecd1_rtt=nan
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-throughput.sh: run as root (namespaces, TUN devices)" >&2
    exit 1
fi
for t in iperf3 ping /usr/lib/ipsec/charon swanctl python3; do
    command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || { echo "missing $t: run scripts/setup.sh" >&2; exit 1; }
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
if want ipsecd; then
    echo "[bench] building ipsecd (${BENCH_PROFILE:---release})" >&2
    cargo build ${BENCH_PROFILE:---release} -q -p host-ipsec --bins
fi
bin="$CARGO_TARGET_DIR/${BENCH_BINDIR:-release}"

work=$(mktemp -d /tmp/ipsec-bench.XXXXXX)
# shellcheck source=lib/sites.sh
. "$here/scripts/lib/sites.sh"
cleanup() {
    set +e
    # charon runs in its own mount namespace: kill by the pid files it wrote
    for f in "$work"/*/run/charon.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    sites_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sites_up ipbench

# tcp SRC DST STREAMS -> Mbit/s received
tcp() {
    local src=$1 dst=$2 n=$3
    ip netns exec "$nsb" iperf3 -s -1 -B "$dst" >/dev/null 2>&1 &
    local srv=$!
    sleep 0.5
    ip netns exec "$nsa" iperf3 -c "$dst" -B "$src" -t "$secs" -P "$n" -J 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"]/1e6))' \
        || echo 0
    # a failed client leaves the one-shot server waiting
    kill "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
}
# measure SRC DST -> "mbit mbit_parallel avg_ms"
measure() {
    local src=$1 dst=$2
    local mbit par rtt
    mbit=$(tcp "$src" "$dst" 1)
    par=$(tcp "$src" "$dst" "$streams")
    rtt=$(ip netns exec "$nsa" ping -q -c 50 -i 0.02 -I "$src" "$dst" 2>/dev/null \
        | awk -F'/' '/^rtt/ {print $5}')
    echo "$mbit $par ${rtt:-nan}"
}

if want plain; then
echo "[bench] plain veth" >&2
read -r plain_mbit plain_par plain_rtt < <(measure 192.168.77.1 192.168.77.2)
fi

if want ipsecd; then
echo "[bench] ipsecd (software ESP)" >&2
run_ipsecd() { # workers (0 = one per core) -> "mbit mbit_parallel avg_ms"
    local w=()
    if [ "$1" -gt 0 ]; then w=("workers = $1"); fi
    site_conf a software "${w[@]}" > "$work/a.toml"
    site_conf b software "${w[@]}" > "$work/b.toml"
    RUST_LOG=warn sites_start
    if sites_wait_established 30; then
        measure 10.1.0.1 10.2.0.1
    else
        echo "0 0 nan"
    fi
    sites_stop
    sleep 0.5
}
run_ipsecd 0 > "$work/ipsecd.res"
read -r ipsecd_mbit ipsecd_par ipsecd_rtt < "$work/ipsecd.res"
echo "[bench] ipsecd, one worker per direction" >&2
run_ipsecd 1 > "$work/ipsecd1.res"
read -r ipsecd1_mbit ipsecd1_par ipsecd1_rtt < "$work/ipsecd1.res"
fi

if want strongswan; then
echo "[bench] strongSwan 5.9.8 kernel-libipsec" >&2
psk=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
sw_setup() { # side local remote lts rts id rid
    local d="$work/sw-$1"
    mkdir -p "$d/run" "$d/swanctl"
    cat > "$d/strongswan.conf" <<EOF
charon {
    load = random nonce openssl kdf kernel-libipsec kernel-netlink socket-default vici
    install_routes = yes
    plugins {
        vici { socket = unix://$d/charon.vici }
    }
    filelog {
        log { path = $d/charon.log
              default = 1 }
    }
}
EOF
    cat > "$d/swanctl/swanctl.conf" <<EOF
connections {
    bench {
        version = 2
        local_addrs = $2
        remote_addrs = $3
        proposals = aes128gcm16-prfsha256-x25519
        mobike = no
        encap = yes
        local { auth = psk
                id = $6 }
        remote { auth = psk
                 id = $7 }
        children {
            net { local_ts = $4
                  remote_ts = $5
                  esp_proposals = aes128gcm16
                  mode = tunnel }
        }
    }
}
secrets {
    ike-bench { id-1 = $6
                id-2 = $7
                secret = 0x$psk }
}
EOF
}
sw_start() { # side ns
    local d="$work/sw-$1"
    ip netns exec "$2" unshare --mount --propagation private sh -c \
        "mount --bind $d/run /run && exec env STRONGSWAN_CONF=$d/strongswan.conf /usr/lib/ipsec/charon" \
        >"$d/stdout.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$d/charon.vici" ] && break; sleep 0.1; done
    ip netns exec "$2" env SWANCTL_DIR="$d/swanctl" swanctl --load-all --uri "unix://$d/charon.vici" >/dev/null 2>&1
}
sw_setup a 192.168.77.1 192.168.77.2 10.1.0.0/24 10.2.0.0/24 site-a site-b
sw_setup b 192.168.77.2 192.168.77.1 10.2.0.0/24 10.1.0.0/24 site-b site-a
sw_start a "$nsa"
sw_start b "$nsb"
ip netns exec "$nsa" swanctl --initiate --child net --uri "unix://$work/sw-a/charon.vici" >"$work/initiate.log" 2>&1 || { echo "strongSwan initiate failed:"; tail -20 "$work/initiate.log"; }
ip netns exec "$nsa" ping -c 2 -W 2 -I 10.1.0.1 10.2.0.1 >/dev/null || true
read -r sw_mbit sw_par sw_rtt < <(measure 10.1.0.1 10.2.0.1)
sites_stop
fi

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b) if b else 'n/a')" "$1" "$2"; }
h="TCP Mbit/s, $streams streams"
printf '\n%-36s %12s %22s %12s\n' "path (AES-128-GCM, tunnel, UDP 4500)" "TCP Mbit/s" "$h" "ping avg ms"
printf '%-36s %12s %22s %12s\n' "plain veth" "$plain_mbit" "$plain_par" "$plain_rtt"
printf '%-36s %12s %22s %12s\n' "ipsecd (software, worker per core)" "$ipsecd_mbit" "$ipsecd_par" "$ipsecd_rtt"
printf '%-36s %12s %22s %12s\n' "ipsecd (software, 1 worker per dir)" "$ipsecd1_mbit" "$ipsecd1_par" "$ipsecd1_rtt"
printf '%-36s %12s %22s %12s\n' "strongSwan 5.9.8 kernel-libipsec" "$sw_mbit" "$sw_par" "$sw_rtt"
printf '\nipsecd / strongSwan throughput: %s, %s streams: %s (target >= 3)\n' "$(ratio "$ipsecd_mbit" "$sw_mbit")" "$streams" "$(ratio "$ipsecd_par" "$sw_par")"
printf 'ipsecd / plain veth throughput: %s, %s streams: %s (target >= 0.5)\n' "$(ratio "$ipsecd_mbit" "$plain_mbit")" "$streams" "$(ratio "$ipsecd_par" "$plain_par")"
printf '(iperf3 -t %s; ping -c 50 -i 0.02; %s cores; load average at start %s, at end %s)\n' "$secs" "$(nproc)" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
