//! The reconcile benchmark: how close `skconn apply` and `skconn plan` come to the round-trip
//! limit of a latency-bound API, how far ahead of the sequential curl flow they are, and what a
//! large plan costs in CPU and memory.
//!
//! `cargo bench --bench reconcile` runs the full benchmark: the real `skconn` binary (built by
//! cargo in the same profile as this file, release for `cargo bench`) against the emulator with
//! an injected per-request latency. It prints one table of medians and ratios; see
//! BENCHMARKS.md for what each line measures and the latest figures.
//!
//! `cargo test` runs this file too, without `--bench`: a smoke run (10 connectors, 1 ms latency,
//! one repetition) that checks every step works and asserts nothing about time, so that the
//! benchmark cannot rot unnoticed.
//!
//! Settings for the full run, all optional:
//! - `SKCONN_BENCH_LATENCY_MS` — latency the emulator adds to every request (default 20);
//! - `SKCONN_BENCH_SIZES` — numbers of connectors, comma-separated (default `10,200,2000`); the
//!   CPU and memory lines use the largest;
//! - `SKCONN_BENCH_REPS` — repetitions of every measurement, the median is reported (default 5);
//! - `SKCONN_BENCH_PAGE_SIZE` — the emulator's largest list page (default 100);
//! - `SKCONN_BENCH_PARALLELISM` — passed to `apply --parallelism` and used in the limit
//!   (default: not passed; skconn's default, 8).
//!
//! Step (5), hostile scale, uses fixed sizes: a 1 MiB file of duplicate keys, 10,000 connector
//! files (validate, converged plan), 4,000 creates to the local environment.

mod common;

use common::{median, wait4};
use serde_json::Value;
use skconn::emulator::{Config, Emulator};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test, built by cargo for this benchmark in the same profile.
const SKCONN: &str = env!("CARGO_BIN_EXE_skconn");

/// skconn's default number of writes in flight (`--parallelism`), which the limit formula
/// uses. Unless `SKCONN_BENCH_PARALLELISM` is set the benchmark does not pass `--parallelism`,
/// so a change of skconn's default shows here as a ratio that no longer fits.
const DEFAULT_PARALLELISM: u32 = 8;

const CREATE_PATH: &str = "/api/v1/custom-providers";
const LIST_PATH: &str = "/api/v1/providers";

/// The first argument that makes this executable a launcher (see [`launch`]).
const LAUNCH: &str = "--launch-and-measure";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(LAUNCH) {
        std::process::exit(launch(&args[2..]));
    }
    let opts = Options::from_args_and_env();
    if let Err(e) = run(&opts) {
        eprintln!("reconcile benchmark failed: {e}");
        std::process::exit(1);
    }
}

struct Options {
    /// `cargo bench` (the full run) rather than the smoke run of `cargo test`.
    full: bool,
    latency: Duration,
    sizes: Vec<usize>,
    reps: usize,
    page_size: usize,
    /// Writes in flight during apply: skconn's default, or the value passed as `--parallelism`.
    parallelism: u32,
    pass_parallelism: bool,
}

impl Options {
    fn from_args_and_env() -> Options {
        let full = std::env::args().skip(1).any(|a| a == "--bench");
        if !full {
            // The smoke run ignores the settings: a stray variable must not slow down CI.
            return Options {
                full,
                latency: Duration::from_millis(1),
                sizes: vec![10],
                reps: 1,
                page_size: 4,
                parallelism: DEFAULT_PARALLELISM,
                pass_parallelism: false,
            };
        }
        let number = |name: &str, default: u64| -> u64 {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().unwrap_or_else(|_| {
                    eprintln!("{name}={v:?} is not a whole number; using {default}");
                    default
                }),
                Err(_) => default,
            }
        };
        let sizes = match std::env::var("SKCONN_BENCH_SIZES") {
            Ok(v) => v
                .split(',')
                .filter_map(|s| s.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
                .collect(),
            Err(_) => vec![10, 200, 2000],
        };
        Options {
            full,
            latency: Duration::from_millis(number("SKCONN_BENCH_LATENCY_MS", 20)),
            sizes: if sizes.is_empty() {
                vec![10, 200, 2000]
            } else {
                sizes
            },
            reps: number("SKCONN_BENCH_REPS", 5).max(1) as usize,
            page_size: number("SKCONN_BENCH_PAGE_SIZE", 100).max(1) as usize,
            parallelism: number("SKCONN_BENCH_PARALLELISM", u64::from(DEFAULT_PARALLELISM))
                .clamp(1, 1024) as u32,
            pass_parallelism: std::env::var_os("SKCONN_BENCH_PARALLELISM").is_some(),
        }
    }

