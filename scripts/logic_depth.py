#!/usr/bin/env python3
"""Logic depth between registers of a yosys `synth_xilinx` netlist (JSON), in LUT levels.

Used by scripts/synth.sh; prints the logic-depth section of resources.txt.

A path starts at a flip-flop, block RAM, SRL or I/O buffer output, a module input port
or (in a hierarchical netlist) a sub-module instance output, runs through combinational
7-series cells only (LUT1..LUT6, MUXF7, MUXF8, CARRY4, INV) and ends at an input of one of
the former or at a module output port. Every path is followed bit by bit (a CARRY4's
O[i]/CO[i] depend only on CI, CYINIT and S/DI[0..i]; a LUT's output on all its inputs).

Two longest-path figures are computed for each path end:
  * LUT levels: the number of LUT1..LUT6 cells on the path with the most of them (the
    figure the 6-level budget is about). MUXF7/MUXF8 (the slice's wide-function muxes
    behind a LUT pair, a LUT7/LUT8 in effect), CARRY4 (the dedicated carry chain) and
    INV (absorbed into the next LUT by a vendor flow) are not counted as levels but are
    listed with the path.
  * cells: every combinational cell on the longest path, counted as yosys `ltp` counts
    them (a 64-bit carry chain is 16 CARRY4 cells); yosys' own `ltp` figure is printed
    beside it as a cross-check where given.
"""

import argparse
import json
import re
import sys
from collections import defaultdict

LUTS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"}
COMB = LUTS | {"MUXF7", "MUXF8", "CARRY4", "INV"}
TARGET = 6


def bits_of(conn):
    """Integer net bits of a port connection (constants dropped)."""
    return [b for b in conn if isinstance(b, int)]


def arcs(cell):
    """(input bit, output bit) pairs of a combinational cell, from its connections."""
    conns = cell["connections"]
    typ = cell["type"]
    out = []
    if typ == "CARRY4":
        head = bits_of(conns.get("CI", [])) + bits_of(conns.get("CYINIT", []))
        s = conns.get("S", [])
        di = conns.get("DI", [])
        for port in ("O", "CO"):
            for i, ob in enumerate(conns.get(port, [])):
                if not isinstance(ob, int):
                    continue
                srcs = head + bits_of(s[: i + 1]) + bits_of(di[: i + 1])
                out.extend((ib, ob) for ib in srcs)
        return out
    dirs = cell.get("port_directions", {})
    ins = [b for p, c in conns.items() if dirs.get(p) == "input" for b in bits_of(c)]
    outs = [b for p, c in conns.items() if dirs.get(p) == "output" for b in bits_of(c)]
    return [(i, o) for i in ins for o in outs]


class Names:
    """Readable names of net bits: a public net name where one exists."""

    def __init__(self, module):
        self.best = {}
        for name, net in module.get("netnames", {}).items():
            bits = net["bits"]
            rank = (net.get("hide_name", 0), len(name))
            for i, b in enumerate(bits):
                if not isinstance(b, int):
                    continue
                label = f"{name}[{i}]" if len(bits) > 1 else name
                if b not in self.best or rank < self.best[b][0]:
                    self.best[b] = (rank, label)

    def __call__(self, bit):
        return self.best.get(bit, ((0, 0), f"<net {bit}>"))[1]


def longest_paths(module):
    """Per path end: the LUT-level-longest and the cell-longest path into it.

    Returns (ends, loops): ends maps an end bit to (owner cell or port name, lutbest,
    cellbest), each best being (luts, cells, muxf, carry, inv, start bit); loops counts
    combinational cells left out because they sit on a combinational loop.
    """
    cells = module.get("cells", {})
    comb = {n: c for n, c in cells.items() if c["type"] in COMB}
    driver = {}
    cell_arcs = {}
    for n, c in comb.items():
        a = arcs(c)
        cell_arcs[n] = a
        for _, o in a:
            driver[o] = n
    # Kahn's order over the combinational cells.
    deps = {n: set() for n in comb}
    users = defaultdict(set)
    for n, a in cell_arcs.items():
        for i, _ in a:
            d = driver.get(i)
            if d is not None and d != n:
                deps[n].add(d)
                users[d].add(n)
    ready = [n for n, d in deps.items() if not d]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for u in users[n]:
            deps[u].discard(n)
            if not deps[u]:
                ready.append(u)
    loops = len(comb) - len(order)

    zero = lambda b: (0, 0, 0, 0, 0, b)  # noqa: E731
    lutv = {}
    cellv = {}
    for n in order:
        typ = comb[n]["type"]
        dl = 1 if typ in LUTS else 0
        dm = 1 if typ in ("MUXF7", "MUXF8") else 0
        dc = 1 if typ == "CARRY4" else 0
        di = 1 if typ == "INV" else 0
        for i, o in cell_arcs[n]:
            for table, key in ((lutv, lambda v: (v[0], v[1])), (cellv, lambda v: (v[1], v[0]))):
                v = table.get(i) or zero(i)
                cand = (v[0] + dl, v[1] + 1, v[2] + dm, v[3] + dc, v[4] + di, v[5])
                cur = table.get(o)
                if cur is None or key(cand) > key(cur):
                    table[o] = cand

    ends = {}
    for n, c in cells.items():
        if c["type"] in COMB:
            continue
        dirs = c.get("port_directions", {})
        for p, conn in c["connections"].items():
            if dirs.get(p, "input") != "input":
                continue
            for b in bits_of(conn):
                if b in lutv:
                    ends[b] = (n, lutv[b], cellv[b])
    for p, port in module.get("ports", {}).items():
        if port["direction"] != "output":
            continue
        for b in bits_of(port["bits"]):
            if b in lutv:
                ends[b] = (f"output port {p}", lutv[b], cellv[b])
    return ends, loops


