//! Plan digests and `apply --approved`: what merge applies is what was reviewed. Each test
//! plans (the review), moves something (or nothing), then applies with the reviewed digest and
//! checks what the emulator received.

use crate::support::*;
use serde_json::Value;
use skconn::emulator::Emulator;

/// The JSON plan of `repo` (all its environments) and, per environment, its digest.
fn json_plan(repo: &Repo) -> (Value, Vec<(String, String)>) {
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    let doc: Value = serde_json::from_str(&out.stdout).expect("a JSON plan");
    let digests = doc["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["plan_digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (doc, digests)
}

fn approved_arg(digests: &[(String, String)]) -> String {
    digests
        .iter()
        .map(|(e, d)| format!("{e}={d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Two connectors applied to `dev`, then the files change: "Alpha" gets a new description,
/// "Gamma" is new. "Beta" stays as it is.
fn reviewed_change(dev: &Emulator) -> Repo {
    let repo = Repo::new()
        .env("dev", dev, "managed")
        .connector("alpha.yaml", bearer("Alpha"))
        .connector("beta.yaml", bearer("Beta"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.edit("connectors/alpha.yaml", |t| {
        t.replace("description: Alpha API", "description: Alpha API, reviewed")
    })
    .connector("gamma.yaml", bearer("Gamma"))
}

#[test]
fn every_plan_has_a_digest_that_the_documented_recipe_recomputes() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let (doc, digests) = json_plan(&repo);
    assert_eq!(doc["digest_version"], "1");
    let env = &doc["environments"][0];
    assert_eq!(env["source"]["kind"], "live");
    let d = &digests[0].1;
    assert!(
        d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // The README's recipe: jq -cS over the digest input, no trailing newline, then sha256sum.
    let input = serde_json::to_string(&env["digest_input"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.json");
    std::fs::write(&file, input).unwrap();
    let sh = format!(
        "jq -cS . {} | tr -d '\\n' | sha256sum | cut -d' ' -f1",
        file.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &sh])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), d);
    // Markdown: a hidden marker with the whole digest and a short footer; text shows it at -v.
    let md = repo.skconn(["plan", "--format", "markdown"]);
    md.stdout_has(&format!("<!-- skconn-digest env=dev digest={d} -->"))
        .stdout_has(&format!("plan digest `{}…`", &d[..12]));
    repo.skconn(["plan", "-v"])
        .stdout_has(&format!("dev plan digest {d}"));
    // A plan with no changes has a digest too, and a saved plan carries it.
    let saved = repo.path().join("saved.json");
    repo.skconn(["plan", "--out", saved.to_str().unwrap()])
        .code(0);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(saved["plan"]["environments"][0]["plan_digest"], d.as_str());
}

#[test]
fn apply_approved_applies_when_nothing_moved() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let (_, digests) = json_plan(&repo);
    dev.clear_requests();
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &approved_arg(&digests),
    ])
    .code(0)
    .stdout_has(&format!("dev plan digest {}", digests[0].1));
    assert_eq!(api_writes(&dev), 2, "one update and one create");
    assert!(dev.connector("Gamma").is_some());
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn an_unrelated_live_edit_does_not_change_the_digest() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    dev.insert(
        serde_json::json!({"display_name": "Hand Made", "proxy_url": "https://h.example.com",
        "proxy_enabled": true, "auth_patterns": [{"type": "NO_AUTH"}]}),
    );
    let (_, before) = json_plan(&repo);
    // A connector the plan leaves alone (no file, not skconn's) is edited; the server moves
    // fields skconn ignores on a changed one.
    dev.edit("Hand Made", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    dev.edit("Alpha", |c| {
        c["display_priority"] = 9.into();
        c["categories"] = serde_json::json!(["crm"]);
    });
    let (_, after) = json_plan(&repo);
    assert_eq!(before[0].1, after[0].1);
}

#[test]
fn a_dashboard_edit_after_the_review_stops_the_apply_with_exit_6() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let plan_file = repo.path().join("reviewed.json");
    let out = repo.skconn(["plan", "--format", "json"]);
    std::fs::write(&plan_file, &out.stdout).unwrap();
    let (_, digests) = json_plan(&repo);
    dev.edit("Alpha", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    dev.clear_requests();
    let out = repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &approved_arg(&digests),
        "--approved-plan",
        plan_file.to_str().unwrap(),
    ]);
    out.code(6)
        .stderr_has("environment dev: the plan differs from the approved plan")
        .stderr_has(
            "\"Alpha\": the live connector changed since the review (drift) at `/description`",
        )
        .stderr_has("nothing was sent to this environment or any later one");
    assert_eq!(api_writes(&dev), 0);
    assert!(dev.connector("Gamma").is_none());
}

#[test]
fn a_file_edit_after_the_review_stops_the_apply() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let (doc, digests) = json_plan(&repo);
    let plan_file = repo.path().join("reviewed.json");
    std::fs::write(&plan_file, doc.to_string()).unwrap();
    let repo = repo.edit("connectors/alpha.yaml", |t| {
        t.replace("reviewed", "changed later")
    });
    dev.clear_requests();
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &approved_arg(&digests),
        "--approved-plan",
        plan_file.to_str().unwrap(),
    ])
    .code(6)
    .stderr_has("\"Alpha\": the files changed after the review at `/description`");
    assert_eq!(api_writes(&dev), 0);
    // Without the approved plan at hand, only the digests are compared, and it says so.
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &approved_arg(&digests),
    ])
    .code(6)
    .stderr_has("the approved plan is not at hand");
    assert_eq!(api_writes(&dev), 0);
}

