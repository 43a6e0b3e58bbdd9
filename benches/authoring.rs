//! The authoring benchmark: what `skconn new --from-openapi` costs on a large document.
//!
//! `cargo bench --bench authoring` generates an OpenAPI 3.0 document of about 10 MB (as YAML
//! and as JSON) shaped like the large public descriptions: many paths, each operation with
//! parameters, a request body, responses with nested schemas and examples, its own `security`
//! and a `$ref` to a shared header parameter, plus large `components.schemas`. It runs the real
//! `skconn` binary on each (and on `../shared/openapi/github.yaml`, 9.9 MB, when that folder is
//! there) and prints the median wall time, CPU time and peak resident memory. Targets: ≤ 1.5 s
//! and ≤ 256 MiB for the 10 MB document. See BENCHMARKS.md.
//!
//! `cargo test` runs this file without `--bench`: a 1 MB document, one repetition, checking that
//! the connector is derived; it asserts nothing about time.
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
    let mut rows: Vec<(String, u64, Vec<Measure>)> = Vec::new();
    let args = ["--scheme", "oauth"];
    rows.push((
        "generated document, YAML".into(),
        yaml_bytes,
        measure(&yaml, &args, reps, "OAUTH")?,
    ));
    rows.push((
        "generated document, JSON".into(),
        json_bytes,
        measure(&json, &args, reps, "OAUTH")?,
    ));
    let github = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi/github.yaml");
    if full && github.is_file() {
        let size = std::fs::metadata(&github).map_err(|e| e.to_string())?.len();
        rows.push((
            "shared/openapi/github.yaml".into(),
            size,
            measure(
                &github,
                &["--type", "bearer", "--name", "GitHub"],
                reps,
                "BEARER",
            )?,
        ));
    }
    println!("{}", table(full, reps, &rows));
    Ok(())
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

fn measure(doc: &Path, extra: &[&str], reps: usize, expect: &str) -> Result<Vec<Measure>, String> {
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
        if code != Some(0) || !stdout.contains(&format!("type: {expect}")) {
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

fn table(full: bool, reps: usize, rows: &[(String, u64, Vec<Measure>)]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "skconn authoring benchmark ({}): skconn new --from-openapi, median of {reps} run(s)\n",
        if full { "full run" } else { "smoke run" }
    );
    let _ = writeln!(
        t,
        "{:<30} {:>9}  {:>8}  {:>8}  {:>10}  target",
        "document", "size", "wall", "CPU", "peak"
    );
    let _ = writeln!(t, "{}", "-".repeat(100));
    for (name, size, m) in rows {
        let wall = median(&m.iter().map(|x| x.wall).collect::<Vec<_>>());
        let cpu = median(&m.iter().map(|x| x.cpu).collect::<Vec<_>>());
        let peak = median(&m.iter().map(|x| x.peak_mib).collect::<Vec<_>>());
        let target = if full && *size >= 9 * 1024 * 1024 {
            format!(
                "≤ 1.5 s, ≤ 256 MiB: {}",
                if wall <= 1.5 && peak <= 256.0 {
                    "met"
                } else {
                    "MISSED"
                }
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            t,
            "{:<30} {:>6.1} MB  {:>6.3} s  {:>6.3} s  {:>6.1} MiB  {target}",
            name,
            *size as f64 / 1e6,
            wall,
            cpu,
            peak
        );
    }
    t
}
