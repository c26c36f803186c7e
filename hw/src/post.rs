//! Post-passes over the Verilog that rust-hdl writes ([`post_process`] runs
//! both): each module's single combinational `always @(*)` block is split into
//! several blocks, one per group of signals that must be computed together
//! ([`split_comb_blocks`]), and read-only memories are given to Verilator as
//! shared constant tables, behind `` `ifdef VERILATOR `` so that synthesis
//! reads them unchanged ([`rom_tables_for_verilator`]).
//!
//! # Why
//! rust-hdl writes the whole `update()` of a block as one `always @(*)`.
//! A simulator (Verilator) orders combinational logic by blocks, not by
//! statements, so a block that drives a sub-block's input and also reads one
//! of its outputs looks like a combinational loop (`UNOPTFLAT`) even when no
//! signal depends on itself. Verilator then evaluates the logic on such
//! "loops" again and again until it settles, in every `eval()`, which made
//! that logic most of the Verilated core's run time (sim/README.md,
//! "Simulation speed"). After the split, each block only reads what it
//! needs, and the false loops are gone.
//!
//! # What the pass does
//! Inside one `always @(*) begin ... end`, every assigned variable gets a
//! group. Two variables share a group when a statement that assigns one of
//! them (or a condition that guards such a statement) reads the other at a
//! point where the other is not yet final, i.e. where the block still
//! assigns it later (or has not assigned it yet). Each group becomes its own
//! `always @(*)` that keeps exactly the assignments to the group's variables,
//! in their original order and under their original `if`/`case` conditions.
//! Every value a kept statement reads is then the same as in the original
//! block: a variable of the same group is computed by the same statements in
//! the same order, and a variable of another group is only read after its
//! last assignment, so its final value (what its own block computes) is the
//! value the original read. The logic described is the same; only its
//! packaging changes, and synthesis (yosys) reads either form the same way.
//!
//! The pass understands the statement forms rust-hdl writes in these blocks:
//! `name = expr;` (one line), `if (c) begin ... end` with `else begin ...
//! end` or `else if (c) begin`, and `case (e)` with `label:` / `label:
//! begin ... end` arms up to `endcase`. A block with anything else is copied
//! unchanged, and so is every other line of the file.

use std::collections::{BTreeMap, HashMap};

/// One statement of a combinational block.
#[derive(Debug, Clone)]
enum Stmt {
    /// `lhs = rhs;`: the variable assigned, the whole line (trimmed), the
    /// position of the statement in the block and the identifiers it reads.
    Assign {
        lhs: String,
        text: String,
        pos: usize,
        reads: Vec<String>,
    },
    /// `if (cond) begin .. end [else begin .. end]`.
    If {
        cond: String,
        pos: usize,
        reads: Vec<String>,
        then: Vec<Stmt>,
        other: Vec<Stmt>,
    },
    /// `case (sel) label: begin .. end .. endcase`.
    Case {
        sel: String,
        pos: usize,
        reads: Vec<String>,
        arms: Vec<(String, Vec<Stmt>)>,
    },
}

