#!/usr/bin/env bash
# Resource and logic-depth report for one lane of the ESP engine, written to
# bitstreams/esp-engine-v<LAYOUT_VERSION>/resources.txt beside the generated top.v; the
# manifest is then regenerated so it carries the report's SHA-256.
#
# Two yosys runs on the same top.v (run side by side, niced):
#   flat: synth_xilinx -flatten        -> LUT/FF/BRAM counts and the whole-core logic depth
#   hier: synth_xilinx (no -flatten)   -> logic depth per module (rust-hdl's hierarchy),
#         then `flatten` of the mapped netlist -> deepest path ending in each block
# The mapped netlists are kept in $CARGO_TARGET_DIR/synth/<sha256 of top.v>/ (or
# target/synth/...): a second run on an unchanged top.v only redoes the analysis
# (scripts/logic_depth.py). Pass --fresh to synthesize again anyway, --no-gen to take the
# checked-in top.v without running the generator (no cargo build). --top MODULE (a
# rust-hdl module of top.v, e.g. 'top$tail$ghash') reports that block alone, synthesized
# as its own top: the report is printed and kept in the cache folder, resources.txt is
# left as it is.
# Takes minutes (tens of minutes on a loaded machine); not part of the default test run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
command -v yosys >/dev/null || { echo "synth.sh: yosys not found (apt-get install -y yosys)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "synth.sh: python3 not found" >&2; exit 1; }
fresh=0
gen=1
top=top
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=1 ;;
    --no-gen) gen=0 ;;
    --top) top=${2:?--top needs a module name}; shift ;;
    *) echo "usage: scripts/synth.sh [--fresh] [--no-gen] [--top MODULE]" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "synth.sh [$(date -u +%H:%M:%S)] $*" >&2; }

if [ "$gen" = 1 ]; then
  log "generating RTL (gen-rtl)"
  dir=$(cargo run -q -p hw --release --bin gen-rtl)
else
  # --no-gen: the checked-in top.v as it is (`cargo test -p hw --test generated` checks
  # that it equals the generator's output); the manifest is not refreshed either.
  dir=$(ls -d "$here"/bitstreams/esp-engine-v* | sort -V | tail -1)
  log "--no-gen: using $dir/top.v as checked in"
fi
top_sha=$(sha256sum "$dir/top.v" | awk '{print $1}')
cache="${CARGO_TARGET_DIR:-$here/target}/synth/$top_sha"
if [ "$top" != top ]; then
  cache="$cache/block-$(printf '%s' "$top" | tr -c 'A-Za-z0-9_' '_')"
  log "block mode: $top only (report in $cache/depth.txt)"
fi
src="$dir/top.v"
if [ "$top" != top ]; then # yosys reads only the block's modules
  mkdir -p "$cache"
  python3 scripts/verilog_subtree.py "$dir/top.v" "$top" > "$cache/block.v"
  src="$cache/block.v"
