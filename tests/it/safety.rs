//! Safety and resilience, end to end: faults injected in the emulator, partial failures,
//! delete protection, hostile input, and secrets under all of it.

use crate::support::*;
use serde_json::json;
use skconn::emulator::{Fault, FaultKind};

#[test]
fn one_apply_through_429s_503s_and_lost_answers_converges_without_duplicates() {
    let dev = emulator();
    let repo = repo_with(12, &dev, "managed");
    dev.push_fault(
        Fault::new(FaultKind::Status {
            status: 429,
            retry_after: Some(0),
        })
        .method("POST")
        .path(WRITES)
        .times(2),
    );
    dev.push_fault(Fault::status(503).method("POST").path(WRITES).times(2));
    dev.push_fault(
        Fault::new(FaultKind::LostAnswer {
            drop_connection: false,
        })
        .method("POST")
        .path(WRITES)
        .times(2),
    );
    dev.push_fault(
        Fault::new(FaultKind::LostAnswer {
            drop_connection: true,
        })
        .method("POST")
        .path(WRITES)
        .times(1),
    );
    dev.push_fault(Fault::new(FaultKind::Drop).method("GET").times(1));
    dev.push_fault(Fault::status(503).method("GET").times(1));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Applied 12 change(s), 0 failed, 0 not attempted.");
    let mut got = names(&dev);
    got.sort();
    let want: Vec<String> = (0..12).map(|i| format!("Conn {i:02}")).collect();
    assert_eq!(got, want, "exactly the desired connectors, no duplicates");
    assert_eq!(dev.pending_faults(), 0, "every injected fault was hit");
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_401_mid_run_refreshes_the_token_once() {
    let dev = emulator();
    let repo = repo_with(3, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo.edit("connectors/c00.yaml", |t| {
        t.replace("Conn 00 API", "changed")
    });
    dev.clear_requests();
    // The token is refused between the listing and the write (as when it expires mid-run).
    dev.push_fault(Fault::status(401).method("PUT"));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("✓ updated \"Conn 00\"");
    let log: Vec<(String, u16)> = dev
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("POST".to_string(), 200),
            ("PUT".to_string(), 401),
            ("POST".to_string(), 200),
            ("PUT".to_string(), 200)
        ],
        "one token, a 401, one refresh, the write again"
    );
}

#[test]
fn an_in_use_delete_without_usage_look_ups_fails_alone_the_rest_applies_and_a_rerun_plans_only_it()
{
    let dev = emulator();
    // `usage: off`: nothing is looked up, so the delete is sent and the server refuses it.
    let repo = repo_with(4, &dev, "managed").edit("skconn.yaml", |t| {
        t.replace("prune: managed", "prune: managed\n    usage: off")
    });
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.add_connection("Conn 00", "conn-00", "COMPLETED", true);
    let repo = repo
        .remove("connectors/c00.yaml")
        .remove("connectors/c01.yaml")
        .edit("connectors/c02.yaml", |t| {
            t.replace("Conn 02 API", "changed")
        });
    let out = repo.skconn(["apply", "--auto-approve"]);
    out.code(4)
        .stdout_has("✓ deleted \"Conn 01\"")
        .stdout_has("✓ updated \"Conn 02\"")
        .stdout_has("✗ delete \"Conn 00\" failed")
        .stdout_has("still in use")
        .stdout_has("Remove its connections and connected accounts in the Scalekit dashboard")
        .stdout_has("FAILED_PRECONDITION")
        .stdout_has("[request req_")
        .stdout_has("Applied 2 change(s), 1 failed, 0 not attempted.");
    assert!(dev.connector("Conn 00").is_some());
    assert!(dev.connector("Conn 01").is_none());
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("- delete \"Conn 00\"")
        .stdout_has("Plan: 0 to create, 0 to update, 1 to delete.");
    assert!(
        !dev.requests()
            .iter()
            .any(|r| r.path.starts_with("/api/v1/connect")),
        "usage: off looks nothing up"
    );
    dev.remove_connections("Conn 00");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_failing_environment_stops_the_next_one_and_says_what_was_not_attempted() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::new()
        .connector("a.yaml", bearer("Alpha"))
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    dev.push_fault(Fault::status(500).method("POST").path(WRITES).always());
    let out = repo.skconn(["apply", "--max-attempts", "2", "--auto-approve"]);
    out.code(1)
        .stdout_has("✗ create \"Alpha\" failed")
        .stdout_has("500")
        .stdout_has("not attempted: environment dev did not apply cleanly")
        .stdout_has("Applied 0 change(s), 0 failed, 1 not attempted.");
    assert!(
        prod.connectors().is_empty(),
        "prod was written although dev failed"
    );
}