def modules_of(netlist):
    """The non-library modules of a yosys JSON netlist."""
    return {
        n: m
        for n, m in netlist["modules"].items()
        if "blackbox" not in m.get("attributes", {}) and "whitebox" not in m.get("attributes", {})
    }


def top_module(mods):
    """Name of the top module (the one yosys marked `top`, else the only one, else "top")."""
    marked = [n for n, m in mods.items() if m.get("attributes", {}).get("top")]
    if marked:
        return marked[0]
    return next(iter(mods)) if len(mods) == 1 else "top"


def clean(name):
    return name[1:] if name.startswith("\\") else name


def fmt_path(v, names, end):
    luts, ncells, muxf, carry, inv, start = v
    return f"{names(start)} -> {end}"


def composition(v):
    luts, ncells, muxf, carry, inv, _ = v
    return f"{luts} LUT + {muxf} MUXF + {carry} CARRY4 + {inv} INV"


def parse_ltp(path):
    """yosys `ltp` output: {module: length}."""
    res = {}
    if not path:
        return res
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"Longest topological path in (\S+) \(length=(-?\d+)\)", line)
            if m:
                res[clean(m.group(1))] = int(m.group(2))
    return res


FLAT_PREFIX = re.compile(r"^\$flatten((?:\\[^\\]+?\.)+)")


def instance_of(cell_name):
    """Instance path ("tail.ghash") of a cell in a netlist flattened after synthesis."""
    m = FLAT_PREFIX.match(cell_name)
    if m:
        return ".".join(p[1:-1] for p in re.findall(r"\\[^\\]+?\.", m.group(1)))
    if not cell_name.startswith("$") and "." in cell_name:
        return cell_name.rsplit(".", 1)[0]
    return ""


def register_modules(hier):
    """Instance path -> module type, and the set of leaf module types (no sub-instances)."""
    mods = modules_of(hier)
    leaf = {n for n, m in mods.items() if not any(c["type"] in mods for c in m["cells"].values())}
    top = top_module(mods)
    inst = {}

    def walk(mod, path):
        for cn, c in mods[mod]["cells"].items():
            if c["type"] in mods:
                p = f"{path}.{clean(cn)}" if path else clean(cn)
                inst[p] = c["type"]
                walk(c["type"], p)

    walk(top, "")
    return inst, leaf


def block_of(cell_name, inst, leaf):
    """The block a path end belongs to: the parent of the leaf instance (a rust-hdl
    register, RAM or ROM) holding the end cell, else the instance itself; "top" for
    the top module's own cells and ports."""
    path = instance_of(cell_name)
    if path and inst.get(path) in leaf and "." in path:
        return path.rsplit(".", 1)[0]
    if path and inst.get(path) in leaf:
        return "top"
    return path or "top"


