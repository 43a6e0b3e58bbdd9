//! The MCP benchmark: how long an assistant waits for `skconn mcp`'s first answer.
//!
//! `cargo bench --bench mcp` makes a repository of 200 connector files (the examples in
//! `connectors/`, each with a numbered display name) and a skconn.yaml of one `url: local`
//! environment, then, for each of `validate` and `list_connectors`, starts the real `skconn mcp`
//! in it and speaks the protocol on its standard input and output as a client does: the
//! `initialize` request, its answer, the `initialized` notification, then one `tools/call`. It
//! measures the wall time from spawn to the tool's answer (checked: no error, every file
//! counted), then closes standard input and reads the process's CPU time and peak memory from
//! `wait4`. Target: ≤ 100 ms to the first tool answer for 200 connectors. See BENCHMARKS.md.
//!
//! `cargo test` runs this file without `--bench`: 10 files, one repetition, checking the
//! answers; it asserts nothing about time.
//!
//! `SKCONN_BENCH_REPS` sets the repetitions of the full run (default 5); `SKCONN_BENCH_FILES`
//! the number of connector files (default 200).

mod common;

use common::{median, wait4};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const SKCONN: &str = env!("CARGO_BIN_EXE_skconn");

/// The first tools an assistant calls, each measured in a fresh server.
const TOOLS: [&str; 2] = ["validate", "list_connectors"];

fn main() {
    let full = std::env::args().skip(1).any(|a| a == "--bench");
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n: &usize| *n > 0)
            .unwrap_or(default)
    };
    let (reps, files) = if full {
        (
            number("SKCONN_BENCH_REPS", 5),
            number("SKCONN_BENCH_FILES", 200),
        )
    } else {
        (1, 10)
    };
    if let Err(e) = run(full, reps, files) {
        eprintln!("mcp benchmark failed: {e}");
        std::process::exit(1);
    }
}

fn run(full: bool, reps: usize, files: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    generate(dir.path(), files)?;
    let mut rows = Vec::new();
    for tool in TOOLS {
        let mut runs = Vec::new();
        for _ in 0..reps {
            runs.push(first_answer(dir.path(), tool, files)?);
        }
        rows.push((tool, runs));
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "skconn mcp benchmark ({}): spawn to the first tool answer, {files} connector files, median of {reps} run(s)\n",
        if full { "full run" } else { "smoke run" }
    );
    let _ = writeln!(
        t,
        "{:<18} {:>9}  {:>15}  {:>8}  {:>10}  target",
        "first tool", "answer", "min..max", "CPU", "peak"
    );
    let _ = writeln!(t, "{}", "-".repeat(90));
    for (tool, runs) in &rows {
        let pick = |f: fn(&Measure) -> f64| runs.iter().map(f).collect::<Vec<_>>();
        let answer = pick(|m| m.answer);
        let (min, max) = answer
            .iter()
            .fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
        let answer_ms = median(&answer) * 1e3;
        let target = if full && files >= 200 {
            format!(
                "≤ 100 ms: {}",
                if answer_ms <= 100.0 { "met" } else { "MISSED" }
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            t,
            "{tool:<18} {answer_ms:>6.1} ms  {:>6.1}..{:<6.1}  {:>6.3} s  {:>6.1} MiB  {target}",
            min * 1e3,
            max * 1e3,
            median(&pick(|m| m.cpu)),
            median(&pick(|m| m.peak_mib)),
        );
    }
    println!("{t}");
    Ok(())
}

/// One server: seconds from spawn to the tool's answer; its CPU time and peak memory in all.
struct Measure {
    answer: f64,
    cpu: f64,
    peak_mib: f64,
}

/// Starts `skconn mcp` in `repo`, initializes, calls `tool` and checks its answer.
fn first_answer(repo: &Path, tool: &str, files: usize) -> Result<Measure, String> {
    let mut cmd = Command::new(SKCONN);
    cmd.arg("mcp")
        .current_dir(repo)
        .env_clear()
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot run skconn: {e}"))?;
    let pid = child.id();
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut send = |v: Value| -> Result<(), String> {
        writeln!(stdin, "{v}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("writing to skconn mcp: {e}"))
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "skconn-bench", "version": "1"}}}),
    )?;
    let init = answer(&mut stdout, 1)?;
    if init["result"]["serverInfo"]["name"] != "skconn" {
        return Err(format!("initialize: {init}"));
    }
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": tool, "arguments": {}}}))?;
    let result = answer(&mut stdout, 2)?;
    let elapsed = started.elapsed().as_secs_f64();
    let r = &result["result"];
    let counted = match tool {
        "validate" => r["structuredContent"]["files"].as_u64(),
        _ => r["structuredContent"]["files"]
            .as_array()
            .map(|a| a.len() as u64),
    };
    if r["isError"] != false || counted != Some(files as u64) {
        return Err(format!("{tool}: expected {files} files: {result}"));
    }
    drop(stdin);
    let (code, usage) = wait4(pid)?;
    if code != Some(0) {
        return Err(format!("skconn mcp exited with {code:?}"));
    }
    Ok(Measure {
        answer: elapsed,
        cpu: usage.cpu,
        peak_mib: usage.peak_kib as f64 / 1024.0,
    })
}

/// Reads messages until the answer to request `id`.
fn answer(stdout: &mut impl BufRead, id: u64) -> Result<Value, String> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading from skconn mcp: {e}"))?;
        if n == 0 {
            return Err(format!("skconn mcp ended before answering request {id}"));
        }
        let v: Value = serde_json::from_str(line.trim())
            .map_err(|e| format!("not a JSON-RPC message ({e}): {line}"))?;
        if v["id"] == id {
            return Ok(v);
        }
    }
}

/// A repository of `n` connector files made from the examples (numbered display names) and a
/// skconn.yaml with one embedded local environment.
fn generate(dir: &Path, n: usize) -> Result<(), String> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
    let mut templates: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(&examples).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("c");
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        templates.push((stem.to_string(), text));
    }
    templates.sort();
    if templates.is_empty() {
        return Err(format!("no example connectors in {}", examples.display()));
    }
    let connectors = dir.join("connectors");
    std::fs::create_dir(&connectors).map_err(|e| e.to_string())?;
    for i in 0..n {
        let (stem, text) = &templates[i % templates.len()];
        std::fs::write(
            connectors.join(format!("{stem}-{i:04}.yaml")),
            numbered(text, i),
        )
        .map_err(|e| e.to_string())?;
    }
    std::fs::write(
        dir.join("skconn.yaml"),
        "environments:\n  dev:\n    url: local\n    prune: managed\n",
    )
    .map_err(|e| e.to_string())
}

/// An example made into connector number `i`: its display name and previous names (which must
/// stay unique too) suffixed with the number.
fn numbered(template: &str, i: usize) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut previous_names: Option<usize> = None;
    for line in template.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if previous_names
            .is_some_and(|k| !trimmed.is_empty() && indent <= k && !trimmed.starts_with("- "))
        {
            previous_names = None;
        }
        if let Some(name) = line.strip_prefix("display_name:") {
            let name = name.split(" #").next().unwrap_or_default().trim();
            let _ = writeln!(out, "display_name: Bench {name} {i:04}");
        } else if trimmed == "previous_names:" {
            previous_names = Some(indent);
            let _ = writeln!(out, "{line}");
        } else if let (Some(_), Some(name)) = (previous_names, trimmed.strip_prefix("- ")) {
            let _ = writeln!(out, "{}- Bench {name} {i:04}", &line[..indent]);
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}
