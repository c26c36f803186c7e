//! Builds the Verilator model of the generated core.
//!
//! The Verilog is the newest `bitstreams/esp-engine-v<N>/top.v` of the
//! workspace, or the file named by the environment variable `SIM_RTL`
//! (absolute, or relative to the workspace root). Without either, the
//! stand-in `sim/testdata/echo_top.v` is used and a warning says so.
//!
//! Steps: `verilator --cc` into `$OUT_DIR/obj_dir`, then the generated C++,
//! Verilator's runtime and `csrc/shim.cpp` are compiled with the `cc` crate.
//! The port widths read from the generated header become Rust constants in
//! `$OUT_DIR/ports.rs`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("sim lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    println!("cargo:rerun-if-env-changed=SIM_RTL");
    println!("cargo:rerun-if-env-changed=SIM_VERILATOR");
    println!("cargo:rerun-if-changed=csrc/shim.cpp");
    println!("cargo:rerun-if-changed=csrc/fastwide.h");
    println!("cargo:rerun-if-env-changed=SIM_FASTWIDE");
    println!("cargo:rerun-if-env-changed=SIM_FASTEDGE");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(sim_rtl, values(\"core\", \"echo\"))");

    let bitstreams = workspace.join("bitstreams");
    if bitstreams.is_dir() {
        println!("cargo:rerun-if-changed={}", bitstreams.display());
    }

    let (rtl, kind) = match env::var_os("SIM_RTL") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            let p = if p.is_absolute() {
                p
            } else {
                workspace.join(p)
            };
            let kind = if p.ends_with("testdata/echo_top.v") {
                "echo"
            } else {
                "core"
            };
            (p, kind)
        }
        _ => match newest_core(&bitstreams) {
            Some(p) => (p, "core"),
            None => {
                println!(
                    "cargo:warning=no bitstreams/esp-engine-v*/top.v yet: building the stand-in sim/testdata/echo_top.v"
                );
                (manifest_dir.join("testdata/echo_top.v"), "echo")
            }
        },
    };
    if !rtl.is_file() {
        panic!(
            "sim: Verilog source {} does not exist (check SIM_RTL)",
            rtl.display()
        );
    }
    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rustc-cfg=sim_rtl=\"{kind}\"");

    let trace = env::var_os("CARGO_FEATURE_VCD").is_some();
    let verilator = env::var("SIM_VERILATOR").unwrap_or_else(|_| "verilator".to_string());
    let obj_dir = out_dir.join("obj_dir");
    if obj_dir.exists() {
        fs::remove_dir_all(&obj_dir).expect("remove the previous obj_dir");
    }

    let mut cmd = Command::new(&verilator);
    cmd.args([
        "--cc",
        "--no-timing",
        "--prefix",
        "Vtop",
        "--top-module",
        "top",
        "-O3",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "--noassert",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
    ]);
    if trace {
        cmd.arg("--trace");
    }
    cmd.arg("-Mdir").arg(&obj_dir).arg(&rtl);
    let output = cmd.output().unwrap_or_else(|e| {
        panic!("sim: cannot run `{verilator}` ({e}); install Debian's verilator package")
    });
    if !output.status.success() {
        panic!(
            "sim: verilator failed on {}:\n{}",
            rtl.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let root = verilator_root(&verilator);
    let include = root.join("include");

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .warnings(false)
        .opt_level(2)
        .debug(false)
        .include(&include)
        .include(include.join("vltstd"))
        .include(&obj_dir)
        .define("VM_TRACE", if trace { "1" } else { "0" })
        .define("VM_TRACE_VCD", if trace { "1" } else { "0" })
        .define("VM_TRACE_FST", "0")
        .define("VM_COVERAGE", "0")
        .define("VM_SC", "0")
        .flag_if_supported("-faligned-new")
        .flag_if_supported("-fno-var-tracking")
        .flag_if_supported("-Wno-unused-parameter");
    // Word-at-a-time wide left shifts in place of Verilator's bit-field
    // insert (see csrc/fastwide.h); `SIM_FASTWIDE=0` builds the model with
    // Verilator's own helpers, to measure the difference.
    let fastwide = env::var("SIM_FASTWIDE").map_or(true, |v| v != "0");
    if fastwide {
        build.flag("-include").flag(
            manifest_dir
                .join("csrc/fastwide.h")
                .to_str()
                .expect("UTF-8 path"),
        );
    }
    // The rising edge without Verilator's input-combinational pass (see
    // csrc/shim.cpp), when the generated schedule has the shape the shim
    // copies; `SIM_FASTEDGE=0` turns it off, to measure the difference.
    let fast_edge = !trace
        && env::var("SIM_FASTEDGE").map_or(true, |v| v != "0")
        && schedule_allows_fast_edge(&obj_dir);
    build.define("SIM_FAST_EDGE", if fast_edge { "1" } else { "0" });
    let mut sources: Vec<PathBuf> = fs::read_dir(&obj_dir)
        .expect("read obj_dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    sources.sort();
    for s in &sources {
        build.file(s);
    }
    build.file(include.join("verilated.cpp"));
    build.file(include.join("verilated_threads.cpp"));
    if trace {
        build.file(include.join("verilated_vcd_c.cpp"));
    }
    build.file(manifest_dir.join("csrc/shim.cpp"));
    build.compile("vtop");
    println!("cargo:rustc-link-lib=stdc++");
    println!("cargo:rustc-link-lib=pthread");

    let header = fs::read_to_string(obj_dir.join("Vtop.h")).expect("read Vtop.h");
    let mut ports = String::new();
    ports.push_str("// Generated by sim/build.rs from Verilator's Vtop.h.\n");
    ports.push_str(&format!(
        "/// The Verilog file the model was built from.\npub const RTL_PATH: &str = {:?};\n",
        rtl.display().to_string()
    ));
    ports.push_str(&format!("/// `\"core\"` for the generated engine, `\"echo\"` for the stand-in.\npub const RTL_KIND: &str = {kind:?};\n"));
    ports.push_str(&format!("/// Whether the model was built with `--trace` (feature `vcd`).\npub const TRACE_BUILT: bool = {trace};\n"));
    ports.push_str(&format!("/// Whether the model was built with `csrc/fastwide.h` (word-wise wide shifts; `SIM_FASTWIDE=0` turns it off).\npub const FASTWIDE_BUILT: bool = {fastwide};\n"));
    ports.push_str(&format!("/// Whether the shim evaluates the rising edge without the input-combinational pass (`SIM_FASTEDGE=0` turns it off).\npub const FASTEDGE_BUILT: bool = {fast_edge};\n"));
    let mut seen = 0;
    for line in header.lines() {
        let line = line.trim();
        let Some(rest) = ["VL_IN", "VL_OUT"]
            .iter()
            .find_map(|p| line.strip_prefix(p))
        else {
            continue;
        };
        let Some(open) = rest.find("(&") else {
            continue;
        };
        let args: Vec<&str> = rest[open + 2..].trim_end_matches(");").split(',').collect();
        if args.len() < 3 {
            continue;
        }
        let name = args[0].trim();
        let msb: u32 = args[1].trim().parse().expect("port msb");
        let lsb: u32 = args[2].trim().parse().expect("port lsb");
        ports.push_str(&format!(
            "/// Width in bits of the port `{name}`.\npub const {}_WIDTH: u32 = {};\n",
            name.to_uppercase(),
            msb - lsb + 1
        ));
        seen += 1;
    }
    assert!(seen > 0, "sim: no ports found in Vtop.h");
    fs::write(out_dir.join("ports.rs"), ports).expect("write ports.rs");
}

/// The body of the generated C++ function `name` (up to its closing brace at
/// the start of a line), from any `.cpp` file of `obj_dir`.
fn generated_function(obj_dir: &Path, name: &str) -> Option<String> {
    let head = format!("void {name}(Vtop___024root* vlSelf) {{");
    for entry in fs::read_dir(obj_dir).ok()?.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "cpp") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        if let Some(start) = text.find(&head) {
            let body = &text[start + head.len()..];
            let end = body.find("\n}\n")?;
            return Some(body[..end].to_string());
        }
    }
    None
}

