#!/bin/bash
# One interop run of the ikev2 engine (the ike-interop binary) against strongSwan
# 5.9.8 in a pair of network namespaces. Needs root.
#
#   strongswan.sh OUTDIR ROLE IKE_PROPOSAL ESP_PROPOSAL [OUR_PSK [THEIR_PSK]]
#
# ROLE is our side's role: initiator or responder. Environment: IKE_INTEROP (path to
# the ike-interop binary, required), EXTRA (more ike-interop arguments), SS_EXTRA
# (more lines for strongSwan's connection block).
#
# Leaves in OUTDIR: ours.jsonl (our events, with keys), ours.log, sas.txt
# (swanctl --list-sas while both sides were up), charon.log (ike = 4, chd = 4),
# sas_end.txt (the same when our side has finished), initiate.txt (strongSwan
# initiator), rc (our exit code). SS_REKEY=1: strongSwan rekeys the CHILD_SA and
# then the IKE SA once the first CHILD_SA is up; LINGER: how long our side stays;
# OUR_IKE: our IKE proposals (space-separated) when they differ from strongSwan's;
# KILL_PEER=1: charon is killed (SIGKILL) once the CHILD_SA is up; SS_CHILD2=1:
# strongSwan (as initiator) also starts its second child net2 (10.4/24 - 10.3/24).
# CERTS=DIR: both sides authenticate with certificates from DIR (made by
# make-certs.sh; strongSwan is bob.example, our side alice.example, both trust
# ca.pem; SS_CERT names strongSwan's certificate and key, default bob).
# SS_CHARON_EXTRA: more lines for the charon section of strongswan.conf.
# strongSwan's quirks here (see shared/notes/TOOLCHAIN.md): kernel-libipsec forces
# UDP encapsulation (port 4500), /run/charon.pid is compiled in, so charon gets its own
# mount namespace with a private /run.
set -euo pipefail

OUT=$1
ROLE=$2
IKE=$3
ESP=$4
PSK_US=${5:-interop-secret-0123456789}
PSK_SS=${6:-$PSK_US}
: "${IKE_INTEROP:?set IKE_INTEROP to the ike-interop binary}"
EXTRA=${EXTRA:-}
SS_EXTRA=${SS_EXTRA:-}
SS_CONN_EXTRA=${SS_CONN_EXTRA:-}

ID=$$
NSA=ikeA-$ID
NSB=ikeB-$ID
VA=ika$ID
VB=ikb$ID
A=192.168.77.1
B=192.168.77.2
CPID=
OPID=