#[test]
fn an_empty_or_missing_connectors_folder_never_deletes() {
    let dev = emulator();
    let repo = repo_with(3, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    std::fs::remove_dir_all(repo.path().join("connectors")).unwrap();
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"])
        .code(3)
        .stderr_has("refused as unsafe")
        .stderr_has("--allow-empty");
    assert_eq!(api_writes(&dev), 0);
    assert_eq!(dev.connectors().len(), 3);
    std::fs::create_dir(repo.path().join("connectors")).unwrap();
    repo.skconn(["plan"]).code(3).stderr_has("empty or missing");
    repo.skconn(["apply", "--auto-approve", "--allow-empty"])
        .code(0);
    assert!(dev.connectors().is_empty());
}

#[test]
fn deleting_or_updating_more_than_30_percent_needs_force() {
    let dev = emulator();
    let repo = repo_with(10, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    // 3 of 10 is allowed.
    let repo = repo
        .remove("connectors/c00.yaml")
        .remove("connectors/c01.yaml")
        .remove("connectors/c02.yaml");
    repo.skconn(["plan"]).code(0).stdout_has("3 to delete");
    // 4 of 10 is not.
    let repo = repo.remove("connectors/c03.yaml");
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"])
        .code(3)
        .stderr_has("would delete 4 of 10 managed connectors (40%)")
        .stderr_has("--force");
    assert_eq!(api_writes(&dev), 0);
    repo.skconn(["apply", "--auto-approve", "--force"]).code(0);
    assert_eq!(dev.connectors().len(), 6);
}

#[test]
fn a_protected_connector_is_never_deleted_even_with_force() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo
        .edit("skconn.yaml", |t| format!("{t}    protect: [Conn 00]\n"))
        .remove("connectors/c00.yaml");
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve", "--force", "--allow-empty"])
        .code(3)
        .stderr_has("\"Conn 00\" is protected");
    assert_eq!(api_writes(&dev), 0);
    assert!(dev.connector("Conn 00").is_some());
}

/// Every hostile file: exit 1, the file named, no request sent, no crash.
#[test]
fn hostile_files_fail_cleanly_naming_the_file_with_zero_requests() {
    let dev = emulator();
    let nested = format!("{}x{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        bomb.push_str(&format!(
            "{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "latin1.yaml",
            b"display_name: Caf\xe9\nproxy_url: https://x.example.com\n".to_vec(),
        ),
        (
            "docs.yaml",
            format!("{}---\n{}", bearer("Doc One"), bearer("Doc Two")).into_bytes(),
        ),
        (
            "list.yaml",
            b"- display_name: A\n- display_name: B\n".to_vec(),
        ),
        ("bomb.yaml", bomb.into_bytes()),
        (
            "big.yaml",
            format!(
                "display_name: Big\ndescription: \"{}\"\n",
                "x".repeat(8 * 1024 * 1024)
            )
            .into_bytes(),
        ),
        ("empty.yaml", Vec::new()),
        (
            "tabs.yaml",
            b"display_name: Tabs\nmetadata:\n\towner: x\n".to_vec(),
        ),
        ("nested.yaml", nested.into_bytes()),
    ];
    for (name, bytes) in cases {
        let repo = Repo::new()
            .connector("ok.yaml", bearer("Fine"))
            .connector(name, bytes)
            .env("dev", &dev, "managed");
        let out = repo.skconn(["plan"]);
        out.code(1)
            .stderr_has(&format!("connectors/{name}"))
            .stderr_has("nothing was sent");
        assert!(!out.stderr.contains("panicked"), "{name} panicked\n{out}");
    }
    assert!(
        dev.requests().is_empty(),
        "a request was sent while input was invalid"
    );
}

#[test]
fn a_utf8_bom_is_accepted_and_other_files_are_ignored() {
    let dev = emulator();
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(bearer("With Bom").as_bytes());
    let repo = Repo::new()
        .connector("bom.yaml", bom)
        .connector("README.md", "# not a connector")
        .connector("notes.txt", "ignored")
        .env("dev", &dev, "managed");
    repo.skconn(["-v", "validate"])
        .code(0)
        .stdout_has("1 connector file(s)")
        .stderr_has("README.md");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_fails_cleanly() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("ok.yaml", bearer("Fine"))
        .env("dev", &dev, "managed");
    std::os::unix::fs::symlink("loop", repo.path().join("connectors/loop")).unwrap();
    std::os::unix::fs::symlink("../connectors", repo.path().join("connectors/sub.yaml")).unwrap();
    let out = repo.skconn(["plan"]);
    out.code(1).stderr_has("connectors/loop");
    assert!(dev.requests().is_empty());
}

#[test]
fn no_secret_shows_under_faults_at_trace_level() {
    let dev = emulator();
    let repo = repo_with(4, &dev, "managed");
    dev.push_fault(Fault::status(503).times(3));
    dev.push_fault(
        Fault::new(FaultKind::Status {
            status: 429,
            retry_after: Some(0),
        })
        .times(2),
    );
    dev.push_fault(
        Fault::new(FaultKind::LostAnswer {
            drop_connection: true,
        })
        .method("POST")
        .path(WRITES)
        .times(1),
    );
    dev.push_fault(Fault::status(500).method("POST").path(WRITES).always());
    let mut all = String::new();
    for args in [
        vec!["plan"],
        vec!["apply", "--max-attempts", "2", "--auto-approve"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown"],
    ] {
        let out = repo.cmd(&args).env("RUST_LOG", "trace").run();
        all.push_str(&out.all());
    }
    assert!(all.contains("\ntrace: "));
    assert!(!all.contains(dev.client_secret()));
    for t in dev.issued_tokens() {
        assert!(!all.contains(&t), "a token was printed");
    }
    assert!(
        !all.to_lowercase().contains("authorization: bearer"),
        "a request header was echoed"
    );
    let _ = json!(null);
}