    fn emulator(&self, latency: Duration) -> Result<Emulator, String> {
        Emulator::spawn(Config {
            max_page_size: self.page_size,
            latency,
            client_secret: format!("bench-secret-{:016x}", fastrand::u64(..)),
            ..Config::default()
        })
        .map_err(|e| format!("the emulator did not start: {e}"))
    }

    /// List pages needed for `n` connectors (an empty list is one page).
    fn pages(&self, n: usize) -> u32 {
        n.div_ceil(self.page_size).max(1) as u32
    }
}

fn run(opts: &Options) -> Result<(), String> {
    let mut table = Table::default();
    for &n in &opts.sizes {
        measure_latency_bound(opts, n, &mut table)?;
    }
    let largest = *opts.sizes.iter().max().expect("at least one size");
    measure_cpu_bound(opts, largest, &mut table)?;
    measure_scale(opts, &mut table)?;
    print!("{}", table.render(opts));
    Ok(())
}

/// Steps (1), (2) and (3) for `n` connectors, with the emulator's latency.
fn measure_latency_bound(opts: &Options, n: usize, table: &mut Table) -> Result<(), String> {
    let repo = Repo::generate(n)?;
    let l = opts.latency.as_secs_f64();
    let pages = opts.pages(n);

    // (1) apply of n creates into an empty environment, a new environment every repetition.
    let parallelism = opts.parallelism.to_string();
    let mut apply_args = vec!["apply", "--auto-approve"];
    if opts.pass_parallelism {
        apply_args.extend(["--parallelism", &parallelism]);
    }
    let mut apply_walls = Vec::new();
    let mut apply_requests = 0;
    let mut bodies: Vec<Value> = Vec::new();
    let mut converged: Option<Emulator> = None;
    for _ in 0..opts.reps {
        let emu = opts.emulator(opts.latency)?;
        let run = repo.skconn(&emu, &apply_args)?;
        run.expect_code(0, "apply")?;
        let held = emu.connectors().len();
        if held != n {
            return Err(format!(
                "apply of {n} creates left {held} connectors\n{}",
                run.output()
            ));
        }
        let requests = emu.requests();
        apply_requests = requests.len();
        if bodies.is_empty() {
            bodies = requests
                .into_iter()
                .filter(|r| r.method == "POST" && r.path == CREATE_PATH)
                .filter_map(|r| r.body)
                .collect();
            if bodies.len() != n {
                return Err(format!("apply sent {} creates for {n} files", bodies.len()));
            }
        }
        apply_walls.push(run.wall);
        converged = Some(emu);
    }
    let apply = median(&apply_walls);
    let limit = n as f64 * l / f64::from(opts.parallelism) + 3.0 * l;
    table.row(Row {
        step: "(1) apply, N creates",
        n,
        value: secs(apply),
        spread: spread_secs(&apply_walls),
        requests: Some(apply_requests),
        reference: format!("limit {}", secs(limit)),
        ratio: Some(apply / limit),
        target: (n == 200).then(|| Target {
            text: "≤ 2×limit + 0.1 s".into(),
            met: apply <= 2.0 * limit + 0.1,
        }),
    });

    // (2) a converged plan of n: the environment the last apply left.
    let emu = converged.expect("at least one repetition");
    let mut plan_walls = Vec::new();
    let mut plan_requests = 0;
    for _ in 0..opts.reps {
        emu.clear_requests();
        let run = repo.skconn(&emu, &["plan", "--detailed-exitcode"])?;
        run.expect_code(0, "a converged plan (0: no changes)")?;
        plan_requests = emu.requests().len();
        plan_walls.push(run.wall);
    }
    drop(emu);
    let plan = median(&plan_walls);
    let round_trips = f64::from(1 + pages) * l;
    table.row(Row {
        step: "(2) plan, converged",
        n,
        value: secs(plan),
        spread: spread_secs(&plan_walls),
        requests: Some(plan_requests),
        reference: format!("(1+{pages})·L {}", secs(round_trips)),
        ratio: Some(plan / round_trips),
        target: (n == 200).then(|| Target {
            text: "≤ 2×(1+pages)·L + 0.15 s".into(),
            met: plan <= 2.0 * round_trips + 0.15,
        }),
    });

    // (3) the same creates, one request at a time, as the documented curl flow sends them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no tokio runtime: {e}"))?;
    let mut seq_walls = Vec::new();
    let mut seq_requests = 0;
    for _ in 0..opts.reps {
        let emu = opts.emulator(opts.latency)?;
        let wall = runtime.block_on(sequential_flow(&emu, &bodies))?;
        let held = emu.connectors().len();
        if held != n {
            return Err(format!(
                "the sequential flow left {held} connectors, not {n}"
            ));
        }
        seq_requests = emu.requests().len();
        seq_walls.push(wall.as_secs_f64());
    }
    let seq = median(&seq_walls);
    table.note_round_trip(seq_requests, seq);
    table.row(Row {
        step: "(3) sequential flow, N creates",
        n,
        value: secs(seq),
        spread: spread_secs(&seq_walls),
        requests: Some(seq_requests),
        reference: format!("(1) {}", secs(apply)),
        ratio: Some(seq / apply),
        target: (n == 200).then(|| Target {
            text: "≥ 8× (1)".into(),
            met: seq / apply >= 8.0,
        }),
    });
    Ok(())
}