fi
mkdir -p "$cache"
if [ "$fresh" = 1 ]; then rm -f "$cache"/*.done; fi

# The cell selection for yosys' own `ltp` cross-check: every wire and the combinational
# 7-series cells, so that flip-flops, block RAMs, SRLs, I/O buffers and (in the
# hierarchical netlist) sub-module instances end a path.
comb='w:* t:LUT1 t:LUT2 t:LUT3 t:LUT4 t:LUT5 t:LUT6 t:MUXF7 t:MUXF8 t:CARRY4 t:INV'

run_yosys() { # name, yosys commands; writes $cache/$name.{log,secs,done}
  local name=$1 cmds=$2 t0
  if [ -f "$cache/$name.done" ]; then
    log "$name: netlist of this top.v already in $cache ($(cat "$cache/$name.secs") s), reusing"
    return 0
  fi
  log "$name: yosys started (log: $cache/$name.log)"
  t0=$(date +%s)
  (cd "$cache" && nice -n 10 yosys -q -l "$name.log" -p "read_verilog $src; $cmds" >/dev/null)
  echo $(( $(date +%s) - t0 )) > "$cache/$name.secs"
  touch "$cache/$name.done"
  log "$name: yosys done in $(cat "$cache/$name.secs") s"
}

progress() { # one line a minute while yosys runs: which pass each run is in
  while sleep 60; do
    for n in flat hier; do
      [ -f "$cache/$n.done" ] && continue
      pass=$(grep -a -E '^[0-9.]+ Executing ' "$cache/$n.log" 2>/dev/null | tail -1 | cut -c1-70)
      log "$n: still running, at: ${pass:-starting}"
    done
  done
}

progress & prog=$!
trap 'kill $prog 2>/dev/null || true' EXIT
run_yosys flat "synth_xilinx -flatten -top $top; tee -q -o stat_flat.txt stat; \
  tee -q -o ltp_flat.txt ltp $comb; write_json flat.json" &
pf=$!
run_yosys hier "synth_xilinx -top $top; tee -q -o stat_hier.txt stat; \
  tee -q -o ltp_hier.txt ltp $comb; write_json hier.json; flatten; write_json hierflat.json" &
ph=$!
wait $pf
wait $ph
kill $prog 2>/dev/null || true

log "analysing logic depth (scripts/logic_depth.py)"
depth=$(python3 scripts/logic_depth.py --flat "$cache/flat.json" --hier "$cache/hier.json" \
  --hierflat "$cache/hierflat.json" --ltp-flat "$cache/ltp_flat.txt" --ltp-hier "$cache/ltp_hier.txt")

if [ "$top" != top ]; then
  { echo "# Logic depth of $top alone, from top.v sha256:${top_sha} (scripts/synth.sh --top)"
    echo "# yosys $(yosys -V | awk '{print $2}') synth_xilinx, flat $(cat "$cache/flat.secs") s, hier $(cat "$cache/hier.secs") s"
    echo; echo "$depth"; echo; echo "# yosys stat (synth_xilinx -flatten -top $top)"
    sed -n '/Number of cells/,$p' "$cache/stat_flat.txt"; } > "$cache/depth.txt"
  cat "$cache/depth.txt"
  # Keep one section per block in the design folder's logic-depth-blocks.txt.
  python3 - "$dir/logic-depth-blocks.txt" "$cache/depth.txt" <<'PY'
import re, sys
path, new = sys.argv[1], open(sys.argv[2]).read()
head = "# Logic depth of blocks of the core, each synthesized alone: scripts/synth.sh --top BLOCK\n\n"
try:
    old = open(path).read()
except FileNotFoundError:
    old = head
name = new.split("\n", 1)[0].split(" alone")[0]
parts = re.split(r"(?m)^(?=# Logic depth of \S+ alone)", old)
kept = [p for p in parts[1:] if not p.startswith(name + " alone")]
open(path, "w").write(head + "".join(p.rstrip("\n") + "\n\n" for p in kept + [new]))
PY
  log "updated $dir/logic-depth-blocks.txt"
  exit 0
fi

stat="$cache/stat_flat.txt"
count() { # sum of the cell counts ("  NAME  COUNT" lines of stat) whose name matches $1
  awk -v re="$1" '$1 ~ re && $2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }' "$stat"
}
lut=$(count '^LUT[1-6]$')
ff=$(count '^FD[A-Z]*$')
ramb36=$(count '^RAMB36')
ramb18=$(count '^RAMB18')
dsp=$(count '^DSP')
lutram=$(count '^RAM(32|64|128|256)')
srl=$(count '^SRL')
carry=$(count '^CARRY')
muxf=$(count '^MUXF')

{
  echo "# Resources and logic depth of one ESP engine lane ($(basename "$dir"))"
  echo "# yosys $(yosys -V | awk '{print $2}') synth_xilinx (7-series cell library): counts from -flatten -top top,"
  echo "# per-module depth from the same synthesis without -flatten"
  echo "# produced by scripts/synth.sh from top.v sha256:${top_sha}"
  echo "# yosys time: flat $(cat "$cache/flat.secs") s, hier $(cat "$cache/hier.secs") s (side by side, nice -n 10)"
  echo
  echo "LUT        $lut"
  echo "FF         $ff"
  echo "BRAM36     $ramb36"
  echo "BRAM18     $ramb18"
  echo "DSP        $dsp"
  echo "LUTRAM     $lutram"
  echo "SRL        $srl"
  echo "CARRY4     $carry"
  echo "MUXF7/F8   $muxf"
  echo
  echo "$depth"
  echo
  echo "# yosys stat (synth_xilinx -flatten)"
  sed -n '/Number of cells/,$p' "$stat"
} > "$dir/resources.txt"

if [ "$gen" = 1 ]; then
  log "regenerating the manifest"
  cargo run -q -p hw --release --bin gen-rtl >/dev/null
else
  log "--no-gen: manifest.json not refreshed (run again without --no-gen)"
fi
log "wrote $dir/resources.txt"
head -30 "$dir/resources.txt"