/// The identifiers an expression reads, sized literals (`32'h1f`) skipped.
fn identifiers(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
            if i < b.len() && b[i] == b'\'' {
                i += 1;
                if i < b.len() && (b[i] == b's' || b[i] == b'S') {
                    i += 1;
                }
                if i < b.len() {
                    i += 1; // base letter
                }
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push(expr[start..i].to_string());
        } else if c == b'\'' {
            // An unsized literal such as 'h0 or '0.
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Parser over the trimmed lines of one block body.
struct Parser<'a> {
    lines: Vec<&'a str>,
    at: usize,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.lines.get(self.at).copied()
    }

    fn next_pos(&mut self) -> usize {
        self.pos += 1;
        self.pos
    }

    /// Statements up to (and consuming) a line equal to `end`, or to the end
    /// of input when `end` is `None`.
    fn list(&mut self, end: Option<&str>) -> Option<Vec<Stmt>> {
        let mut out = Vec::new();
        loop {
            let Some(line) = self.peek() else {
                return if end.is_none() { Some(out) } else { None };
            };
            if Some(line) == end {
                self.at += 1;
                return Some(out);
            }
            out.push(self.stmt()?);
        }
    }

    /// `begin` .. `end` after an arm label or an `if` head already consumed.
    fn if_from(&mut self, cond: &str) -> Option<Stmt> {
        let pos = self.next_pos();
        let then = self.list(Some("end"))?;
        let mut other = Vec::new();
        match self.peek() {
            Some("else begin") => {
                self.at += 1;
                other = self.list(Some("end"))?;
            }
            Some(l) if l.starts_with("else if (") && l.ends_with(") begin") => {
                let c = &l["else if (".len()..l.len() - ") begin".len()];
                self.at += 1;
                other.push(self.if_from(c)?);
            }
            _ => {}
        }
        Some(Stmt::If {
            cond: cond.to_string(),
            pos,
            reads: identifiers(cond),
            then,
            other,
        })
    }

    fn stmt(&mut self) -> Option<Stmt> {
        let line = self.peek()?;
        self.at += 1;
        if let Some(rest) = line.strip_prefix("if (") {
            let cond = rest.strip_suffix(") begin")?;
            return self.if_from(cond);
        }
        if let Some(rest) = line.strip_prefix("case (") {
            let sel = rest.strip_suffix(')')?;
            let pos = self.next_pos();
            let mut arms = Vec::new();
            loop {
                let l = self.peek()?;
                self.at += 1;
                if l == "endcase" {
                    break;
                }
                let (label, inline_begin) = if let Some(lb) = l.strip_suffix(": begin") {
                    (lb, true)
                } else {
                    (l.strip_suffix(':')?, false)
                };
                if !inline_begin {
                    if self.peek()? != "begin" {
                        return None;
                    }
                    self.at += 1;
                }
                arms.push((label.trim().to_string(), self.list(Some("end"))?));
            }
            return Some(Stmt::Case {
                sel: sel.to_string(),
                pos,
                reads: identifiers(sel),
                arms,
            });
        }
        let (lhs, rhs) = line.split_once(" = ")?;
        if !is_identifier(lhs) || !rhs.ends_with(';') {
            return None;
        }
        let pos = self.next_pos();
        Some(Stmt::Assign {
            lhs: lhs.to_string(),
            text: line.to_string(),
            pos,
            reads: identifiers(rhs),
        })
    }
}

/// Every variable assigned inside `stmts`.
fn assigned(stmts: &[Stmt], out: &mut Vec<String>) {
    for s in stmts {
        match s {
            Stmt::Assign { lhs, .. } => out.push(lhs.clone()),
            Stmt::If { then, other, .. } => {
                assigned(then, out);
                assigned(other, out);
            }
            Stmt::Case { arms, .. } => {
                for (_, a) in arms {
                    assigned(a, out);
                }
            }
        }
    }
}

fn write_positions(stmts: &[Stmt], out: &mut HashMap<String, Vec<usize>>) {
    for s in stmts {
        match s {
            Stmt::Assign { lhs, pos, .. } => out.entry(lhs.clone()).or_default().push(*pos),
            Stmt::If { then, other, .. } => {
                write_positions(then, out);
                write_positions(other, out);
            }
            Stmt::Case { arms, .. } => {
                for (_, a) in arms {
                    write_positions(a, out);
                }
            }
        }
    }
}

struct Groups {
    parent: HashMap<String, String>,
}

impl Groups {
    fn find(&mut self, v: &str) -> String {
        let p = self.parent.get(v).cloned().unwrap_or_else(|| v.to_string());
        if p == v {
            return p;
        }
        let root = self.find(&p);
        self.parent.insert(v.to_string(), root.clone());
        root
    }

    fn union(&mut self, a: &str, b: &str) {
        let ra = self.find(a);
        let rb = self.find(b);
        if ra != rb {
            self.parent.insert(ra, rb);
        }
    }
}

/// Joins the writers of a statement with every variable it reads before
/// that variable is final.
fn link(stmts: &[Stmt], writes: &HashMap<String, Vec<usize>>, groups: &mut Groups) {
    let join = |reads: &[String], pos: usize, writers: &[String], groups: &mut Groups| {
        for r in reads {
            if let Some(ws) = writes.get(r) {
                if ws.iter().any(|&w| w >= pos) {
                    for v in writers {
                        groups.union(v, r);
                    }
                }
            }
        }
    };
    for s in stmts {
        match s {
            Stmt::Assign {
                lhs, pos, reads, ..
            } => join(reads, *pos, std::slice::from_ref(lhs), groups),
            Stmt::If {
                pos,
                reads,
                then,
                other,
                ..
            } => {
                let mut w = Vec::new();
                assigned(then, &mut w);
                assigned(other, &mut w);
                join(reads, *pos, &w, groups);
                link(then, writes, groups);
                link(other, writes, groups);
            }
            Stmt::Case {
                pos, reads, arms, ..
            } => {
                let mut w = Vec::new();
                for (_, a) in arms {
                    assigned(a, &mut w);
                }
                join(reads, *pos, &w, groups);
                for (_, a) in arms {
                    link(a, writes, groups);
                }
            }
        }
    }
}