/// Step (4): CPU time and peak memory of skconn for a converged plan, a snapshot, a plan
/// against that snapshot (no credentials) and a validate of `n` connectors, with no latency.
fn measure_cpu_bound(opts: &Options, n: usize, table: &mut Table) -> Result<(), String> {
    let repo = Repo::generate(n)?;
    let emu = opts.emulator(Duration::ZERO)?;
    repo.skconn(&emu, &["apply", "--auto-approve"])?
        .expect_code(0, "apply (setting up the converged environment)")?;
    let mut plan_runs = Vec::new();
    let mut validate_runs = Vec::new();
    let mut snapshot_runs = Vec::new();
    let mut against_runs = Vec::new();
    let snapshot_file = repo.dir.path().join("bench.snapshot.json");
    let snapshot_arg = snapshot_file.display().to_string();
    for _ in 0..opts.reps {
        let run = repo.skconn(&emu, &["plan", "--detailed-exitcode"])?;
        run.expect_code(0, "a converged plan without latency")?;
        plan_runs.push(run);
        let run = repo.skconn(&emu, &["validate"])?;
        run.expect_code(0, "validate")?;
        if !run.stdout.contains(&format!("{n} connector file")) {
            return Err(format!(
                "validate did not count {n} files\n{}",
                run.output()
            ));
        }
        validate_runs.push(run);
        let run = repo.skconn(&emu, &["snapshot", "--out", &snapshot_arg])?;
        run.expect_code(0, "a snapshot without latency")?;
        snapshot_runs.push(run);
        // No credentials in the process: only the URL, to check the snapshot's host.
        let run = repo.run(
            &emu,
            &["plan", "--detailed-exitcode", "--against", &snapshot_arg],
            false,
        )?;
        run.expect_code(0, "a converged plan against the snapshot")?;
        against_runs.push(run);
    }
    let large = n == 2000;
    let cpu = |runs: &[ChildRun]| runs.iter().map(|r| r.cpu).collect::<Vec<_>>();
    let mib = |runs: &[ChildRun]| runs.iter().map(|r| r.peak_mib).collect::<Vec<_>>();
    let wall = |runs: &[ChildRun]| runs.iter().map(|r| r.wall).collect::<Vec<_>>();

    let plan_cpu = cpu(&plan_runs);
    table.row(Row {
        step: "(4) plan, converged, no latency: CPU",
        n,
        value: secs(median(&plan_cpu)),
        spread: spread_secs(&plan_cpu),
        requests: None,
        reference: format!("wall {}", secs(median(&wall(&plan_runs)))),
        ratio: None,
        target: large.then(|| Target {
            text: "≤ 0.5 s CPU".into(),
            met: median(&plan_cpu) <= 0.5,
        }),
    });
    let plan_mib = mib(&plan_runs);
    table.row(Row {
        step: "(4) plan, converged, no latency: peak",
        n,
        value: format!("{:.1} MiB", median(&plan_mib)),
        spread: spread(&plan_mib, |v| format!("{v:.1}")),
        requests: None,
        reference: String::new(),
        ratio: None,
        target: large.then(|| Target {
            text: "≤ 64 MiB".into(),
            met: median(&plan_mib) <= 64.0,
        }),
    });
    for (step, runs) in [
        ("(4) snapshot, no latency: CPU", &snapshot_runs),
        ("(4) plan --against, converged: CPU", &against_runs),
    ] {
        let c = cpu(runs);
        table.row(Row {
            step,
            n,
            value: secs(median(&c)),
            spread: spread_secs(&c),
            requests: None,
            reference: format!(
                "wall {}, peak {:.1} MiB",
                secs(median(&wall(runs))),
                median(&mib(runs))
            ),
            ratio: None,
            target: large.then(|| Target {
                text: "≤ 0.5 s CPU".into(),
                met: median(&c) <= 0.5,
            }),
        });
    }
    let validate_wall = wall(&validate_runs);
    table.row(Row {
        step: "(4) validate: wall",
        n,
        value: secs(median(&validate_wall)),
        spread: spread_secs(&validate_wall),
        requests: None,
        reference: format!(
            "CPU {}, peak {:.1} MiB",
            secs(median(&cpu(&validate_runs))),
            median(&mib(&validate_runs))
        ),
        ratio: None,
        target: large.then(|| Target {
            text: "≤ 0.3 s wall".into(),
            met: median(&validate_wall) <= 0.3,
        }),
    });
    Ok(())
}

