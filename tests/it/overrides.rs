//! Per-environment values: `skconn.overrides` merged per environment, `${VAR}` in connector
//! files, and the masking of values that came from variables.

use crate::support::*;
use serde_json::json;
use std::collections::HashSet;

/// Appends text to a file of the repository.
fn append(repo: Repo, rel: &str, extra: &str) -> Repo {
    let extra = extra.to_string();
    repo.edit(rel, move |t| t + &extra)
}

const ASANA_PROD: &str = "skconn:\n  overrides:\n    prod:\n      description: Asana for production\n      metadata:\n        owner: null\n        tier: gold\n";

#[test]
fn one_apply_promotes_every_example_to_both_and_an_override_lands_only_in_prod() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    let repo = append(repo, "connectors/asana.yaml", ASANA_PROD);
    let n = example_count();

    repo.skconn(["validate"]).code(0);
    let out = repo.skconn(["apply", "--auto-approve"]);
    out.code(0);
    let applied = format!("Applied {n} change(s), 0 failed, 0 not attempted.");
    assert_eq!(out.stdout.matches(&applied).count(), 2, "{out}");
    let (d, p) = (dev.connectors(), prod.connectors());
    assert_eq!((d.len(), p.len()), (n, n));
    // The same connectors, each environment with identifiers of its own.
    let ids = |list: &[serde_json::Value]| -> HashSet<String> {
        list.iter()
            .map(|c| c["identifier"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(ids(&d).is_disjoint(&ids(&p)));

    let in_dev = dev.connector("Asana Tasks").unwrap();
    let in_prod = prod.connector("Asana Tasks").unwrap();
    assert_eq!(
        in_dev["description"],
        "Read and update tasks, projects and comments in Asana workspaces."
    );
    assert_eq!(in_dev["metadata"]["owner"], "workflow-team");
    assert!(in_dev["metadata"].get("tier").is_none());
    assert_eq!(in_prod["description"], "Asana for production");
    assert!(in_prod["metadata"].get("owner").is_none(), "{in_prod}");
    assert_eq!(in_prod["metadata"]["tier"], "gold");
    assert_eq!(in_prod["auth_patterns"], in_dev["auth_patterns"]);

    // Each environment settles against its own merged connector.
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Plan: 0 to create, 0 to update, 0 to delete.");
    repo.skconn(["compare", "dev", "prod"])
        .code(2)
        .stdout_has("~ differs: \"Asana Tasks\"")
        .stdout_has("0 only in dev, 0 only in prod, 1 different, 7 the same.");
}

#[test]
fn an_invalid_override_names_its_environment_and_line_and_nothing_is_sent() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    let lines = std::fs::read_to_string(repo.path().join("connectors/asana.yaml"))
        .unwrap()
        .lines()
        .count();
    let repo = append(
        repo,
        "connectors/asana.yaml",
        "skconn:\n  overrides:\n    prod:\n      auth_patterns:\n        - type: BEARR\n      descriptoin: x\n",
    );
    let out = repo.skconn(["plan"]);
    out.code(1)
        .stderr_has(&format!("connectors/asana.yaml:{}:17", lines + 5))
        .stderr_has("auth_patterns[0].type: unknown auth type `BEARR` (in environment prod)")
        .stderr_has(&format!("connectors/asana.yaml:{}:7", lines + 6))
        .stderr_has("did you mean `description`?");
    assert!(dev.requests().is_empty() && prod.requests().is_empty());
}

#[test]
fn an_override_for_an_unknown_environment_is_refused() {
    let dev = emulator();
    let repo = Repo::examples().env("dev", &dev, "managed");
    let repo = append(
        repo,
        "connectors/vercel.yaml",
        "skconn:\n  overrides:\n    prod:\n      description: x\n",
    );
    for cmd in ["validate", "plan"] {
        repo.skconn([cmd])
            .code(1)
            .stderr_has("unknown environment `prod` in overrides")
            .stderr_has("connectors/vercel.yaml:")
            .stderr_has("skconn.overrides.prod");
    }
    assert!(dev.requests().is_empty());
}

const SECRET: &str = "s3cr3t-path-5f1e2d9c";
const SHOWN: &str = "public-docs.example.com";

/// A live connector that the file updates, so that plans show the values.
fn existing(name: &str) -> serde_json::Value {
    json!({"display_name": name, "proxy_url": "https://api.example.com/old/v1",
           "auth_patterns": [{"type": "BEARER", "fields": [
               {"field_name": "token", "input_type": "password"}]}]})
}

fn var_repo(dev: &skconn::emulator::Emulator) -> Repo {
    dev.insert(existing("Secret Path API"));
    let repo = Repo::new()
        .connector(
            "api.yaml",
            "display_name: Secret Path API\ndescription: Docs at https://${DOCS_HOST}/api, price $${PRICE}\nproxy_url: https://api.example.com/${API_PATH}/v1\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n",
        )
        .env("dev", dev, "managed")
        .var("API_PATH", SECRET)
        .var("DOCS_HOST", SHOWN);
    append(repo, "skconn.yaml", "show_vars: [DOCS_HOST]\n")
}

#[test]
fn variables_expand_and_their_values_are_masked_in_every_output() {
    let dev = emulator();
    let repo = var_repo(&dev);

    let text = repo.skconn(["plan"]);
    text.code(0)
        .stdout_has("Plan: 0 to create, 1 to update")
        .stdout_has("https://api.example.com/***/v1")
        // A variable in show_vars is shown; `$${` is a literal `${`.
        .stdout_has(&format!("Docs at https://{SHOWN}/api, price ${{PRICE}}"));
    assert!(!text.all().contains(SECRET), "{text}");

    for format in ["json", "markdown"] {
        let out = repo.skconn(["plan", "--format", format]);
        out.code(0);
        assert!(!out.all().contains(SECRET), "{format}: {out}");
        assert!(out.stdout.contains("***"), "{format}: {out}");
    }
    let json_out = repo.skconn(["plan", "--format", "json"]);
    let _: serde_json::Value = serde_json::from_str(&json_out.stdout).expect("still JSON");

    let summary = repo.path().join("summary.md");
    let plan_file = repo.path().join("plan.json");
    let out = repo
        .cmd(["plan", "--out", plan_file.to_str().unwrap()])
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run();
    out.code(0);
    assert!(!out.all().contains(SECRET));
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    assert!(!saved.contains(SECRET) && saved.contains("***"), "{saved}");
    let summary_text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        !summary_text.contains(SECRET) && summary_text.contains("***"),
        "{summary_text}"
    );
    assert!(summary_text.contains(SHOWN));

    // The saved plan applies: what it masks is compared masked. The server gets the value.
    let applied = repo
        .cmd(["apply", plan_file.to_str().unwrap()])
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run();
    applied.code(0);
    assert!(!applied.all().contains(SECRET), "{applied}");
    assert!(!std::fs::read_to_string(&summary).unwrap().contains(SECRET));
    let stored = dev.connector("Secret Path API").unwrap();
    assert_eq!(
        stored["proxy_url"],
        json!(format!("https://api.example.com/{SECRET}/v1"))
    );
    assert_eq!(
        stored["description"],
        json!(format!("Docs at https://{SHOWN}/api, price ${{PRICE}}"))
    );
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_missing_variable_names_variable_file_and_line_and_nothing_is_sent() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::new()
        .connector(
            "api.yaml",
            "display_name: Var API\nproxy_url: https://${API_HOST}/v1\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\nskconn:\n  overrides:\n    prod:\n      description: ${PROD_ONLY}\n",
        )
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    for cmd in ["validate", "plan"] {
        repo.skconn([cmd])
            .code(1)
            .stderr_has("connectors/api.yaml:2:12")
            .stderr_has("the environment variable `API_HOST` is not set")
            .stderr_has("connectors/api.yaml:9:20")
            .stderr_has("`PROD_ONLY`")
            .stderr_has("set API_HOST")
            .stderr_has("2 problems in the input; nothing was sent");
    }
    repo.skconn(["apply", "--auto-approve"]).code(1);
    assert!(dev.requests().is_empty(), "{:?}", dev.requests().len());
    assert!(prod.requests().is_empty());
}

