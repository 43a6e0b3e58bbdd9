//! The authoring benchmark: what `skconn new --from-openapi` costs on a large document.
//!
//! `cargo bench --bench authoring` generates an OpenAPI 3.0 document of about 10 MB (as YAML
//! and as JSON) shaped like the large public descriptions: many paths, each operation with
//! parameters, a request body, responses with nested schemas and examples, its own `security`
//! and a `$ref` to a shared header parameter, plus large `components.schemas`. It runs the real
//! `skconn` binary on each (and on `../shared/openapi/github.yaml`, 9.9 MB, when that folder is
//! there) and prints the median wall time, CPU time and peak resident memory. Targets: ≤ 1.5 s
//! and ≤ 256 MiB for the 10 MB document.
//!
//! Then hostile shapes of the same size, each a small valid document with one big part: a
//! description made of `[`; flow nesting far past the limit in a key skconn does not read
//! (refused); 64 levels of flow nesting (the limit) around the whole size; a flow
//! sequence inside a flow sequence around the whole size (refused: the YAML reader would hold
//! it all to learn whether it is a key); one wide flow mapping; 100 levels of block nesting
//! around the whole size; and the generated YAML document at twice the size. Target for each 10 MB one: ≤ 2 s CPU and ≤ 512 MiB. See BENCHMARKS.md.
//!
//! `cargo test` runs this file without `--bench`: 1 MB documents, one repetition, checking that
//! each connector is derived (or the document refused, for the one that must be); it asserts
//! nothing about time, and never reads `../shared/`.
//!
//! `SKCONN_BENCH_REPS` sets the repetitions of the full run (default 5); `SKCONN_BENCH_MB` the
//! generated document's size in MB (default 10).

mod common;

use common::{median, wait4};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const SKCONN: &str = env!("CARGO_BIN_EXE_skconn");