/// Writes the statements of `stmts` that assign a variable of `group`.
/// Returns whether anything was written.
fn emit(stmts: &[Stmt], keep: &dyn Fn(&str) -> bool, indent: usize, out: &mut String) -> bool {
    let pad = " ".repeat(indent);
    let mut any = false;
    for s in stmts {
        match s {
            Stmt::Assign { lhs, text, .. } => {
                if keep(lhs) {
                    out.push_str(&pad);
                    out.push_str(text);
                    out.push('\n');
                    any = true;
                }
            }
            Stmt::If {
                cond, then, other, ..
            } => {
                let mut t = String::new();
                let mut e = String::new();
                let has_t = emit(then, keep, indent + 4, &mut t);
                let has_e = emit(other, keep, indent + 4, &mut e);
                if has_t || has_e {
                    out.push_str(&format!("{pad}if ({cond}) begin\n{t}{pad}end\n"));
                    if has_e {
                        out.push_str(&format!("{pad}else begin\n{e}{pad}end\n"));
                    }
                    any = true;
                }
            }
            Stmt::Case { sel, arms, .. } => {
                let bodies: Vec<(String, bool)> = arms
                    .iter()
                    .map(|(_, a)| {
                        let mut b = String::new();
                        let has = emit(a, keep, indent + 8, &mut b);
                        (b, has)
                    })
                    .collect();
                if bodies.iter().any(|(_, h)| *h) {
                    out.push_str(&format!("{pad}case ({sel})\n"));
                    for ((label, _), (body, _)) in arms.iter().zip(&bodies) {
                        out.push_str(&format!("{pad}    {label}: begin\n{body}{pad}    end\n"));
                    }
                    out.push_str(&format!("{pad}endcase\n"));
                    any = true;
                }
            }
        }
    }
    any
}

/// The split form of one block body (the lines between `always @(*) begin`
/// and its `end`), or `None` when the body has a form the pass does not
/// understand.
fn split_block(body: &[&str], indent: &str) -> Option<String> {
    let mut p = Parser {
        lines: body
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect(),
        at: 0,
        pos: 0,
    };
    let stmts = p.list(None)?;
    let mut writes = HashMap::new();
    write_positions(&stmts, &mut writes);
    let mut groups = Groups {
        parent: HashMap::new(),
    };
    link(&stmts, &writes, &mut groups);
    // Groups in the order of their first assignment.
    let mut first: BTreeMap<usize, String> = BTreeMap::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut vars: Vec<(usize, String)> = writes
        .iter()
        .map(|(v, ps)| (*ps.iter().min().unwrap_or(&0), v.clone()))
        .collect();
    vars.sort();
    let mut root_of: HashMap<String, String> = HashMap::new();
    for (pos, v) in &vars {
        let r = groups.find(v);
        root_of.insert(v.clone(), r.clone());
        if seen.insert(r.clone(), ()).is_none() {
            first.insert(*pos, r);
        }
    }
    let mut out = String::new();
    let inner = indent.len() + 4;
    for root in first.values() {
        let keep = |v: &str| root_of.get(v) == Some(root);
        out.push_str(indent);
        out.push_str("always @(*) begin\n");
        emit(&stmts, &keep, inner, &mut out);
        out.push_str(indent);
        out.push_str("end\n");
    }
    Some(out)
}