/// Step (5): hostile scale, no latency. The full run uses the sizes of the targets; the smoke
/// run small ones.
fn measure_scale(opts: &Options, table: &mut Table) -> Result<(), String> {
    let (hostile_bytes, files, local_creates) = if opts.full {
        (1024 * 1024 - 64, 10_000, 4_000)
    } else {
        (64 * 1024, 20, 20)
    };
    let reps = if opts.full { opts.reps.min(3) } else { 1 };
    let emu = opts.emulator(Duration::ZERO)?;
    let cpu = |runs: &[ChildRun]| runs.iter().map(|r| r.cpu).collect::<Vec<_>>();
    let mib = |runs: &[ChildRun]| runs.iter().map(|r| r.peak_mib).collect::<Vec<_>>();
    let wall = |runs: &[ChildRun]| runs.iter().map(|r| r.wall).collect::<Vec<_>>();

    // (5a) validate of one hostile file: duplicate keys up to the size limit.
    let repo = Repo::generate(0)?;
    let mut text = String::from(
        "display_name: Hostile\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: BEARER\n",
    );
    let mut i = 0;
    while text.len() + 40 < hostile_bytes {
        let _ = write!(text, "k{i}: 1\nk{i}: 2\n");
        i += 1;
    }
    std::fs::write(repo.dir.path().join("connectors/hostile.yaml"), &text)
        .map_err(|e| format!("hostile.yaml: {e}"))?;
    let mut runs = Vec::new();
    for _ in 0..reps {
        let run = repo.skconn(&emu, &["validate"])?;
        run.expect_code(1, "validate of a hostile file")?;
        if !run.stderr.contains("more problem(s) in this file") {
            return Err(format!(
                "validate did not cap its diagnostics\n{}",
                run.output()
            ));
        }
        runs.push(run);
    }
    let w = wall(&runs);
    table.row(Row {
        step: "(5) validate, 1 hostile file: wall",
        n: text.len(),
        value: secs(median(&w)),
        spread: spread_secs(&w),
        requests: None,
        reference: format!(
            "CPU {}, peak {:.1} MiB",
            secs(median(&cpu(&runs))),
            median(&mib(&runs))
        ),
        ratio: None,
        target: Some(Target {
            text: "≤ 0.5 s, ≤ 64 MiB".into(),
            met: median(&w) <= 0.5 && median(&mib(&runs)) <= 64.0,
        }),
    });

    // (5b) validate of many files, and (5c) the converged plan of as many.
    let repo = Repo::generate(files)?;
    let mut runs = Vec::new();
    for _ in 0..reps {
        let run = repo.skconn(&emu, &["validate"])?;
        run.expect_code(0, "validate")?;
        runs.push(run);
    }
    let w = wall(&runs);
    table.row(Row {
        step: "(5) validate, many files: wall",
        n: files,
        value: secs(median(&w)),
        spread: spread_secs(&w),
        requests: None,
        reference: format!(
            "CPU {}, peak {:.1} MiB",
            secs(median(&cpu(&runs))),
            median(&mib(&runs))
        ),
        ratio: None,
        target: Some(Target {
            text: "≤ 1 s, ≤ 128 MiB".into(),
            met: median(&w) <= 1.0 && median(&mib(&runs)) <= 128.0,
        }),
    });
    repo.skconn(&emu, &["apply", "--auto-approve", "--parallelism", "32"])?
        .expect_code(0, "apply (setting up the converged environment)")?;
    let mut runs = Vec::new();
    for _ in 0..reps {
        let run = repo.skconn(&emu, &["plan", "--detailed-exitcode"])?;
        run.expect_code(0, "a converged plan")?;
        runs.push(run);
    }
    let c = cpu(&runs);
    table.row(Row {
        step: "(5) plan, converged, many: CPU",
        n: files,
        value: secs(median(&c)),
        spread: spread_secs(&c),
        requests: None,
        reference: format!(
            "wall {}, peak {:.1} MiB",
            secs(median(&wall(&runs))),
            median(&mib(&runs))
        ),
        ratio: None,
        target: Some(Target {
            text: "≤ 1.5 s CPU, ≤ 192 MiB".into(),
            met: median(&c) <= 1.5 && median(&mib(&runs)) <= 192.0,
        }),
    });
    drop(repo);

    // (5d) apply of many creates to the local environment (its state file).
    let mut runs = Vec::new();
    for _ in 0..reps {
        let repo = Repo::generate(local_creates)?;
        std::fs::write(
            repo.dir.path().join("skconn.yaml"),
            "environments:\n  local:\n    url: local\n    prune: managed\n",
        )
        .map_err(|e| format!("skconn.yaml: {e}"))?;
        let run = repo.skconn(&emu, &["apply", "--auto-approve"])?;
        run.expect_code(0, "apply to the local environment")?;
        let state = std::fs::read_to_string(repo.dir.path().join(".skconn/local.json"))
            .map_err(|e| format!("the local state file: {e}"))?;
        let held = serde_json::from_str::<Value>(&state)
            .map_err(|e| format!("the local state file: {e}"))?["connectors"]
            .as_array()
            .map_or(0, Vec::len);
        if held != local_creates {
            return Err(format!(
                "the local environment holds {held}, not {local_creates}"
            ));
        }
        runs.push(run);
    }
    let w = wall(&runs);
    table.row(Row {
        step: "(5) apply to local, N creates: wall",
        n: local_creates,
        value: secs(median(&w)),
        spread: spread_secs(&w),
        requests: None,
        reference: format!(
            "CPU {}, peak {:.1} MiB",
            secs(median(&cpu(&runs))),
            median(&mib(&runs))
        ),
        ratio: None,
        target: Some(Target {
            text: "≤ 10 s".into(),
            met: median(&w) <= 10.0,
        }),
    });
    Ok(())
}