#[test]
fn a_change_applied_first_stops_the_apply_and_a_change_nobody_approved_is_named() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let (doc, digests) = json_plan(&repo);
    let plan_file = repo.path().join("reviewed.json");
    std::fs::write(&plan_file, doc.to_string()).unwrap();
    // Another apply lands Alpha's change first, and the files gain Delta after the review.
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
    dev.edit("Gamma", |c| c["description"] = "moved".into());
    let repo = repo.connector("delta.yaml", bearer("Delta"));
    dev.clear_requests();
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &approved_arg(&digests),
        "--approved-plan",
        plan_file.to_str().unwrap(),
    ])
    .code(6)
    .stderr_has("the approved update \"Alpha\" is no longer needed")
    .stderr_has("create \"Delta\" is not in the approved plan");
    assert_eq!(api_writes(&dev), 0);
}

#[test]
fn environments_are_checked_in_order_and_each_needs_an_approval() {
    let dev = emulator();
    let prod = emulator();
    let repo = Repo::new()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed")
        .connector("alpha.yaml", bearer("Alpha"));
    let (_, digests) = json_plan(&repo);
    // Only dev approved: dev is applied, prod is not (named), exit 6.
    let dev_only = approved_arg(&digests[..1]);
    repo.skconn(["apply", "--auto-approve", "--approved", &dev_only])
        .code(6)
        .stderr_has("no approved digest was given for environment prod (--approved prod=DIGEST)");
    assert!(dev.connector("Alpha").is_some());
    assert!(prod.connector("Alpha").is_none());
    assert_eq!(api_writes(&prod), 0);
    // dev has nothing left to do; prod's approval is now what it needs.
    let (_, now) = json_plan(&repo);
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &approved_arg(&now[1..]),
    ])
    .code(0);
    assert!(prod.connector("Alpha").is_some());
    // A typo in an environment name, or a value that is no digest, is a usage error.
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        &format!("prd={}", now[1].1),
    ])
    .code(1)
    .stderr_has("--approved names environment(s) this command does not plan: prd");
    repo.skconn(["apply", "--auto-approve", "--approved", "prod=123"])
        .code(1)
        .stderr_has("is not a plan digest");
}

#[test]
fn plan_checks_an_approval_in_every_format_and_exits_6() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let (_, digests) = json_plan(&repo);
    let arg = approved_arg(&digests);
    dev.clear_requests();
    repo.skconn(["plan", "--approved", &arg]).code(0);
    dev.edit("Alpha", |c| c["description"] = "edited".into());
    let json = repo.skconn(["plan", "--format", "json", "--approved", &arg]);
    json.code(6);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let approval = &doc["environments"][0]["approval"];
    assert_eq!(approval["matches"], false);
    assert_eq!(approval["approved_digest"], digests[0].1.as_str());
    repo.skconn(["plan", "--format", "markdown", "--approved", &arg])
        .code(6)
        .stdout_has("the plan differs from the approved plan.** Nothing was sent");
    assert_eq!(api_writes(&dev), 0);
}

#[test]
fn the_digest_records_variables_as_written() {
    let dev = emulator();
    let repo = Repo::new()
        .env("dev", &dev, "managed")
        .connector(
            "alpha.yaml",
            bearer("Alpha").replace("https://api.example.com", "https://${TENANT}.example.com"),
        )
        .var("TENANT", "acme");
    let a = json_plan(&repo).1;
    let b = json_plan(&repo.var("TENANT", "globex")).1;
    assert_eq!(a, b, "the after value is `${{TENANT}}`, whatever its value");
}
