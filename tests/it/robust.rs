//! Robust runs, end to end against the emulator: interrupts, CI progress lines, JSON logs, a
//! strict reading of server answers the contract allows, rate-limit sanity, other writers, the
//! local state file under concurrent processes, hostile scale, and per-environment policy.

use crate::support::*;
use serde_json::Value;
use skconn::emulator::Emulator;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

/// Where listings go.
const LIST: &str = "/api/v1/providers";

fn fault(emu: &Emulator, spec: &str) {
    emu.push_fault(spec.parse().expect("a valid fault"));
}

// ---- interrupts and CI records -------------------------------------------------------------

/// Starts `apply` with every create held for a while, waits until it reports its first
/// change on stderr, sends `signal`, and returns what it printed and its exit code.
fn interrupted_apply(signal: i32) -> (Emulator, Repo, Out) {
    interrupted_apply_times(signal, 1)
}

/// [`interrupted_apply`], sending the signal `times` times (each after skconn acknowledged the
/// previous one).
fn interrupted_apply_times(signal: i32, times: usize) -> (Emulator, Repo, Out) {
    let dev = emulator();
    let repo = repo_with(6, &dev, "managed");
    fault(&dev, &format!("latency/400ms:POST:*@{WRITES}"));
    let mut cmd = repo.cmd(["apply", "--auto-approve", "--parallelism", "1"]);
    cmd.0.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.0.spawn().expect("skconn starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "skconn ended before reporting a change:\n{seen}"
        );
        seen.push_str(&line);
        if line.starts_with("dev: [1/6]") {
            break;
        }
    }
    for sent in 1..=times {
        // SAFETY: kill(2) on the child this test started.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        if sent == times {
            break;
        }
        loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "{seen}");
            seen.push_str(&line);
            if line.contains("no further change is started") {
                break;
            }
        }
    }
    stderr.read_to_string(&mut seen).unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let out = Out {
        code: status.code(),
        stdout,
        stderr: seen,
    };
    (dev, repo, out)
}

fn check_interrupted(dev: &Emulator, repo: &Repo, out: &Out, code: i32) {
    out.code(code)
        .stdout_has("Environment dev:")
        .stdout_has("not attempted: skconn was interrupted before it started this change")
        .stderr_has("no further change is started");
    let applied = out.stdout.matches("✓ created").count();
    assert!(applied >= 1, "{out}");
    assert!(applied < 6, "{out}");
    assert!(
        out.stdout.contains(&format!(
            "Applied {applied} change(s), 0 failed, {} not attempted.",
            6 - applied
        )),
        "{out}"
    );
    // What the summary says was applied is exactly what the server holds.
    assert_eq!(dev.connectors().len(), applied, "{out}");
    // The next apply converges.
    dev.clear_faults();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), 6);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn sigint_during_apply_finishes_in_flight_prints_the_summary_and_exits_130() {
    let (dev, repo, out) = interrupted_apply(libc::SIGINT);
    check_interrupted(&dev, &repo, &out, 130);
}

#[test]
fn sigterm_during_apply_exits_143_with_the_summary() {
    let (dev, repo, out) = interrupted_apply(libc::SIGTERM);
    check_interrupted(&dev, &repo, &out, 143);
}

#[test]
fn a_second_sigint_exits_at_once() {
    let (dev, repo, out) = interrupted_apply_times(libc::SIGINT, 2);
    out.code(130)
        .stderr_has("interrupted again: exiting at once");
    // Whatever landed, the next apply converges.
    dev.clear_faults();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), 6);
}

#[test]
fn sigint_during_plan_exits_130_promptly() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    // The listing is held far longer than the test waits for the exit.
    fault(&dev, &format!("latency/60s:GET:*@{LIST}"));
    let mut cmd = repo.cmd(["plan"]);
    cmd.0.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.0.spawn().expect("skconn starts");
    // Synchronise on the server: the listing has arrived, so skconn is waiting for it.
    while !dev
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.path == LIST)
    {
        std::thread::yield_now();
    }
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&o.stderr).contains("interrupted; nothing was applied"));
}

#[test]
fn outside_a_terminal_apply_lists_each_change_as_it_lands() {
    let dev = emulator();
    let repo = repo_with(3, &dev, "managed");
    let out = repo.skconn(["apply", "--auto-approve"]);
    out.code(0);
    for i in 0..3 {
        out.stderr_has(&format!("✓ created \"Conn {i:02}\""));
    }
    for n in 1..=3 {
        out.stderr_has(&format!("dev: [{n}/3] "));
    }
}