fn main() {
    let full = std::env::args().skip(1).any(|a| a == "--bench");
    let reps: usize = if full {
        env_num("SKCONN_BENCH_REPS", 5)
    } else {
        1
    };
    let mb: usize = if full {
        env_num("SKCONN_BENCH_MB", 10)
    } else {
        1
    };
    if let Err(e) = run(full, reps, mb) {
        eprintln!("authoring benchmark failed: {e}");
        std::process::exit(1);
    }
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn run(full: bool, reps: usize, mb: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = mb * 1024 * 1024;
    let yaml = dir.path().join("generated.yaml");
    let json = dir.path().join("generated.json");
    let yaml_bytes = generate(&yaml, target, Format::Yaml)?;
    let json_bytes = generate(&json, target, Format::Json)?;
    let mut rows: Vec<Row> = Vec::new();
    let args = ["--scheme", "oauth"];
    rows.push(Row {
        name: "generated document, YAML".into(),
        size: yaml_bytes,
        runs: measure(&yaml, &args, reps, Expect::Derived("OAUTH"))?,
        target: Target::Generated,
    });
    rows.push(Row {
        name: "generated document, JSON".into(),
        size: json_bytes,
        runs: measure(&json, &args, reps, Expect::Derived("OAUTH"))?,
        target: Target::Generated,
    });
    let github = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi/github.yaml");
    if full && github.is_file() {
        let size = std::fs::metadata(&github).map_err(|e| e.to_string())?.len();
        rows.push(Row {
            name: "shared/openapi/github.yaml".into(),
            size,
            runs: measure(
                &github,
                &["--type", "bearer", "--name", "GitHub"],
                reps,
                Expect::Derived("BEARER"),
            )?,
            target: Target::Generated,
        });
    }
    for shape in Shape::ALL {
        let path = dir.path().join(format!("hostile-{}.yaml", shape.file()));
        let size = hostile(&path, target, shape)?;
        let expect = match shape {
            Shape::DeepFlow => Expect::Refused("more than 64 levels"),
            Shape::HeldFlow => Expect::Refused("could be a key"),
            _ => Expect::Derived("BEARER"),
        };
        rows.push(Row {
            name: shape.name().into(),
            size,
            runs: measure(&path, &[], reps, expect)?,
            target: Target::Hostile,
        });
    }
    let double = dir.path().join("generated-2x.yaml");
    let double_bytes = generate(&double, 2 * target, Format::Yaml)?;
    rows.push(Row {
        name: "generated document, YAML, 2×".into(),
        size: double_bytes,
        runs: measure(&double, &args, reps, Expect::Derived("OAUTH"))?,
        target: Target::None,
    });
    println!("{}", table(full, reps, &rows));
    Ok(())
}

/// One row of the table.
struct Row {
    name: String,
    size: u64,
    runs: Vec<Measure>,
    target: Target,
}

/// The target a row is held to (at full size).
#[derive(Clone, Copy)]
enum Target {
    /// ≤ 1.5 s wall and ≤ 256 MiB.
    Generated,
    /// ≤ 2 s CPU and ≤ 512 MiB.
    Hostile,
    None,
}

/// What a run must end with: a connector of this auth type, or a refusal saying this.
#[derive(Clone, Copy)]
enum Expect {
    Derived(&'static str),
    Refused(&'static str),
}

/// The hostile shapes.
#[derive(Clone, Copy)]
enum Shape {
    Brackets,
    DeepFlow,
    DeepFlowFilled,
    HeldFlow,
    WideFlow,
    DeepBlockFilled,
}

impl Shape {
    const ALL: [Shape; 6] = [
        Shape::Brackets,
        Shape::DeepFlow,
        Shape::DeepFlowFilled,
        Shape::HeldFlow,
        Shape::WideFlow,
        Shape::DeepBlockFilled,
    ];

    fn name(self) -> &'static str {
        match self {
            Shape::Brackets => "hostile: description of `[`",
            Shape::DeepFlow => "hostile: nesting, refused",
            Shape::DeepFlowFilled => "hostile: 64 flow levels, full",
            Shape::HeldFlow => "hostile: `[[…]]`, refused",
            Shape::WideFlow => "hostile: one wide flow map",
            Shape::DeepBlockFilled => "hostile: 100 block levels, full",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Shape::Brackets => "brackets",
            Shape::DeepFlow => "deep-flow",
            Shape::DeepFlowFilled => "deep-flow-filled",
            Shape::HeldFlow => "held-flow",
            Shape::WideFlow => "wide-flow",
            Shape::DeepBlockFilled => "deep-block-filled",
        }
    }
}

/// A file written piece by piece, counting its bytes.
struct Sink {
    w: std::io::BufWriter<std::fs::File>,
    written: usize,
}

impl Sink {
    fn put(&mut self, s: &str) -> Result<(), String> {
        self.written += s.len();
        self.w.write_all(s.as_bytes()).map_err(|e| e.to_string())
    }

    /// `unit` repeated to about `bytes` bytes.
    fn repeat(&mut self, unit: &str, bytes: usize) -> Result<(), String> {
        let chunk = unit.repeat((64 * 1024 / unit.len()).max(1));
        let mut left = bytes;
        while left >= chunk.len() {
            self.put(&chunk)?;
            left -= chunk.len();
        }
        self.put(&unit.repeat(left / unit.len()))
    }

    /// `line(i)` for i = 0, 1, … until about `bytes` bytes.
    fn lines(&mut self, bytes: usize, line: impl Fn(usize) -> String) -> Result<(), String> {
        let (mut i, mut buf) = (0, String::new());
        let start = self.written;
        while self.written - start < bytes {
            buf.clear();
            for _ in 0..1000 {
                buf.push_str(&line(i));
                i += 1;
            }
            self.put(&buf)?;
        }
        Ok(())
    }
}

/// Writes a small valid document (a bearer scheme, one server) with one part of about `target`
/// bytes in the given shape; returns its size.
fn hostile(path: &Path, target: usize, shape: Shape) -> Result<u64, String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = Sink {
        w: std::io::BufWriter::new(file),
        written: 0,
    };
    w.put("openapi: 3.0.0\ninfo:\n  title: Bench Hostile\n  version: \"1\"\n")?;
    match shape {
        Shape::Brackets => {
            w.put("  description: \"")?;
            w.repeat("[", target)?;
            w.put("\"\n")?;
        }
        Shape::DeepFlow => {
            w.put("x-deep: ")?;
            w.repeat("[", target / 2)?;
            w.repeat("]", target / 2)?;
            w.put("\n")?;
        }
        Shape::DeepFlowFilled => {
            // Nested as values, which are never keys: read, at the deepest flow level allowed.
            w.put(&format!("x-deep: {}[0", "{a: ".repeat(63)))?;
            w.repeat(", 0", target)?;
            w.put(&format!("]{}\n", "}".repeat(63)))?;
        }
        Shape::HeldFlow => {
            w.put("x-held: [[0")?;
            w.repeat(", 0", target + 64 * 1024)?;
            w.put("]]\n")?;
        }
        Shape::WideFlow => {
            w.put("x-wide: {k: 0")?;
            w.lines(target, |i| format!(", k{i}: 0"))?;
            w.put("}\n")?;
        }
        Shape::DeepBlockFilled => {
            w.put("x-deep:\n")?;
            for level in 1..100 {
                w.put(&format!("{}a:\n", "  ".repeat(level)))?;
            }
            let indent = "  ".repeat(100);
            w.lines(target, |i| format!("{indent}k{i}: v\n"))?;
        }
    }
    w.put("servers: [{url: \"https://hostile.bench.example.com\"}]\ncomponents:\n  securitySchemes:\n    token: {type: http, scheme: bearer}\nsecurity: [{token: []}]\npaths: {}\n")?;
    w.w.flush().map_err(|e| e.to_string())?;
    Ok(w.written as u64)
}

#[derive(Clone, Copy)]
enum Format {
    Yaml,
    Json,
}

/// Writes a document of at least `target` bytes, one path item at a time (the benchmark never
/// holds the whole document, so that its own size stays small); returns its size.
fn generate(path: &Path, target: usize, format: Format) -> Result<u64, String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::new(file);
    let scopes: serde_json::Map<String, Value> = (0..50)
        .map(|i| {
            (
                format!("resource{i}:read"),
                json!(format!("Read resource {i}")),
            )
        })
        .collect();
    let mut schemas = serde_json::Map::new();
    // 200 shared schemas (about 1.5 MB) in the full run; 20 in the smoke run.
    let models = if target >= 5 * 1024 * 1024 { 200 } else { 20 };
    for i in 0..models {
        schemas.insert(format!("Model{i}"), model(i, 3));
    }
    let head = json!({
        "openapi": "3.0.3",
        "info": {"title": "Bench Large API", "version": "1.0.0",
                 "description": "A generated document. It is large."},
        "servers": [{"url": "https://{region}.api.bench.example.com/v1",
                     "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}}],
        "security": [{"oauth": []}, {"token": []}],
        "components": {
            "securitySchemes": {
                "oauth": {"type": "oauth2", "flows": {"authorizationCode": {
                    "authorizationUrl": "https://login.bench.example.com/authorize",
                    "tokenUrl": "https://login.bench.example.com/token",
                    "scopes": scopes}}},
                "token": {"type": "http", "scheme": "bearer"}
            },
            "parameters": {"tenant": {"name": "X-Tenant", "in": "header", "required": true,
                                      "schema": {"type": "string"}}},
            "schemas": schemas
        }
    });
    let written = std::cell::Cell::new(0usize);
    let put = |w: &mut std::io::BufWriter<std::fs::File>, s: &str| -> Result<(), String> {
        written.set(written.get() + s.len());
        w.write_all(s.as_bytes()).map_err(|e| e.to_string())
    };
    match format {
        Format::Yaml => {
            let h = serde_yaml::to_string(&head).map_err(|e| e.to_string())?;
            put(&mut w, &h)?;
            put(&mut w, "paths:\n")?;
        }
        Format::Json => {
            let h = serde_json::to_string(&head).map_err(|e| e.to_string())?;
            put(&mut w, &h[..h.len() - 1])?;
            put(&mut w, ",\"paths\":{")?;
        }
    }
    let mut i = 0;
    loop {
        let (name, item) = path_item(i);
        match format {
            Format::Yaml => {
                let y = serde_yaml::to_string(&json!({ name: item })).map_err(|e| e.to_string())?;
                let mut indented = String::with_capacity(y.len() + y.len() / 8);
                for line in y.lines() {
                    indented.push_str("  ");
                    indented.push_str(line);
                    indented.push('\n');
                }
                put(&mut w, &indented)?;
            }
            Format::Json => {
                if i > 0 {
                    put(&mut w, ",")?;
                }
                let j = serde_json::to_string(&json!({ name: item })).map_err(|e| e.to_string())?;
                put(&mut w, &j[1..j.len() - 1])?;
            }
        }
        i += 1;
        if written.get() >= target {
            break;
        }
    }
    if let Format::Json = format {
        put(&mut w, "}}")?;
    }
    w.flush().map_err(|e| e.to_string())?;
    Ok(written.get() as u64)
}

/// A nested object schema.
fn model(i: usize, depth: usize) -> Value {
    let mut props = serde_json::Map::new();
    for p in 0..6 {
        let v = if depth > 0 && p % 3 == 0 {
            model(i + p, depth - 1)
        } else {
            json!({"type": "string", "description": format!("Field {p} of model {i}."),
                   "example": format!("value-{i}-{p}")})
        };
        props.insert(format!("field_{p}"), v);
    }
    json!({"type": "object", "required": ["field_0"], "properties": props})
}

fn path_item(i: usize) -> (String, Value) {
    let op = |verb: &str| {
        json!({
            "operationId": format!("{verb}Resource{i}"),
            "summary": format!("{verb} resource {i}"),
            "security": [{"oauth": [format!("resource{}:read", i % 50)]}, {"token": []}],
            "parameters": [
                {"$ref": "#/components/parameters/tenant"},
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
            ],
            "requestBody": {"content": {"application/json": {"schema": model(i, 2)}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": format!("#/components/schemas/Model{}", i % 20)},
                    "example": {"id": format!("r{i}"), "name": "example", "tags": ["a", "b"]}}}},
                "404": {"description": "Not found"}
            }
        })
    };
    (
        format!("/resources{}/{{id}}", i),
        json!({"get": op("get"), "post": op("post")}),
    )
}