/// Splits every `always @(*) begin ... end` block of `verilog` by groups of
/// dependent variables (module docs); everything else is copied unchanged.
#[must_use]
pub fn split_comb_blocks(verilog: &str) -> String {
    let lines: Vec<&str> = verilog.split_inclusive('\n').collect();
    let mut out = String::with_capacity(verilog.len() + verilog.len() / 4);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_end();
        if trimmed.trim_start() == "always @(*) begin" {
            let indent = &trimmed[..trimmed.len() - trimmed.trim_start().len()];
            let close = format!("{indent}end");
            if let Some(len) = lines[i + 1..].iter().position(|l| l.trim_end() == close) {
                let body: Vec<&str> = lines[i + 1..i + 1 + len].to_vec();
                if let Some(split) = split_block(&body, indent) {
                    out.push_str(&split);
                    i += len + 2;
                    continue;
                }
            }
        }
        out.push_str(line);
        i += 1;
    }
    out
}

/// A read-only memory found by [`rom_tables_for_verilator`]: the memory's
/// declaration line, its `initial` contents and the lines that read it.
struct Rom<'a> {
    /// Index of the declaration line.
    decl: usize,
    /// One past the last line of the region the pass rewrites (the line of
    /// `endmodule`).
    end: usize,
    /// Indentation of the declaration.
    indent: &'a str,
    /// Most significant bit of a word.
    msb: usize,
    /// The memory's name.
    name: &'a str,
    /// Word `i` of the memory, as its Verilog literal.
    words: Vec<&'a str>,
    /// First line after the `initial` block.
    body: usize,
}

/// `reg [MSB:0] NAME [LAST:0];`, with or without a `(* rom_style = .. *)`
/// attribute: `(MSB, NAME, LAST)`.
fn memory_decl(line: &str) -> Option<(usize, &str, usize)> {
    let mut l = line.trim();
    if let Some(rest) = l.strip_prefix("(*") {
        l = rest.split_once("*)")?.1.trim();
    }
    let l = l.strip_prefix("reg [")?.strip_suffix(":0];")?;
    let (msb, rest) = l.split_once(":0] ")?;
    let (name, last) = rest.split_once(" [")?;
    (is_identifier(name) && !name.contains('$')).then_some(())?;
    Some((msb.parse().ok()?, name, last.parse().ok()?))
}

/// The memory declared at line `at` when it is a ROM of the form rust-hdl's
/// custom blocks write: an `initial` block that sets every word `0..=LAST`
/// once, in order, then only `always @(posedge ...)` blocks up to
/// `endmodule` that read the memory at plain identifiers and never write it.
fn rom_at<'a>(lines: &[&'a str], at: usize) -> Option<Rom<'a>> {
    let (msb, name, last) = memory_decl(lines[at])?;
    let line = lines[at].trim_end();
    let indent = &line[..line.len() - line.trim_start().len()];
    let mut i = at + 1;
    (lines.get(i)?.trim() == "initial begin").then_some(())?;
    i += 1;
    let mut words = Vec::with_capacity(last + 1);
    loop {
        let l = lines.get(i)?.trim();
        i += 1;
        if l == "end" {
            break;
        }
        let (lhs, value) = l.strip_suffix(';')?.split_once(" = ")?;
        let index = lhs
            .strip_prefix(name)?
            .strip_prefix('[')?
            .strip_suffix(']')?;
        (index.parse::<usize>().ok()? == words.len()).then_some(())?;
        words.push(value);
    }
    (words.len() == last + 1).then_some(())?;
    let body = i;
    let end = body
        + lines[body..]
            .iter()
            .position(|l| l.starts_with("endmodule"))?;
    let mut in_block = false;
    for l in &lines[body..end] {
        let t = l.trim();
        if !in_block {
            in_block = t.starts_with("always @(posedge ") && t.ends_with(") begin");
            (in_block || t.is_empty()).then_some(())?;
            continue;
        }
        if t == "end" {
            in_block = false;
            continue;
        }
        // Reads only: the memory appears as `NAME[ident]` right of `<=`.
        let (lhs, rhs) = t.split_once(" <= ")?;
        (!identifiers(lhs).iter().any(|x| x == name)).then_some(())?;
        for piece in rhs.split(name).skip(1) {
            let index = piece.strip_prefix('[')?.split_once(']')?.0;
            is_identifier(index).then_some(())?;
        }
    }
    (!in_block).then_some(())?;
    Some(Rom {
        decl: at,
        end,
        indent,
        msb,
        name,
        words,
        body,
    })
}