/// The documented curl flow, with one HTTP client for the whole run: a token, the list (every
/// page), then one create after another, each waiting for the previous answer. Like separate
/// curl invocations, it keeps no connection between requests. The bodies are the ones skconn
/// sent, so both sides write exactly the same objects.
async fn sequential_flow(emu: &Emulator, bodies: &[Value]) -> Result<Duration, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let base = emu.url();
    let started = Instant::now();

    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", emu.client_id())
        .append_pair("client_secret", emu.client_secret())
        .finish();
    let answer: Value = checked(
        http.post(format!("{base}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await,
        "token",
    )
    .await?;
    let token = answer["access_token"]
        .as_str()
        .ok_or("the token answer holds no access_token")?
        .to_string();

    // The list tells a script which connectors exist already; in an empty environment none.
    let mut existing = std::collections::HashSet::new();
    let mut page_token = String::new();
    loop {
        let mut url = format!("{base}{LIST_PATH}?filter.provider_type=CUSTOM&page_size=1000");
        if !page_token.is_empty() {
            url.push_str("&page_token=");
            url.extend(url::form_urlencoded::byte_serialize(page_token.as_bytes()));
        }
        let page: Value = checked(http.get(url).bearer_auth(&token).send().await, "list").await?;
        for p in page["providers"].as_array().into_iter().flatten() {
            if let Some(name) = p["display_name"].as_str() {
                existing.insert(name.to_string());
            }
        }
        match page["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => page_token = t.to_string(),
            _ => break,
        }
    }

    for body in bodies {
        if body["display_name"]
            .as_str()
            .is_some_and(|name| existing.contains(name))
        {
            continue;
        }
        checked(
            http.post(format!("{base}{CREATE_PATH}"))
                .bearer_auth(&token)
                .json(body)
                .send()
                .await,
            "create",
        )
        .await?;
    }
    Ok(started.elapsed())
}

/// The JSON of a successful answer; anything else is an error naming the request.
async fn checked(
    sent: Result<reqwest::Response, reqwest::Error>,
    what: &str,
) -> Result<Value, String> {
    let resp = sent.map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("{what}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{what}: HTTP {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{what}: the answer is not JSON: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The repository under test and the skconn process

/// A temporary repository: `n` connector files made from the examples, and a skconn.yaml with
/// one environment whose URL and credentials come from variables, so one repository serves
/// every emulator.
struct Repo {
    dir: tempfile::TempDir,
    /// Where the child's output goes (files: a pipe could fill up and stall the child before
    /// it is waited for).
    out: tempfile::TempDir,
}

impl Repo {
    fn generate(n: usize) -> Result<Repo, String> {
        let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
        let mut templates: Vec<(String, String)> = Vec::new();
        for entry in std::fs::read_dir(&examples).map_err(|e| io("the example connectors", e))? {
            let path = entry.map_err(|e| io("the example connectors", e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("connector")
                .to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| io("an example", e))?;
            templates.push((stem, text));
        }
        templates.sort();
        if templates.is_empty() {
            return Err(format!("no example connectors in {}", examples.display()));
        }

        let dir = tempfile::tempdir().map_err(|e| io("a temporary directory", e))?;
        let connectors = dir.path().join("connectors");
        std::fs::create_dir(&connectors).map_err(|e| io("connectors/", e))?;
        for i in 0..n {
            let (stem, text) = &templates[i % templates.len()];
            std::fs::write(
                connectors.join(format!("{stem}-{i:04}.yaml")),
                variant(text, i),
            )
            .map_err(|e| io("a connector file", e))?;
        }
        std::fs::write(
            dir.path().join("skconn.yaml"),
            "environments:\n  bench:\n    url: ${BENCH_URL}\n    client_id: ${BENCH_CLIENT_ID}\n    \
             client_secret: ${BENCH_CLIENT_SECRET}\n    prune: managed\n",
        )
        .map_err(|e| io("skconn.yaml", e))?;
        let out = tempfile::tempdir().map_err(|e| io("a temporary directory", e))?;
        Ok(Repo { dir, out })
    }

    /// Runs the real binary in the repository against `emu`, with a clean environment, and
    /// measures it (through [`launch`]).
    fn skconn(&self, emu: &Emulator, args: &[&str]) -> Result<ChildRun, String> {
        self.run(emu, args, true)
    }

    /// Like [`Repo::skconn`]; without `credentials`, only the environment's URL is set.
    fn run(&self, emu: &Emulator, args: &[&str], credentials: bool) -> Result<ChildRun, String> {
        let stdout_path = self.out.path().join("stdout");
        let stderr_path = self.out.path().join("stderr");
        let usage_path = self.out.path().join("usage");
        let create =
            |p: &PathBuf| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let me = std::env::current_exe().map_err(|e| format!("cannot find this benchmark: {e}"))?;
        let mut cmd = Command::new(me);
        cmd.arg(LAUNCH)
            .arg(&usage_path)
            .arg(SKCONN)
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("BENCH_URL", emu.url())
            .stdin(Stdio::null())
            .stdout(create(&stdout_path)?)
            .stderr(create(&stderr_path)?);
        if credentials {
            cmd.env("BENCH_CLIENT_ID", emu.client_id())
                .env("BENCH_CLIENT_SECRET", emu.client_secret());
        }
        for keep in ["PATH", "HOME", "TMPDIR"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run the launcher: {e}"))?;
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let usage = read(&usage_path);
        let stdout = read(&stdout_path);
        let stderr = read(&stderr_path);
        let fields: Vec<&str> = usage.split_whitespace().collect();
        let [code, wall, cpu, peak_kib] = fields[..] else {
            return Err(format!(
                "the launcher ({status}) measured nothing: {usage:?}\n--- stderr\n{stderr}"
            ));
        };
        let number = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| format!("bad usage line {usage:?}"))
        };
        Ok(ChildRun {
            args: args.join(" "),
            code: code.parse().ok(),
            wall: number(wall)?,
            cpu: number(cpu)?,
            peak_mib: number(peak_kib)? / 1024.0,
            stdout,
            stderr,
        })
    }
}

/// The launcher: runs `skconn ARGS` (the rest of `args` after the usage file) with this
/// process's environment and standard streams, and writes `CODE WALL_S CPU_S PEAK_KIB` to the
/// usage file. Returns the launcher's own exit code.
///
/// Why a separate process: Linux's peak-memory figure (`ru_maxrss`) of a process includes the
/// memory of the process it was forked from as it stood at the fork (exec keeps the higher
/// mark). Forked straight from the benchmark, which holds the emulators and every recorded
/// request, skconn would show the benchmark's size instead of its own. This launcher is
/// freshly exec'd and small, so what it passes on is negligible.
fn launch(args: &[String]) -> i32 {
    let [usage_file, program, rest @ ..] = args else {
        eprintln!("usage: {LAUNCH} USAGE_FILE PROGRAM [ARGS…]");
        return 2;
    };
    let started = Instant::now();
    let child = match Command::new(program).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot run {program}: {e}");
            return 2;
        }
    };
    let (code, usage) = match wait4(child.id()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let wall = started.elapsed().as_secs_f64();
    // -1 stands for "ended by a signal"; the benchmark reads it as no exit code.
    let line = format!(
        "{} {wall} {} {}\n",
        code.unwrap_or(-1),
        usage.cpu,
        usage.peak_kib
    );
    match std::fs::write(usage_file, line) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{usage_file}: {e}");
            2
        }
    }
}