/// One skconn run: wall, CPU, peak memory.
struct Measure {
    wall: f64,
    cpu: f64,
    peak_mib: f64,
}

fn measure(
    doc: &Path,
    extra: &[&str],
    reps: usize,
    expect: Expect,
) -> Result<Vec<Measure>, String> {
    let mut out = Vec::new();
    for _ in 0..reps {
        let mut args = vec![
            "new".to_string(),
            "--from-openapi".into(),
            doc.display().to_string(),
            "--stdout".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let started = Instant::now();
        let child = Command::new(SKCONN)
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run skconn: {e}"))?;
        let pid = child.id();
        // Read the output on threads so that a full pipe never blocks the child.
        let mut so = child.stdout.ok_or("no stdout")?;
        let mut se = child.stderr.ok_or("no stderr")?;
        let t1 = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut so, &mut s);
            s
        });
        let t2 = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut se, &mut s);
            s
        });
        let (code, common::Usage { cpu, peak_kib }) = wait4(pid)?;
        let wall = started.elapsed().as_secs_f64();
        let stdout = t1.join().unwrap_or_default();
        let stderr = t2.join().unwrap_or_default();
        let ok = match expect {
            Expect::Derived(ty) => code == Some(0) && stdout.contains(&format!("type: {ty}")),
            Expect::Refused(why) => code == Some(1) && stderr.contains(why),
        };
        if !ok {
            return Err(format!(
                "skconn {} exited with {code:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                args.join(" ")
            ));
        }
        out.push(Measure {
            wall,
            cpu,
            peak_mib: peak_kib as f64 / 1024.0,
        });
    }
    Ok(out)
}