#[test]
fn json_logs_are_one_redacted_object_per_line() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    fault(&dev, &format!("503:GET@{LIST}"));
    let out = repo.skconn(["plan", "-v", "--log-format", "json"]);
    out.code(0);
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{out}")))
        .collect();
    let retry = lines
        .iter()
        .find(|l| l["message"] == "request failed; retrying")
        .unwrap_or_else(|| panic!("no retry line\n{out}"));
    assert_eq!(retry["level"], "warn");
    assert_eq!(retry["environment"], "dev");
    assert_eq!(retry["request"]["method"], "GET");
    assert_eq!(retry["request"]["path"], LIST);
    assert_eq!(retry["attempt"], 1);
    assert!(retry["elapsed"].is_number());
    assert!(retry["target"].as_str().unwrap().starts_with("skconn"));
    assert!(!out.all().contains(dev.client_secret()));

    // apply's per-change lines are JSON objects too: nothing else reaches stderr.
    let out = repo.skconn(["apply", "--auto-approve", "--log-format", "json"]);
    out.code(0);
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{out}")))
        .collect();
    let created = lines
        .iter()
        .find(|l| l["message"] == "dev: [1/1] ✓ created \"Conn 00\"")
        .unwrap_or_else(|| panic!("no per-change line\n{out}"));
    assert_eq!(created["environment"], "dev");
    assert_eq!(created["level"], "info");
}

// ---- reading the server strictly -----------------------------------------------------------

#[test]
fn creates_go_through_repeated_503s_within_max_attempts_without_duplicates() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    fault(&dev, &format!("503:POST:4@{WRITES}"));
    repo.skconn(["apply", "--auto-approve", "--max-attempts", "5"])
        .code(0)
        .stdout_has("created on try 5");
    assert_eq!(names(&dev), ["Conn 00"]);

    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    fault(&dev, &format!("503:POST:4@{WRITES}"));
    repo.skconn(["apply", "--auto-approve", "--max-attempts", "3"])
        .code(1)
        .stdout_has("listing after each of 3 tries showed it was not created");
    assert!(dev.connectors().is_empty());
}

#[test]
fn a_truncated_listing_is_read_again() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    fault(&dev, &format!("truncated:GET@{LIST}"));
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stderr_has("reading it again");
    assert_eq!(dev.pending_faults(), 0);
}

#[test]
fn an_update_answered_with_an_empty_object_counts_as_done() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo.edit("connectors/c00.yaml", |t| {
        t.replace("Conn 00 API", "Changed")
    });
    fault(&dev, &format!("empty-answer:PUT@{WRITES}"));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("✓ updated \"Conn 00\"")
        .stdout_has("listing confirmed it");
    assert_eq!(dev.connector("Conn 00").unwrap()["description"], "Changed");
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_camel_case_listing_is_refused_and_nothing_is_written() {
    let dev = emulator();
    let repo = repo_with(3, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo.remove("connectors/c00.yaml");
    dev.clear_requests();
    fault(&dev, &format!("camel-case:GET:*@{LIST}"));
    repo.skconn(["apply", "--auto-approve"])
        .code(1)
        .stderr_has("snake_case")
        .stderr_has("nothing is changed");
    assert_eq!(api_writes(&dev), 0);
    assert_eq!(dev.connectors().len(), 3);
}

#[test]
fn a_non_custom_entry_in_the_listing_is_reported_and_left_alone() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "all");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.clear_requests();
    fault(&dev, &format!("ignore-filter:GET:*@{LIST}"));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("0 to delete")
        .stdout_lacks("- delete")
        .stderr_has("not custom")
        .stderr_has("leaves it alone");
    assert_eq!(api_writes(&dev), 0);
}

#[test]
fn a_rate_limit_reset_in_milliseconds_is_read_as_such() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // A reset 1.5 s from now, in milliseconds: read as seconds it would be 50,000 years.
    fault(&dev, &format!("reset/{}:GET@{LIST}", now_ms + 1500));
    repo.skconn(["plan", "--max-wait", "10"]).code(0);
}