#[test]
fn a_variable_in_an_override_is_masked_too() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::new()
        .connector(
            "api.yaml",
            "display_name: Var API\nproxy_url: https://api.example.com/v1\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\nskconn:\n  overrides:\n    prod:\n      proxy_url: https://api.example.com/${PROD_KEY}\n",
        )
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed")
        .var("PROD_KEY", SECRET);
    prod.insert(existing("Var API"));
    let out = repo.skconn(["apply", "--auto-approve"]);
    out.code(0).stdout_has("https://api.example.com/***");
    assert!(!out.all().contains(SECRET), "{out}");
    assert_eq!(
        prod.connector("Var API").unwrap()["proxy_url"],
        json!(format!("https://api.example.com/{SECRET}"))
    );
    assert_eq!(
        dev.connector("Var API").unwrap()["proxy_url"],
        "https://api.example.com/v1"
    );
}

#[test]
fn a_masked_value_in_a_long_string_is_masked_before_the_diff_cuts_it() {
    let dev = emulator();
    let long = "x".repeat(1990);
    let yaml = format!(
        "display_name: Long One\ndescription: \"{long} ${{LONG_VALUE}} tail\"\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n"
    );
    let repo = Repo::new()
        .connector("long.yaml", yaml)
        .env("dev", &dev, "managed")
        .var("LONG_VALUE", "abcdefghijklmnopqrstuvwxyz0123456789");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo.var("LONG_VALUE", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210");
    let out = repo.skconn(["plan"]);
    out.code(0).stdout_has("~ description: ");
    for leak in ["abcdefg", "ZYXWVUT"] {
        assert!(
            !out.all().contains(leak),
            "part of a masked value shows\n{out}"
        );
    }
}