/// The Verilator form of one ROM: per address signal read, a `case` table in
/// an `always @(*)` (which Verilator turns into one constant array shared by
/// every ROM with the same contents), and the reading blocks with
/// `NAME[addr]` replaced by that table's output.
fn verilator_rom(rom: &Rom<'_>, lines: &[&str]) -> String {
    let mut reads: Vec<&str> = Vec::new();
    for l in &lines[rom.body..rom.end] {
        for piece in l.split(rom.name).skip(1) {
            if let Some((index, _)) = piece.strip_prefix('[').and_then(|p| p.split_once(']')) {
                if is_identifier(index) && !reads.contains(&index) {
                    reads.push(index);
                }
            }
        }
    }
    let ind = rom.indent;
    let mut out = String::new();
    for index in &reads {
        let wire = format!("{}$at${index}", rom.name);
        out.push_str(&format!("{ind}reg [{}:0] {wire};\n", rom.msb));
        out.push_str(&format!(
            "{ind}always @(*) begin\n{ind}    case ({index})\n"
        ));
        for (a, value) in rom.words.iter().enumerate() {
            out.push_str(&format!("{ind}        {a}: {wire} = {value};\n"));
        }
        out.push_str(&format!(
            "{ind}        default: {wire} = {}'d0;\n{ind}    endcase\n{ind}end\n",
            rom.msb + 1
        ));
    }
    for l in &lines[rom.body..rom.end] {
        let mut l = (*l).to_string();
        for index in &reads {
            l = l.replace(
                &format!("{}[{index}]", rom.name),
                &format!("{}$at${index}", rom.name),
            );
        }
        out.push_str(&l);
    }
    out
}

/// Gives Verilator every read-only memory of `verilog` as constant tables.
///
/// rust-hdl's block-RAM ROMs (the T-table ROMs of the AES rounds) are a
/// `reg` array filled by an `initial` block and read in `always @(posedge)`.
/// Verilator keeps such an array as a variable of each instance: the core's
/// 112 ROMs are 112 KB of copies of 4 tables, read at random addresses every
/// cycle, more than a first-level data cache holds. A `case` table in an
/// `always @(*)` is instead compiled to one constant array per distinct
/// contents (Verilator's constant pool), 4 KB for the 112 ROMs.
///
/// Each ROM region (its declaration, `initial` block and the blocks that read
/// it, up to `endmodule`) becomes
/// `` `ifdef VERILATOR `` *case tables and the reading blocks on their
/// outputs* `` `else `` *the region unchanged* `` `endif ``: a synthesis tool
/// (yosys, which does not define `VERILATOR`) reads exactly the text it read
/// before, and Verilator reads the same function: a word read at address `a`
/// is `case (a)` arm `a` of a table listing the `initial` values in order.
/// Memories of any other form are copied unchanged, and so is every other
/// line of the file.
#[must_use]
pub fn rom_tables_for_verilator(verilog: &str) -> String {
    let lines: Vec<&str> = verilog.split_inclusive('\n').collect();
    let mut out = String::with_capacity(verilog.len() * 2);
    let mut i = 0;
    while i < lines.len() {
        if let Some(rom) = rom_at(&lines, i) {
            out.push_str("`ifdef VERILATOR\n");
            out.push_str(&verilator_rom(&rom, &lines));
            out.push_str("`else\n");
            for l in &lines[rom.decl..rom.end] {
                out.push_str(l);
            }
            out.push_str("`endif\n");
            i = rom.end;
            continue;
        }
        out.push_str(lines[i]);
        i += 1;
    }
    out
}