#[test]
fn an_absurd_rate_limit_reset_fails_clearly_instead_of_panicking_or_hanging() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    fault(&dev, &format!("reset/1e20:GET@{LIST}"));
    repo.skconn(["plan"])
        .code(1)
        .stderr_has("more than --max-wait (120.0s)")
        .stderr_lacks("internal error");
}

#[test]
fn a_delete_refused_with_another_4xx_says_it_may_be_in_use() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo.remove("connectors/c00.yaml");
    fault(&dev, &format!("400:DELETE@{WRITES}"));
    repo.skconn(["apply", "--auto-approve"])
        .code(1)
        .stdout_has("\"Conn 00\" may still be in use")
        .stdout_has("Remove its connections and connected accounts");
}

#[test]
fn a_page_size_the_server_refuses_is_retried_smaller_and_page_size_is_configurable() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    fault(&dev, &format!("page-size/100:GET@{LIST}"));
    repo.skconn(["plan"])
        .code(0)
        .stderr_has("refused the page size");
    let sizes: Vec<String> = dev
        .requests()
        .iter()
        .filter(|r| r.path == LIST)
        .map(|r| r.query.clone())
        .collect();
    assert!(sizes[0].contains("page_size=1000"), "{sizes:?}");
    assert!(sizes[1].contains("page_size=100&") || sizes[1].ends_with("page_size=100"));

    let repo = repo.edit("skconn.yaml", |t| {
        t.replace("prune: managed", "prune: managed\n    page_size: 7")
    });
    dev.clear_requests();
    repo.skconn(["plan"]).code(0);
    assert!(dev
        .requests()
        .iter()
        .filter(|r| r.path == LIST)
        .all(|r| r.query.contains("page_size=7")));
}

#[test]
fn a_listing_that_lags_behind_writes_settles() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    // The plan's listing (nothing created yet) and the settle check's first listing lag by an
    // hour; the second is up to date. Counted, not timed, so a busy machine cannot change it.
    fault(&dev, &format!("lag/3600s:GET:2@{LIST}"));
    repo.skconn(["apply", "--auto-approve", "-v"])
        .code(0)
        .stderr_has("reading it again")
        .stderr_lacks("not listed");
    assert_eq!(dev.pending_faults(), 0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_name_the_server_trims_and_collapses_converges() {
    // The server keeps `"Internal  Billing API "` as `"Internal Billing API"`: the second apply
    // used to send the create again and fail on the 409.
    let dev = emulator_with(|c| c.rewrite = skconn::emulator::Rewrite::CollapseNameSpaces);
    let repo = Repo::new().env("dev", &dev, "managed").connector(
        "a.yaml",
        "display_name: \"Internal  Billing API \"\nproxy_url: https://api.billing.acme.test\nauth_patterns:\n  - type: BEARER\n",
    );
    // validate says what the server may do with the name, and still succeeds.
    repo.skconn(["validate"])
        .code(0)
        .stderr_has("warning: connectors/a.yaml:1:15: display_name: display_name `Internal  Billing API ` has a trailing space and doubled spaces")
        .stderr_has("write `display_name: Internal Billing API`");
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Applied 1 change(s), 0 failed");
    assert_eq!(names(&dev), ["Internal Billing API"]);
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Nothing to apply");
    let writes: Vec<_> = dev
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/"))
        .map(|r| (r.method, r.status))
        .collect();
    assert!(writes.is_empty(), "the second apply wrote: {writes:?}");
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_lacks("edited outside skconn");
    // A later change is an update of the same connector, not a rename and not drift.
    let repo = repo.edit("connectors/a.yaml", |t| {
        t.replace("auth_patterns:", "description: Invoices\nauth_patterns:")
    });
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ update \"Internal  Billing API \"")
        .stdout_lacks("renames")
        .stdout_lacks("edited outside skconn");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(names(&dev), ["Internal Billing API"]);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

// ---- concurrent writers --------------------------------------------------------------------

#[test]
fn a_409_from_another_writer_with_other_content_is_a_conflict() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    fault(&dev, &format!("conflict:POST@{WRITES}"));
    let out = repo.skconn(["apply", "--auto-approve"]);
    out.code(4)
        .stdout_has("conflict: another writer created")
        .stdout_lacks("did not keep");
    let conflicted = if out.stdout.contains("✓ created \"Conn 00\"") {
        "Conn 01"
    } else {
        "Conn 00"
    };
    out.stdout_lacks(&format!("✓ created \"{conflicted}\""));
    // The other writer's connector is left as it wrote it.
    assert_eq!(
        dev.connector(conflicted).unwrap()["description"],
        "written by another writer"
    );
}