def over(v):
    return " OVER" if v[0] > TARGET else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flat", required=True, help="JSON of synth_xilinx -flatten")
    ap.add_argument("--hier", required=True, help="JSON of synth_xilinx without -flatten")
    ap.add_argument("--hierflat", help="JSON of the hierarchical netlist after `flatten`")
    ap.add_argument("--ltp-flat", help="yosys ltp output for the flat netlist")
    ap.add_argument("--ltp-hier", help="yosys ltp output for the hierarchical netlist")
    ap.add_argument("--top-paths", type=int, default=12)
    args = ap.parse_args()
    out = []
    say = out.append

    say(f"# Logic depth between registers (target: at most {TARGET} LUT levels anywhere)")
    say("# LUT levels = LUT1..LUT6 cells on the path with the most of them; MUXF7/MUXF8")
    say("# (wide-function muxes behind a LUT pair), CARRY4 (carry chain) and INV (absorbed")
    say("# into a LUT by a vendor flow) are listed but not counted. 'cells' = every cell on")
    say("# the longest path as yosys `ltp` counts (each CARRY4 of a chain is one). A path runs")
    say("# from a FF/BRAM/SRL/port output to a FF/BRAM/SRL/port input (scripts/logic_depth.py).")

    # Whole core, flattened in synthesis.
    with open(args.flat) as f:
        flat = json.load(f)
    ltp_flat = parse_ltp(args.ltp_flat)
    fm = modules_of(flat)
    topname = top_module(fm)
    names = Names(fm[topname])
    ends, loops = longest_paths(fm[topname])
    say("")
    say(f"## Whole {'core' if topname == 'top' else 'block ' + clean(topname)} (synth_xilinx -flatten)")
    if ends:
        best = max(ends.values(), key=lambda e: (e[1][0], e[1][1]))
        bestc = max(ends.values(), key=lambda e: (e[2][1], e[2][0]))
        say(f"max LUT levels   {best[1][0]}{over(best[1])}  ({composition(best[1])})")
        say(f"max cells        {bestc[2][1]}  ({composition(bestc[2])})"
            + (f"; yosys ltp: {ltp_flat[topname]}" if topname in ltp_flat else ""))
    if loops:
        say(f"combinational loop: {loops} cells left out of the analysis")
    say("")
    say(f"deepest path ends (by LUT levels, one line per end signal, first {args.top_paths}):")
    say("levels cells  path (start -> end)")
    seen = set()
    rows = sorted(ends.items(), key=lambda kv: (-kv[1][1][0], -kv[1][1][1]))
    for b, (owner, lv, cv) in rows:
        end = names(b)
        key = re.sub(r"\[\d+\]$", "", end)
        if key in seen:
            continue
        seen.add(key)
        say(f"{lv[0]:6} {lv[1]:5}  {fmt_path(lv, names, end)}  [{composition(lv)}]")
        if len(seen) >= args.top_paths:
            break
    over_ends = {re.sub(r"\[\d+\]$", "", names(b)) for b, e in ends.items() if e[1][0] > TARGET}
    say(f"path ends over {TARGET} LUT levels: {len(over_ends)} signals")

    # Per block: the hierarchical netlist flattened after mapping, ends grouped by block.
    if args.hierflat:
        with open(args.hier) as f:
            hier = json.load(f)
        inst, leaf = register_modules(hier)
        with open(args.hierflat) as f:
            hf = json.load(f)
        hm = modules_of(hf)
        top = hm[top_module(hm)]
        hnames = Names(top)
        hends, hloops = longest_paths(top)
        per = {}
        for b, (owner, lv, cv) in hends.items():
            blk = block_of(owner, inst, leaf) if not owner.startswith("output port") else "top"
            cur = per.get(blk)
            if cur is None or (lv[0], lv[1]) > (cur[1][0], cur[1][1]):
                per[blk] = (b, lv, cv)
        say("")
        say("## Per block: deepest path ending in the block, across module boundaries")
        say("## (synth_xilinx without -flatten, then `flatten`; block = the rust-hdl instance")
        say("## holding the end register; start may lie in another block)")
        if hloops:
            say(f"combinational loop: {hloops} cells left out of the analysis")
        say(f"{'block':34} levels cells  path (start -> end)")
        for blk, (b, lv, cv) in sorted(per.items(), key=lambda kv: (-kv[1][1][0], kv[0])):
            blk = clean(top_module(hm)) if blk == "top" else blk
            say(f"{blk:34} {lv[0]:6}{'*' if lv[0] > TARGET else ' '}{cv[1]:5}  "
                f"{fmt_path(lv, hnames, hnames(b))}  [{composition(lv)}]")
        say("(* = over the target)")

    # Per module: the logic of each rust-hdl module on its own (instances end paths).
    with open(args.hier) as f:
        hier = json.load(f)
    ltp_hier = parse_ltp(args.ltp_hier)
    rows = []
    for name, mod in modules_of(hier).items():
        e, lp = longest_paths(mod)
        if not e:
            continue
        b, (owner, lv, cv) = max(e.items(), key=lambda kv: (kv[1][1][0], kv[1][1][1]))
        rows.append((clean(name), lv, max(x[2][1] for x in e.values()), lp, Names(mod), b))
    rows.sort(key=lambda r: (-r[1][0], -r[2], r[0]))
    say("")
    say("## Per module (synth_xilinx without -flatten): each module's own logic, from its")
    say("## inputs and registers to its outputs and registers; a path through a sub-module")
    say("## is cut at its ports, so these are lower bounds of the whole-core paths")
    say(f"{'module':44} levels cells ltp  deepest path (start -> end)")
    shown = 0
    for name, lv, ncells, lp, nm, b in rows:
        if lv[0] == 0 and ncells <= 1:
            continue
        if shown >= 40 and lv[0] < 3:
            continue
        shown += 1
        lt = ltp_hier.get(name)
        say(f"{name:44} {lv[0]:6}{'*' if lv[0] > TARGET else ' '}{ncells:5} {lt if lt is not None else '-':>4}  "
            f"{fmt_path(lv, nm, nm(b))}" + (f"  ({lp} cells in a loop)" if lp else ""))
    rest = len(rows) - shown
    say(f"({rest} more modules with at most 2 LUT levels or no logic of their own not listed)")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