mkdir -p "$OUT/run" "$OUT/conf"
rm -f "$OUT"/*.jsonl "$OUT"/*.log "$OUT"/sas.txt "$OUT"/rc "$OUT"/initiate.txt

cleanup() {
    set +e
    [ -n "$OPID" ] && kill "$OPID" 2>/dev/null
    if [ -n "$CPID" ]; then
        kill "$CPID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$CPID" 2>/dev/null
    fi
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
}
trap cleanup EXIT

ip netns add "$NSA"
ip netns add "$NSB"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB"
for ns in "$NSA" "$NSB"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$ns" link set lo up
done
ip -n "$NSA" addr add $A/24 dev "$VA"
ip -n "$NSB" addr add $B/24 dev "$VB"
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" link set "$VB" up
# Addresses inside the protected subnets (kernel-libipsec routes need a source there).
ip -n "$NSA" addr add 10.1.0.1/32 dev lo
ip -n "$NSB" addr add 10.2.0.1/32 dev lo
ip -n "$NSA" addr add 10.3.0.1/32 dev lo
ip -n "$NSB" addr add 10.4.0.1/32 dev lo

cat > "$OUT/conf/strongswan.conf" <<EOF
charon {
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints kdf kernel-libipsec kernel-netlink socket-default vici
  port = 500
  port_nat_t = 4500
  retransmit_tries = 3
  retransmit_timeout = 2
  ${SS_CHARON_EXTRA:-}
  plugins {
    vici {
      socket = unix://$OUT/charon.vici
    }
  }
  filelog {
    ikelog {
      path = $OUT/charon.log
      default = 1
      ike = 4
      chd = 4
      cfg = 2
      flush_line = yes
    }
  }
}
EOF

if [ "$ROLE" = initiator ]; then SS_REMOTE=$A; else SS_REMOTE=$A; fi
SS_AUTH=psk
if [ -n "${CERTS:-}" ]; then
    SS_AUTH=pubkey
    mkdir -p "$OUT/conf/x509ca" "$OUT/conf/x509" "$OUT/conf/private"
    cp "$CERTS/ca.pem" "$OUT/conf/x509ca/ca.pem"
    cp "$CERTS/${SS_CERT:-bob}.pem" "$OUT/conf/x509/ss.pem"
    cp "$CERTS/${SS_CERT:-bob}.key" "$OUT/conf/private/ss.key"
    EXTRA="$EXTRA --cert $CERTS/alice.pem --key $CERTS/alice.key --ca $CERTS/ca.pem"
fi
cat > "$OUT/conf/swanctl.conf" <<EOF
connections {
  interop {
    version = 2
    local_addrs = $B
    remote_addrs = $SS_REMOTE
    proposals = $IKE
    mobike = no
    $SS_CONN_EXTRA
    local {
      auth = $SS_AUTH
      id = bob.example
      $( [ "$SS_AUTH" = pubkey ] && echo "certs = ss.pem" )
    }
    remote {
      auth = $SS_AUTH
      id = alice.example
    }
    children {
      net {
        local_ts = 10.2.0.0/24
        remote_ts = 10.1.0.0/24
        esp_proposals = $ESP
        start_action = none
        $SS_EXTRA
      }
      net2 {
        local_ts = 10.4.0.0/24
        remote_ts = 10.3.0.0/24
        esp_proposals = $ESP
        start_action = none
      }
    }
  }
}
secrets {
  ike-interop {
    id-1 = alice.example
    id-2 = bob.example
    secret = "$PSK_SS"
  }
}
EOF

ip netns exec "$NSB" unshare --mount --propagation private sh -c \
    "mount --bind '$OUT/run' /run && exec env STRONGSWAN_CONF='$OUT/conf/strongswan.conf' /usr/lib/ipsec/charon" \
    > "$OUT/charon.stdout" 2>&1 &
CPID=$!
for _ in $(seq 100); do
    [ -S "$OUT/charon.vici" ] && break
    sleep 0.1
done
[ -S "$OUT/charon.vici" ] || { echo "charon did not start" >&2; cat "$OUT/charon.stdout" >&2; exit 10; }
SWANCTL_DIR="$OUT/conf" swanctl --load-all --file "$OUT/conf/swanctl.conf" --uri "unix://$OUT/charon.vici" > "$OUT/load.txt" 2>&1

OUR_ESP_ARGS=()
for e in $ESP; do OUR_ESP_ARGS+=(--esp "${e//,/ }"); done
OUR_IKE_ARGS=()
for p in ${OUR_IKE:-$IKE}; do OUR_IKE_ARGS+=(--ike "$p"); done
# shellcheck disable=SC2086
ip netns exec "$NSA" "$IKE_INTEROP" --role "$ROLE" --local $A --remote $B \
    "${OUR_IKE_ARGS[@]}" "${OUR_ESP_ARGS[@]}" --psk "$PSK_US" --local-id alice.example --remote-id bob.example \
    --local-ts 10.1.0.0/24 --remote-ts 10.2.0.0/24 --print-keys --linger "${LINGER:-3}" --timeout 25 $EXTRA \
    > "$OUT/ours.jsonl" 2> "$OUT/ours.log" &
OPID=$!

if [ "$ROLE" = responder ]; then
    sleep 0.5
    swanctl --initiate --child net --timeout 15 --uri "unix://$OUT/charon.vici" > "$OUT/initiate.txt" 2>&1 || true
    if [ -n "${SS_CHILD2:-}" ]; then
        # A second CHILD_SA on the same IKE SA (CREATE_CHILD_SA).
        swanctl --initiate --child net2 --timeout 15 --uri "unix://$OUT/charon.vici" >> "$OUT/initiate.txt" 2>&1 || true
    fi
fi
# Wait for our side to install the CHILD_SA (or to finish).
for _ in $(seq 200); do
    grep -q '"install"' "$OUT/ours.jsonl" 2>/dev/null && break
    kill -0 "$OPID" 2>/dev/null || break
    sleep 0.1
done
sleep "${SETTLE:-0.5}"
swanctl --list-sas --uri "unix://$OUT/charon.vici" > "$OUT/sas.txt" 2>&1 || true
if [ -n "${KILL_PEER:-}" ]; then
    # The peer dies without a word: our side must notice by itself.
    kill -9 "$CPID" 2>/dev/null || true
fi
if [ -n "${SS_REKEY:-}" ]; then
    # strongSwan rekeys the CHILD_SA, then the IKE SA.
    swanctl --rekey --child net --uri "unix://$OUT/charon.vici" > "$OUT/rekey.txt" 2>&1 || true
    sleep 1
    swanctl --rekey --ike interop --uri "unix://$OUT/charon.vici" >> "$OUT/rekey.txt" 2>&1 || true
    sleep 1
fi
rc=0
wait "$OPID" || rc=$?
OPID=
swanctl --list-sas --uri "unix://$OUT/charon.vici" > "$OUT/sas_end.txt" 2>&1 || true
echo "$rc" > "$OUT/rc"
exit 0