#[test]
fn a_lost_create_answer_recovered_by_listing_counts_as_created() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    fault(&dev, &format!("lost:POST@{WRITES}"));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("listing found it created");
    assert_eq!(names(&dev), ["Conn 00"]);
}

#[test]
fn two_concurrent_local_applies_end_with_every_connector() {
    let mut repo = Repo::new()
        .file(
            "skconn.yaml",
            "connectors_dir: a\nenvironments:\n  local:\n    url: local\n",
        )
        .file(
            "b.yaml",
            "connectors_dir: b\nenvironments:\n  local:\n    url: local\n",
        );
    for i in 0..25 {
        repo = repo
            .file(&format!("a/a{i:02}.yaml"), bearer(&format!("Alpha {i:02}")))
            .file(&format!("b/b{i:02}.yaml"), bearer(&format!("Beta {i:02}")));
    }
    let spawn = |config: &str| {
        let mut cmd = repo.cmd(["--config", config, "apply", "--auto-approve"]);
        cmd.0.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.0.spawn().expect("skconn starts")
    };
    let (a, b) = (spawn("skconn.yaml"), spawn("b.yaml"));
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path().join(".skconn/local.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["connectors"].as_array().unwrap().len(), 50);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
    repo.skconn(["--config", "b.yaml", "plan", "--detailed-exitcode"])
        .code(0);
}

// ---- hostile scale -------------------------------------------------------------------------

#[test]
fn a_file_of_a_hundred_thousand_duplicate_keys_gives_fifty_diagnostics_and_a_count() {
    let mut text = bearer("Dup");
    let mut i = 0;
    while text.len() < 1_000_000 {
        text.push_str(&format!("k{i}: 1\nk{i}: 2\n"));
        i += 1;
    }
    let repo = Repo::new().connector("dup.yaml", &text);
    let out = repo.skconn(["validate"]);
    // Each key is unknown, and each is written twice: every problem of the file counts, the
    // first fifty (in line order) are shown.
    out.code(1)
        .stderr_has(&format!("and {} more problem(s) in this file", 2 * i - 50))
        .stderr_has("duplicate key `k0`")
        .stderr_has("unknown key `k0`");
    let head: String = out.stderr.chars().take(2000).collect();
    assert_eq!(out.stderr.matches("duplicate key").count(), 25, "{head}");
    assert_eq!(out.stderr.matches("unknown key").count(), 25, "{head}");
}

#[test]
fn skconn_yaml_gets_the_guards_of_connector_files() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\nenvironments:\n  dev:\n    url: local\n";
    Repo::new()
        .file("skconn.yaml", bomb)
        .skconn(["validate"])
        .code(1)
        .stderr_has("aliases expand to too many values");
    let deep = format!(
        "environments:\n  dev:\n    url: local\nx: {}{}\n",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    Repo::new()
        .file("skconn.yaml", deep)
        .skconn(["validate"])
        .code(1)
        .stderr_has("nested too deeply");
    let big = format!(
        "environments:\n  dev:\n    url: local\n{}",
        "# padding\n".repeat(120_000)
    );
    Repo::new()
        .file("skconn.yaml", big)
        .skconn(["validate"])
        .code(1)
        .stderr_has("larger than 1 MiB");
    Repo::new()
        .file(
            "skconn.yaml",
            "environments:\n  dev:\n    url: local\n  dev:\n    url: local\n",
        )
        .skconn(["validate"])
        .code(1)
        .stderr_has("duplicate key `dev`");
}

// ---- the local environment, and where skconn.yaml is found ---------------------------------

#[test]
fn the_implicit_local_environment_is_announced_and_refused_for_apply_in_ci() {
    let repo = Repo::new().connector("a.yaml", bearer("Alpha"));
    repo.skconn(["plan"])
        .code(0)
        .stderr_has("notice:")
        .stderr_has(".skconn/local.json");
    repo.cmd(["apply", "--auto-approve"])
        .env("CI", "true")
        .run()
        .code(1)
        .stderr_has("refusing to apply to the local environment")
        .stderr_has("--env local");
    assert!(!repo.path().join(".skconn/local.json").exists());
    repo.cmd(["apply", "--auto-approve", "--env", "local"])
        .env("CI", "true")
        .run()
        .code(0)
        .stdout_has("✓ created \"Alpha\"");
    // Configured with `url: local`, it is named explicitly: no notice, no refusal.
    let repo = repo.file(
        "skconn.yaml",
        "environments:\n  local:\n    url: local\n    prune: managed\n",
    );
    repo.cmd(["apply", "--auto-approve"])
        .env("CI", "true")
        .run()
        .code(0)
        .stderr_lacks("notice:");
}

#[test]
fn skconn_yaml_is_found_from_a_subfolder_up_to_the_repository_root() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed").file(".git/HEAD", "ref: refs/heads/main\n");
    std::fs::create_dir_all(repo.path().join("docs/deep")).unwrap();
    let mut cmd = repo.cmd(["apply", "--auto-approve"]);
    cmd.0.current_dir(repo.path().join("docs/deep"));
    cmd.run().code(0).stdout_has("✓ created \"Conn 00\"");
    assert_eq!(names(&dev), ["Conn 00"]);
}