/// Whether the schedule Verilator generated is the one csrc/shim.cpp's
/// fast rising edge copies: `_eval` runs an input-combinational loop and then
/// the active/NBA loop with `_eval_triggers__act`, `_eval_act` and
/// `_eval_nba`; the active region has one trigger, the rising edge of
/// `clock`; the input region has one, its first iteration (so no logic is
/// re-evaluated when a signal changes, which is what a combinational loop
/// would need).
fn schedule_allows_fast_edge(obj_dir: &Path) -> bool {
    let eval = generated_function(obj_dir, "Vtop___024root___eval");
    let act = generated_function(obj_dir, "Vtop___024root___eval_triggers__act");
    let ico = generated_function(obj_dir, "Vtop___024root___eval_triggers__ico");
    let (Some(eval), Some(act), Some(ico)) = (eval, act, ico) else {
        println!("cargo:warning=sim: Verilator's schedule functions not found; the rising edge uses eval()");
        return false;
    };
    let ok = [
        "Vtop___024root___eval_triggers__ico(vlSelf);",
        "Vtop___024root___eval_triggers__act(vlSelf);",
        "Vtop___024root___eval_act(vlSelf);",
        "Vtop___024root___eval_nba(vlSelf);",
        "__VactContinue",
        "__VnbaTriggered.set(vlSelf->__VactTriggered);",
    ]
    .iter()
    .all(|s| eval.contains(s))
        && act.matches("__VactTriggered.at(").count() == 1
        && act.contains("__VactTriggered.at(0U) = ((IData)(vlSelf->clock)")
        && ico.matches("__VicoTriggered.at(").count() == 1
        && ico.contains("__VicoTriggered.at(0U) = (0U == vlSelf->__VicoIterCount);");
    if !ok {
        println!("cargo:warning=sim: Verilator's schedule has another shape (a combinational loop, another clock or another Verilator); the rising edge uses eval()");
    }
    ok
}

/// The `top.v` of the highest-numbered `esp-engine-v<N>` folder.
fn newest_core(bitstreams: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in fs::read_dir(bitstreams).ok()?.flatten() {
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix("esp-engine-v"))
            .and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        let top = entry.path().join("top.v");
        if top.is_file() && best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, top));
        }
    }
    best.map(|(_, p)| p)
}

fn verilator_root(verilator: &str) -> PathBuf {
    if let Some(r) = env::var_os("VERILATOR_ROOT") {
        return PathBuf::from(r);
    }
    let out = Command::new(verilator)
        .args(["--getenv", "VERILATOR_ROOT"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if !s.is_empty() {
                return PathBuf::from(s);
            }
        }
        _ => {}
    }
    PathBuf::from("/usr/share/verilator")
}
