#!/usr/bin/env bash
# Resource report for one lane of the ESP engine: yosys `synth_xilinx -flatten` on the
# generated bitstreams/esp-engine-v<LAYOUT_VERSION>/top.v, counted into resources.txt
# beside it; the manifest is then regenerated so it carries the report's SHA-256.
# Takes minutes; not part of the default test run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
command -v yosys >/dev/null || { echo "synth.sh: yosys not found (apt-get install -y yosys)" >&2; exit 1; }

dir=$(cargo run -q -p hw --release --bin gen-rtl)
top_sha=$(sha256sum "$dir/top.v" | awk '{print $1}')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=$(date +%s)
yosys -q -l "$work/yosys.log" -p "read_verilog $dir/top.v; synth_xilinx -flatten -top top; tee -q -o $work/stat.txt stat" >/dev/null
secs=$(( $(date +%s) - start ))

count() { # sum of the cell counts ("  NAME  COUNT" lines of stat) whose name matches $1
  awk -v re="$1" '$1 ~ re && $2 ~ /^[0-9]+$/ { s += $2 } END { print s + 0 }' "$work/stat.txt"
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
  echo "# Resources of one ESP engine lane ($(basename "$dir"))"
  echo "# yosys $(yosys -V | awk '{print $2}') synth_xilinx -flatten -top top (7-series cell library)"
  echo "# produced by scripts/synth.sh in ${secs} s from top.v sha256:${top_sha}"
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
  echo "# yosys stat"
  sed -n '/Number of cells/,$p' "$work/stat.txt"
} > "$dir/resources.txt"

cargo run -q -p hw --release --bin gen-rtl >/dev/null
cat "$dir/resources.txt" | head -14
