//! A post-pass over the Verilog that rust-hdl writes: each module's single
//! combinational `always @(*)` block is split into several blocks, one per
//! group of signals that must be computed together.
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