/// One example connector made into connector number `i`: its display name (and any previous
/// name, which must stay unique too) suffixed with the number, everything else as written.
fn variant(template: &str, i: usize) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    // The indentation of `previous_names:` while inside its block list.
    let mut previous_names: Option<usize> = None;
    for line in template.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if let Some(key_indent) = previous_names {
            if !trimmed.is_empty() && (indent <= key_indent && !trimmed.starts_with("- ")) {
                previous_names = None;
            }
        }
        if let Some(name) = line.strip_prefix("display_name:") {
            let name = name.split(" #").next().unwrap_or_default().trim();
            let _ = writeln!(out, "display_name: Bench {name} {i:04}");
        } else if trimmed == "previous_names:" {
            previous_names = Some(indent);
            out.push_str(line);
            out.push('\n');
        } else if let (Some(_), Some(name)) = (previous_names, trimmed.strip_prefix("- ")) {
            let _ = writeln!(out, "{}- Bench {name} {i:04}", &line[..indent]);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// What one skconn process did and cost.
struct ChildRun {
    args: String,
    /// The exit code; `Some(-1)` or `None` when a signal ended the process.
    code: Option<i32>,
    /// Seconds from spawn to exit.
    wall: f64,
    /// User plus system CPU seconds of the process.
    cpu: f64,
    /// Peak resident memory.
    peak_mib: f64,
    stdout: String,
    stderr: String,
}

impl ChildRun {
    fn expect_code(&self, code: i32, what: &str) -> Result<(), String> {
        if self.code == Some(code) {
            return Ok(());
        }
        Err(format!(
            "{what}: `skconn {}` exited with {:?}, not {code}\n{}",
            self.args,
            self.code,
            self.output()
        ))
    }

    fn output(&self) -> String {
        let cut = |s: &str| {
            let s = s.trim_end();
            if s.len() > 4000 {
                let mut at = s.len() - 4000;
                while !s.is_char_boundary(at) {
                    at += 1;
                }
                format!("…{}", &s[at..])
            } else {
                s.to_string()
            }
        };
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The table

struct Target {
    text: String,
    met: bool,
}

struct Row {
    step: &'static str,
    n: usize,
    value: String,
    spread: String,
    requests: Option<usize>,
    reference: String,
    ratio: Option<f64>,
    target: Option<Target>,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
    /// The longest sequential flow: (requests, seconds). One request after another, it shows
    /// what a round trip really costs: L plus the emulator's timer overshoot and the HTTP work.
    round_trip: Option<(usize, f64)>,
}

impl Table {
    fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    fn note_round_trip(&mut self, requests: usize, seconds: f64) {
        if requests > 0 && self.round_trip.is_none_or(|(r, _)| requests > r) {
            self.round_trip = Some((requests, seconds));
        }
    }

    fn render(&self, opts: &Options) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nskconn reconcile benchmark ({}): latency L = {} ms per request, parallelism P = {}, \
             emulator page size {}, median of {} run(s)",
            if opts.full { "full run" } else { "smoke run, times not checked" },
            opts.latency.as_millis(),
            opts.parallelism,
            opts.page_size,
            opts.reps,
        );
        let _ = writeln!(
            out,
            "limit = N·L/P + 3·L; pages = ceil(N / page size); (3)'s ratio is how many times faster (1) is\n"
        );
        let header = [
            "step",
            "N",
            "median",
            "min..max",
            "requests",
            "reference",
            "ratio",
            "target",
            "",
        ];
        let mut cells: Vec<[String; 9]> = vec![header.map(str::to_string)];
        for r in &self.rows {
            let (target, verdict) = match &r.target {
                Some(t) if opts.full => (
                    t.text.clone(),
                    if t.met { "met" } else { "MISSED" }.to_string(),
                ),
                _ => (String::new(), String::new()),
            };
            cells.push([
                r.step.to_string(),
                r.n.to_string(),
                r.value.clone(),
                r.spread.clone(),
                r.requests.map(|q| q.to_string()).unwrap_or_default(),
                r.reference.clone(),
                r.ratio.map(|x| format!("{x:.2}")).unwrap_or_default(),
                target,
                verdict,
            ]);
        }
        let mut widths = [0usize; 9];
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for (i, row) in cells.iter().enumerate() {
            let mut line = String::new();
            for (col, (c, w)) in row.iter().zip(widths).enumerate() {
                let pad = w - c.chars().count();
                // Numbers line up on the right, words on the left.
                if matches!(col, 1 | 4 | 6) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if i == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                let _ = writeln!(out, "{}", "-".repeat(total));
            }
        }
        if let Some((requests, seconds)) = self.round_trip {
            let _ = writeln!(
                out,
                "\none request of the sequential flow took {:.2} ms on average ({requests} requests; L = {} ms)",
                seconds * 1000.0 / requests as f64,
                opts.latency.as_millis()
            );
        }
        out
    }
}

fn secs(s: f64) -> String {
    format!("{s:.3} s")
}

fn spread_secs(values: &[f64]) -> String {
    spread(values, |v| format!("{v:.3}"))
}

fn spread(values: &[f64], show: impl Fn(f64) -> String) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}..{}", show(min), show(max))
}
