#!/usr/bin/env python3
"""Print the modules of a rust-hdl Verilog file that one module needs (itself and every
module it instantiates, transitively), unchanged and in file order.

    scripts/verilog_subtree.py bitstreams/esp-engine-v1/top.v 'top$tail$ghash' > ghash.v

Used by scripts/synth.sh --top and scripts/pnr-ecp5.sh so that yosys parses a block's
few modules rather than the whole 1.4 MB top.v.
"""

import re
import sys


def modules(text):
    """{name: text} of each `module ... endmodule` block, in file order."""
    out = {}
    for m in re.finditer(r"^module\s+(\S+?)\s*\(.*?^endmodule\b[^\n]*\n", text, re.S | re.M):
        out[m.group(1)] = m.group(0)
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    mods = modules(text)
    root = sys.argv[2]
    if root not in mods:
        print(f"verilog_subtree.py: no module {root} in {sys.argv[1]}", file=sys.stderr)
        return 1
    inst = re.compile(r"^\s*(\S+)\s+\S+\s*\(", re.M)
    need, todo = set(), [root]
    while todo:
        name = todo.pop()
        if name in need:
            continue
        need.add(name)
        for m in inst.finditer(mods[name]):
            if m.group(1) in mods and m.group(1) not in need:
                todo.append(m.group(1))
    sys.stdout.write("".join(t for n, t in mods.items() if n in need))
    return 0


if __name__ == "__main__":
    sys.exit(main())