fn table(full: bool, reps: usize, rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "skconn authoring benchmark ({}): skconn new --from-openapi, median of {reps} run(s)\n",
        if full { "full run" } else { "smoke run" }
    );
    let _ = writeln!(
        t,
        "{:<33} {:>9}  {:>8}  {:>8}  {:>10}  target",
        "document", "size", "wall", "CPU", "peak"
    );
    let _ = writeln!(t, "{}", "-".repeat(110));
    for r in rows {
        let wall = median(&r.runs.iter().map(|x| x.wall).collect::<Vec<_>>());
        let cpu = median(&r.runs.iter().map(|x| x.cpu).collect::<Vec<_>>());
        let peak = median(&r.runs.iter().map(|x| x.peak_mib).collect::<Vec<_>>());
        let met = |ok: bool| if ok { "met" } else { "MISSED" };
        let at_size = full && r.size >= 9 * 1024 * 1024;
        let target = match r.target {
            Target::Generated if at_size => {
                format!("≤ 1.5 s, ≤ 256 MiB: {}", met(wall <= 1.5 && peak <= 256.0))
            }
            Target::Hostile if at_size => {
                format!("≤ 2 s CPU, ≤ 512 MiB: {}", met(cpu <= 2.0 && peak <= 512.0))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            t,
            "{:<33} {:>6.1} MB  {:>6.3} s  {:>6.3} s  {:>6.1} MiB  {target}",
            r.name,
            r.size as f64 / 1e6,
            wall,
            cpu,
            peak
        );
    }
    t
}