// ---- safety policy per environment ---------------------------------------------------------

#[test]
fn the_change_threshold_is_configurable_per_environment() {
    let dev = emulator();
    let repo = repo_with(4, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo
        .remove("connectors/c00.yaml")
        .remove("connectors/c01.yaml")
        .edit("skconn.yaml", |t| {
            t.replace(
                "prune: managed",
                "prune: managed\n    change_threshold: {percent: 25, min_managed: 4}",
            )
        });
    repo.skconn(["plan"])
        .code(3)
        .stderr_has("more than the 25% allowed");
    let repo = repo.edit("skconn.yaml", |t| {
        t.replace(
            "change_threshold: {percent: 25, min_managed: 4}",
            "change_threshold: off",
        )
    });
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), 2);
    repo.edit("skconn.yaml", |t| {
        t.replace("change_threshold: off", "change_threshold: {percent: 200}")
    })
    .skconn(["validate"])
    .code(1)
    .stderr_has("`percent` must be a whole number from 0 to 100");
}

#[test]
fn an_unfinished_forced_apply_does_not_block_the_rerun_that_completes_it() {
    let dev = emulator();
    let repo = repo_with(10, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let mut repo = repo;
    for i in 0..6 {
        repo = repo.remove(&format!("connectors/c{i:02}.yaml"));
    }
    repo.skconn(["plan"]).code(3);
    // The forced apply stops half-way: the deletes keep failing.
    fault(&dev, &format!("500:DELETE:3@{WRITES}"));
    let out = repo.skconn(["apply", "--auto-approve", "--force", "--max-attempts", "1"]);
    out.code(4);
    assert!(dev.connectors().len() > 4);
    // The rerun without --force completes what was approved.
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), 4);
    assert!(!repo.path().join(".skconn/forced.json").exists());
}

// ---- import --------------------------------------------------------------------------------

