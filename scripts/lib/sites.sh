# shellcheck shell=bash
# Two sites for scripts/demo.sh and scripts/bench-throughput.sh (sourced by both):
# network namespaces $nsa and $nsb joined by a veth pair (192.168.77.1 <-> 192.168.77.2),
# site A's network 10.1.0.0/24 (10.1.0.1 on its loopback), site B's 10.2.0.0/24
# (10.2.0.1), and an ipsecd in each that negotiates the tunnel between them with IKEv2,
# authenticated with a pre-shared key made for this run. Site A initiates on load.
#
# The caller sets  work  (a private directory for configs, sockets and logs) and  bin
# (the directory of ipsecd and ipsecctl), and runs sites_cleanup when it exits.
# sites_start and the caller's own background jobs add their pids to  pids.

pids=()
nsa=""; nsb=""
sites_id=$$

# sites_up PREFIX: creates namespaces PREFIX-a-PID and PREFIX-b-PID (PID: this shell's,
# so concurrent runs never share a name), the veth pair va<PID>/vb<PID> and the
# addresses.
sites_up() {
    local ns
    nsa="$1-a-$sites_id"; nsb="$1-b-$sites_id"
    ip netns add "$nsa"
    ip netns add "$nsb"
    ip link add "va$sites_id" netns "$nsa" type veth peer name "vb$sites_id" netns "$nsb"
    ip -n "$nsa" addr add 192.168.77.1/24 dev "va$sites_id"
    ip -n "$nsb" addr add 192.168.77.2/24 dev "vb$sites_id"
    for ns in "$nsa" "$nsb"; do
        ip -n "$ns" link set lo up
        # no IPv6 chatter (router solicitations from the TUN devices) in the counters
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    done
    ip -n "$nsa" link set "va$sites_id" up
    ip -n "$nsb" link set "vb$sites_id" up
    ip -n "$nsa" addr add 10.1.0.1/32 dev lo
    ip -n "$nsb" addr add 10.2.0.1/32 dev lo
}

# The pre-shared key of this run (32 random bytes in hex); it stays in $work.
sites_psk=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# site_conf SIDE OFFLOAD [DAEMON_LINE...]: prints the configuration of site SIDE (a | b):
# instance site-SIDE, connection to the other site with offload OFFLOAD (auto | card |
# software), one tunnel-mode child, AES-128-GCM, ESP in UDP 4500; each DAEMON_LINE
# (such as 'offload_device = "sim"' or 'workers = 1') is added to [daemon].
site_conf() {
    local side=$1 offload=$2 peer local remote lts rts start
    shift 2
    if [ "$side" = a ]; then
        peer=b local=192.168.77.1 remote=192.168.77.2 lts=10.1.0.0/24 rts=10.2.0.0/24 start=start
    else
        peer=a local=192.168.77.2 remote=192.168.77.1 lts=10.2.0.0/24 rts=10.1.0.0/24 start=none
    fi
    cat <<EOF
[daemon]
name = "site-$side"
tun_name = "ips${side}0"
control_socket = "$work/site-$side.sock"
state_dir = "$work/state-$side"
$(printf '%s\n' "$@")

[connections.to-$peer]
local_addrs = ["$local"]
remote_addrs = ["$remote"]
local_id = "site-$side.example"
remote_id = "site-$peer.example"
psk = "$sites_psk"
proposals = "aes128gcm16-prfsha256-x25519"
start_action = "$start"
encap = "udp"
offload = "$offload"

[connections.to-$peer.children.net]
local_ts = ["$lts"]
remote_ts = ["$rts"]
mode = "tunnel"
esp_proposals = "aes128gcm16"
EOF
}

# sites_start: checks $work/a.toml and $work/b.toml and starts ipsecd with them, site B
# (the responder) first; logs in $work/a.log and $work/b.log.
sites_start() {
    local s ns
    for s in a b; do "$bin/ipsecctl" check-config "$work/$s.toml" >/dev/null; done
    for s in b a; do
        if [ "$s" = a ]; then ns=$nsa; else ns=$nsb; fi
        rm -f "$work/site-$s.sock"
        ip netns exec "$ns" "$bin/ipsecd" --config "$work/$s.toml" >/dev/null 2>"$work/$s.log" &
        pids+=($!)
        printf -v "sites_pid_$s" %s "$!"
    done
}

# site_established SIDE: true when site SIDE lists an ESTABLISHED IKE SA with a CHILD_SA
# and has that CHILD_SA's two SAs (in and out) installed in its data path.
site_established() {
    "$bin/ipsecctl" --socket "$work/site-$1.sock" --json list-sas 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
up = any(s["state"] == "ESTABLISHED" and s["children"] for s in v["ike_sas"])
sys.exit(0 if up and len(v["sas"]) >= 2 else 1)' 2>/dev/null
}

# sites_wait_established SECONDS: waits until both sites are established; otherwise
# (a daemon exited, or the time ran out) prints what each side lists and the end of its
# log, and fails.
sites_wait_established() {
    local end=$((SECONDS + $1)) s why="" p
    while :; do
        site_established a && site_established b && return 0
        for s in a b; do
            p="sites_pid_$s"
            kill -0 "${!p}" 2>/dev/null || why="ipsecd of site $s exited"
        done
        [ -z "$why" ] && [ "$SECONDS" -ge "$end" ] && why="no IKE_SA with its CHILD_SA on both sites after $1 s"
        if [ -n "$why" ]; then
            sites_dump "IKEv2 did not establish the tunnel: $why"
            return 1
        fi
        sleep 0.2
    done
}

# sites_dump MESSAGE: prints MESSAGE, then what each site lists and the end of its log
# (on stderr).
sites_dump() {
    local s
    {
        echo "$1"
        for s in a b; do
            echo "--- site $s: ipsecctl list-sas"
            "$bin/ipsecctl" --socket "$work/site-$s.sock" list-sas 2>&1 || true
            echo "--- site $s: the last 40 lines of its log"
            tail -n 40 "$work/$s.log" 2>/dev/null || true
        done
    } >&2
}

# sites_stop: stops the processes in $pids (SIGTERM, then SIGKILL).
sites_stop() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    pids=()
}

# sites_cleanup: stops the processes, removes the namespaces and $work.
sites_cleanup() {
    sites_stop
    [ -n "$nsa" ] && ip netns del "$nsa" 2>/dev/null
    [ -n "$nsb" ] && ip netns del "$nsb" 2>/dev/null
    [ -n "${work:-}" ] && rm -rf "$work"
    return 0
}