/// All post-passes over rust-hdl's Verilog, in order:
/// [`split_comb_blocks`], then [`rom_tables_for_verilator`].
#[must_use]
pub fn post_process(verilog: &str) -> String {
    rom_tables_for_verilator(&split_comb_blocks(verilog))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(v: &str) -> Vec<String> {
        v.split("always @(*) begin\n")
            .skip(1)
            .map(|b| b.split("\n    end\n").next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn independent_signals_get_their_own_blocks() {
        let v = "module m(a,b,x,y);\n    always @(*) begin\n        x = a;\n        y = b & x;\n    end\nendmodule\n";
        let out = split_comb_blocks(v);
        let b = blocks(&out);
        assert_eq!(b.len(), 2, "{out}");
        assert_eq!(b[0].trim(), "x = a;");
        assert_eq!(b[1].trim(), "y = b & x;");
        assert!(out.starts_with("module m(a,b,x,y);\n"));
        assert!(out.ends_with("endmodule\n"));
    }

    #[test]
    fn a_read_before_the_last_write_keeps_signals_together() {
        // `row` is read, then assigned again: `p` must see the first value.
        let v = "    always @(*) begin\n        row = b;\n        p = 32'h0;\n        if (a[32'h0]) begin\n            p = p ^ row;\n        end\n        row = row << 1;\n        q = c;\n    end\n";
        let out = split_comb_blocks(v);
        let b = blocks(&out);
        assert_eq!(b.len(), 2, "{out}");
        assert!(
            b[0].contains("row = b;")
                && b[0].contains("p = p ^ row;")
                && b[0].contains("row = row << 1;")
        );
        assert_eq!(b[1].trim(), "q = c;");
    }

    #[test]
    fn conditions_and_cases_are_kept_per_group() {
        let v = "    always @(*) begin\n        x = 1'b0;\n        y = 1'b0;\n        if (s == 32'h1) begin\n            x = 1'b1;\n        end\n        else if (t) begin\n            y = 1'b1;\n        end\n        case (st$q)\n            St$A:\n                begin\n                    x = u;\n                end\n            default: begin\n                y = w;\n            end\n        endcase\n    end\n";
        let out = split_comb_blocks(v);
        let b = blocks(&out);
        assert_eq!(b.len(), 2, "{out}");
        assert!(b[0].contains("x = 1'b1;") && b[0].contains("if (s == 32'h1) begin"));
        assert!(b[0].contains("St$A: begin") && b[0].contains("x = u;") && !b[0].contains('y'));
        assert!(b[1].contains("else begin") && b[1].contains("if (t) begin"));
        assert!(
            b[1].contains("default: begin") && b[1].contains("y = w;") && !b[1].contains("x =")
        );
    }

    #[test]
    fn a_condition_read_before_final_joins_the_guarded_writes() {
        let v = "    always @(*) begin\n        t = a;\n        if (t) begin\n            x = 1'b1;\n        end\n        t = b;\n    end\n";
        let out = split_comb_blocks(v);
        assert_eq!(blocks(&out).len(), 1, "{out}");
    }

    #[test]
    fn unknown_forms_are_copied_unchanged() {
        let v = "    always @(*) begin\n        x = a;\n        for (i = 0; i < 4; i = i + 1) y[i] = x;\n    end\n    always @*\n    case (address)\n        8'h0: data = 32'h63000000;\n    endcase\n";
        assert_eq!(split_comb_blocks(v), v);
    }

    const ROM: &str = "module r(clock,a0,a1,d0,d1);\n    input wire  clock;\n    input wire  [1:0] a0;\n    input wire  [1:0] a1;\n    output reg  [15:0] d0;\n    output reg  [15:0] d1;\n    \n    // Update code (custom)\n    (* rom_style = \"block\" *) reg [7:0] mem [3:0];\n    initial begin\n        mem[0] = 8'h63;\n        mem[1] = 8'h7c;\n        mem[2] = 8'h77;\n        mem[3] = 8'h7b;\n    end\n    always @(posedge clock) begin\n        d0 <= {mem[a0], 8'd0};\n        d1 <= {8'd0, mem[a1]};\n    end\nendmodule // r\n";

    /// The text a tool without `VERILATOR` defined reads.
    fn without_verilator(v: &str) -> String {
        let mut out = String::new();
        let mut skip = false;
        for l in v.split_inclusive('\n') {
            match l.trim_end() {
                "`ifdef VERILATOR" => skip = true,
                "`else" => skip = false,
                "`endif" => {}
                _ if !skip => out.push_str(l),
                _ => {}
            }
        }
        out
    }

    /// The case tables of the Verilator branch: `(signal, values in arm order)`,
    /// each arm checked to be its position.
    fn case_tables(v: &str) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for chunk in v.split("    case (").skip(1) {
            let mut values = Vec::new();
            let mut wire = String::new();
            for l in chunk.lines().skip(1) {
                let t = l.trim();
                if t.starts_with("default:") {
                    break;
                }
                let (arm, assign) = t.split_once(": ").expect("an arm");
                assert_eq!(arm.parse::<usize>().ok(), Some(values.len()), "{t}");
                let (w, value) = assign.split_once(" = ").expect("an assignment");
                wire = w.to_string();
                values.push(value.trim_end_matches(';').to_string());
            }
            out.push((wire, values));
        }
        out
    }

    #[test]
    fn a_rom_becomes_case_tables_for_verilator_only() {
        let out = rom_tables_for_verilator(ROM);
        assert_eq!(without_verilator(&out), ROM, "{out}");
        let tables = case_tables(&out);
        let words = ["8'h63", "8'h7c", "8'h77", "8'h7b"];
        assert_eq!(tables.len(), 2, "{out}");
        assert_eq!(
            tables[0],
            (
                "mem$at$a0".to_string(),
                words.iter().map(|w| w.to_string()).collect()
            )
        );
        assert_eq!(tables[1].0, "mem$at$a1");
        assert_eq!(tables[1].1, tables[0].1);
        assert!(
            out.contains("d0 <= {mem$at$a0, 8'd0};") && out.contains("d1 <= {8'd0, mem$at$a1};")
        );
        assert!(out.contains("reg [7:0] mem$at$a0;") && out.contains("default: mem$at$a1 = 8'd0;"));
    }

    #[test]
    fn memories_that_are_written_or_incomplete_are_left_alone() {
        let written = ROM.replace("d1 <= {8'd0, mem[a1]};", "mem[a1] <= 8'h0;");
        assert_eq!(rom_tables_for_verilator(&written), written);
        let short = ROM.replace("        mem[3] = 8'h7b;\n", "");
        assert_eq!(rom_tables_for_verilator(&short), short);
        let unordered = ROM.replace("mem[2] = 8'h77", "mem[3] = 8'h77");
        assert_eq!(rom_tables_for_verilator(&unordered), unordered);
        let combinational = ROM.replace("always @(posedge clock) begin", "always @(*) begin");
        assert_eq!(rom_tables_for_verilator(&combinational), combinational);
    }

    #[test]
    fn the_cores_roms_all_become_tables_with_their_initial_contents() {
        let split = split_comb_blocks(&crate::generate_top_verilog());
        let out = post_process(&crate::generate_top_verilog());
        // What synthesis reads is what it read before this pass.
        assert_eq!(without_verilator(&out), split);
        // Every ROM of the core (initial-filled, read-only) was rewritten, and
        // each of its tables lists the initial values in address order.
        let roms = split.matches("initial begin\n        mem[0] = ").count();
        assert!(roms >= 100, "{roms} ROMs");
        assert_eq!(out.matches("`ifdef VERILATOR").count(), roms);
        for module in out.split("\nmodule ").skip(1) {
            let Some((verilator, original)) = module.split_once("`else\n") else {
                continue;
            };
            let initial: Vec<String> = original
                .lines()
                .filter_map(|l| l.trim().strip_prefix("mem[")?.split_once("] = "))
                .map(|(_, v)| v.trim_end_matches(';').to_string())
                .collect();
            let tables = case_tables(verilator);
            assert!(!tables.is_empty());
            for (_, values) in tables {
                assert_eq!(values, initial);
            }
        }
    }

    #[test]
    fn literals_are_not_identifiers() {
        assert_eq!(
            identifiers("a$b & 32'hdeadbeef | 4'b1010 ^ c[32'h1f]"),
            vec!["a$b", "c"]
        );
    }

    #[test]
    fn the_core_keeps_every_assignment_once_and_each_signal_in_one_block() {
        let original = crate::generate_top_verilog();
        let split = split_comb_blocks(&original);
        let assignments = |v: &str| {
            let mut a: Vec<String> = v
                .lines()
                .map(str::trim)
                .filter(|l| l.contains(" = ") && l.ends_with(';') && !l.starts_with("assign "))
                .map(str::to_string)
                .collect();
            a.sort();
            a
        };
        assert_eq!(assignments(&original), assignments(&split));
        assert!(
            split.matches("always @(*) begin").count()
                > original.matches("always @(*) begin").count()
        );
        // No variable is assigned by two combinational blocks of one module.
        for module in split.split("\nmodule ").skip(1) {
            let mut owner: HashMap<&str, usize> = HashMap::new();
            for (k, block) in module.split("always @(*) begin\n").skip(1).enumerate() {
                let body = block.split("\n    end\n").next().unwrap_or("");
                for l in body.lines() {
                    if let Some((lhs, _)) = l.trim().split_once(" = ") {
                        if is_identifier(lhs) {
                            let o = *owner.entry(lhs).or_insert(k);
                            assert_eq!(o, k, "{lhs} assigned in two blocks");
                        }
                    }
                }
            }
        }
    }
}