#[test]
fn import_of_unknown_keys_writes_a_file_that_plans_clean() {
    let dev = emulator();
    let repo = Repo::new().env("dev", &dev, "managed");
    dev.insert(serde_json::json!({
        "display_name": "Future",
        "proxy_url": "https://api.example.com",
        "proxy_enabled": true,
        "auth_patterns": [{
            "type": "BEARER",
            "fields": [{"field_name": "token", "input_type": "password", "mask_style": "dots"}],
            "token_refresh_hint": {"every": "1h"}
        }]
    }));
    repo.skconn(["import", "--env", "dev"]).code(0);
    let text = std::fs::read_to_string(repo.path().join("connectors/future.yaml")).unwrap();
    assert!(text.contains("pass_through_keys"), "{text}");
    repo.skconn(["validate"]).code(0);
    // Import, then the plan shows only the adoption; applied, the plan is clean.
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("1 to adopt, 0 to update");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_field_the_server_rewrote_is_not_drift_in_the_next_plan() {
    let dev = emulator_with(|c| c.rewrite = skconn::emulator::Rewrite::ProxyUrlTrailingSlash);
    let repo = repo_with(1, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"])
        .code(5)
        .stderr_has("the server keeps \"https://api.example.com/\"");
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let change = &plan["environments"][0]["changes"][0];
    assert_eq!(change["display_name"], "Conn 00");
    assert_eq!(change["drift"], false, "{out}");
    repo.skconn(["plan"])
        .code(0)
        .stdout_lacks("edited outside skconn");
}

#[test]
fn import_takes_a_value_skconn_does_not_know_with_a_warning_and_it_round_trips() {
    let dev = emulator();
    let repo = Repo::new().env("dev", &dev, "managed");
    let hand_made = serde_json::json!({
        "display_name": "Hand Made",
        "proxy_url": "https://api.hand.acme.test",
        "proxy_enabled": true,
        "auth_patterns": [{"type": "API_KEY", "fields": [
            {"field_name": "api_key", "input_type": "password"},
            {"field_name": "site", "input_type": "url"}
        ]}]
    });
    dev.insert(hand_made);
    repo.skconn(["import", "--env", "dev"])
        .code(0)
        .stdout_has("wrote connectors/hand-made.yaml")
        .stderr_has("warning: connectors/hand-made.yaml:")
        .stderr_has("unknown input_type `url` (skconn knows text, password, select, textarea)");
    let file = std::fs::read_to_string(repo.path().join("connectors/hand-made.yaml")).unwrap();
    assert!(file.contains("input_type: url"), "{file}");
    // Planned: only the adoption, with the warning beside it.
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("1 to adopt, 0 to update")
        .stdout_has("unknown input_type `url`");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
    let stored = dev.connector("Hand Made").unwrap();
    assert_eq!(stored["auth_patterns"][0]["fields"][1]["input_type"], "url");
}

#[test]
fn import_never_writes_a_file_that_would_make_later_plans_fail() {
    let dev = emulator();
    let repo = Repo::new().env("dev", &dev, "off");
    dev.insert(serde_json::json!({
        "display_name": "Magic",
        "proxy_url": "https://api.example.com",
        "proxy_enabled": true,
        "auth_patterns": [{"type": "MAGIC_LINK"}]
    }));
    repo.skconn(["import", "--env", "dev"])
        .code(1)
        .stderr_has("\"Magic\": it holds values skconn cannot check")
        .stderr_has("no file was written");
    assert!(!repo.path().join("connectors/magic.yaml").exists());
    repo.skconn(["plan"]).code(0);
}

// ---- bounded listings ----------------------------------------------------------------------

/// How many GETs of exactly this path the emulator received.
fn gets(emu: &Emulator, path: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

#[test]
fn a_connector_listing_that_never_ends_stops_at_the_pages_its_total_needs() {
    let dev = emulator();
    let repo = repo_with(7, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.clear_requests();
    // Every page is the first one (3 connectors, total 7) with a fresh next page token.
    fault(&dev, &format!("endless-pages:GET:*@{LIST}"));
    let out = repo.skconn(["plan"]);
    out.code(1)
        .stderr_has("the listing of connectors did not end")
        .stderr_has("after 8 pages")
        .stderr_has("3 connectors listed")
        .stderr_has("the server reports 7 in all");
    // 7 connectors at 3 a page need 3 pages; twice that and 2 more are read, no more.
    assert_eq!(gets(&dev, LIST), 8);
    assert_eq!(api_writes(&dev), 0);
}

#[test]
fn usage_listings_that_never_end_are_bounded_and_the_usage_is_unknown() {
    const APP: &str = "/api/v1/connections/app";
    const ACCOUNTS: &str = "/api/v1/connected_accounts";
    // Connected accounts without `total_size`: the hard cap of 1000 pages.
    let dev = emulator_with(|c| c.usage.hide_total_size = true);
    let repo = repo_with(2, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.add_connection("Conn 00", "conn-00", "COMPLETED", true);
    dev.add_connected_accounts("conn-00", "ACTIVE", 3);
    let repo = repo.remove("connectors/c00.yaml");
    fault(&dev, &format!("endless-pages:GET:*@{ACCOUNTS}"));
    dev.clear_requests();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("usage unknown: its connected accounts could not be counted")
        .stdout_has("the listing of connected accounts did not end after 1000 pages")
        .stdout_has("(3000 connected accounts listed)");
    assert_eq!(gets(&dev, ACCOUNTS), 1000);
    dev.clear_faults();

    // App connections with a total: the pages it needs (one connection: 1 page), twice, and 2.
    fault(&dev, &format!("endless-pages:GET:*@{APP}"));
    dev.clear_requests();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("usage unknown: its connections could not be listed")
        .stdout_has("the listing of connections did not end after 4 pages");
    assert_eq!(gets(&dev, APP), 4);
}
