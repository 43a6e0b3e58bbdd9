//! No secret reaches any output. Every command, in every format, at `RUST_LOG=trace`, in GitHub
//! Actions mode with a job summary, against emulators that echo requests — the token form, the
//! `Authorization` header, the body — into their error answers, plain and cut short. A client
//! secret and masked values holding `+ / = & % :` and spaces; every byte written (stdout,
//! stderr, every file left in the repository) is searched for each secret, each of its derived
//! forms, and every 8-character run of it.

use crate::support::*;
use skconn::emulator::{Emulator, Fault, FaultKind};

const DEV_SECRET: &str = "Sup3r+Secret/Value== & 100%: ok";
const PROD_SECRET: &str = "Pr0d/Secret+Key&x=1 %41: yes";
/// A value from a variable not listed in `show_vars`: masked.
const MASKED: &str = "m@sk+ed/V=al & 50%: hush";

const LEAK_FILE: &str = "display_name: Leak API\ndescription: Key ${LEAK_VALUE} here\nproxy_url: https://api.example.com/v1\nmetadata:\n  note: ${LEAK_VALUE}\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n";

fn live_leak() -> serde_json::Value {
    serde_json::json!({"display_name": "Leak API", "description": "old description",
        "proxy_url": "https://api.example.com/v1",
        "auth_patterns": [{"type": "BEARER", "fields": [
            {"field_name": "token", "input_type": "password"}]}]})
}

/// Every form in which a secret could be written, and every 8-character run of each.
fn forbidden(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut lower = String::new();
    let mut left = 0;
    for c in form.chars() {
        if c == '%' {
            left = 2;
        } else if left > 0 {
            left -= 1;
            lower.push(c.to_ascii_lowercase());
            continue;
        }
        lower.push(c);
    }
    let percent: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let json = serde_json::to_string(secret).unwrap();
    let json = json.trim_matches('"').to_string();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = vec![secret.to_string(), form, lower, percent, json, html];
    // Every 8-character run of the secret and of each of its derived forms (a cut one).
    for whole in out.clone() {
        let chars: Vec<char> = whole.chars().collect();
        for w in chars.windows(8) {
            out.push(w.iter().collect());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every file under `dir`, as text.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

struct Suite {
    dev: Emulator,
    prod: Emulator,
    repo: Repo,
    summary: std::path::PathBuf,
    /// Everything written so far, labelled.
    written: Vec<(String, String)>,
}

impl Suite {
    fn new() -> Suite {
        let dev = emulator_with(|c| c.client_secret = DEV_SECRET.into());
        let prod = emulator_with(|c| c.client_secret = PROD_SECRET.into());
        for emu in [&dev, &prod] {
            emu.insert(live_leak());
            emu.insert(serde_json::json!({"display_name": "Hand Made",
                "proxy_url": "https://hand.example.com/v1",
                "auth_patterns": [{"type": "NO_AUTH"}]}));
        }
        let repo = Repo::new()
            .connector("leak.yaml", LEAK_FILE)
            .env("dev", &dev, "off")
            .env("prod", &prod, "off")
            .var("LEAK_VALUE", MASKED);
        let summary = repo.path().join("step-summary.md");
        Suite {
            dev,
            prod,
            repo,
            summary,
            written: Vec::new(),
        }
    }

    fn run(&mut self, args: &[&str]) -> Out {
        let out = self
            .repo
            .cmd(args)
            .env("RUST_LOG", "trace")
            .env("GITHUB_ACTIONS", "true")
            // Colour is on in GitHub Actions; off here so that assertions read plain text.
            .env("NO_COLOR", "1")
            .env("GITHUB_STEP_SUMMARY", self.summary.to_str().unwrap())
            .run();
        self.written
            .push((format!("{args:?}"), out.all().to_string()));
        out
    }

    /// Searches everything written, and every file in the repository, for every secret.
    fn check(&self) {
        let mut secrets = vec![
            DEV_SECRET.to_string(),
            PROD_SECRET.to_string(),
            MASKED.to_string(),
        ];
        secrets.extend(self.dev.issued_tokens());
        secrets.extend(self.prod.issued_tokens());
        let mut haystacks = self.written.clone();
        for (p, text) in files(self.repo.path()) {
            haystacks.push((p.display().to_string(), text));
        }
        for s in &secrets {
            for f in forbidden(s) {
                for (what, text) in &haystacks {
                    assert!(
                        !text.contains(&f),
                        "{what} holds {f:?} (a form of a secret)\n{text}"
                    );
                }
            }
        }
    }

    fn all_written(&self) -> String {
        self.written.iter().map(|(_, t)| t.as_str()).collect()
    }
}

#[test]
fn every_command_and_format_is_free_of_secrets() {
    let mut s = Suite::new();
    s.run(&["validate"]).code(0);
    s.run(&["plan"]).code(0).stdout_has("~ update \"Leak API\"");
    s.run(&["plan", "--format", "json"]).code(0);
    s.run(&["plan", "--format", "markdown"]).code(0);
    // Dev first: then compare shows the masked value as a difference between the two.
    s.run(&["apply", "--env", "dev", "--auto-approve"]).code(0);
    s.run(&["compare", "dev", "prod"])
        .code(2)
        .stdout_has("Key *** here");
    s.run(&["compare", "dev", "prod", "--format", "json"])
        .code(2);
    s.run(&["compare", "dev", "prod", "--format", "markdown"])
        .code(2);
    s.run(&["plan", "--out", "saved.json"]).code(0);
    s.run(&["apply", "saved.json"]).code(0);
    s.run(&["plan", "-vvv"]).code(0);
    s.run(&["import", "--env", "dev"]).code(0);
    // The masked value did reach the server: the redaction is what kept it out of the output.
    let stored = s.dev.connector("Leak API").unwrap();
    assert_eq!(stored["description"], format!("Key {MASKED} here"));
    assert!(
        s.all_written().contains("Key *** here"),
        "{}",
        s.all_written()
    );
    assert!(std::fs::read_to_string(&s.summary)
        .unwrap()
        .contains("skconn plan"));
    s.check();
}

/// The length of the echo of a token request up to the start of the client secret.
fn token_echo_prefix(emu: &Emulator) -> usize {
    format!(
        "POST /oauth/token authorization= body=grant_type=client_credentials&client_id={}&client_secret=",
        emu.client_id()
    )
    .chars()
    .count()
}

#[test]
fn a_server_that_echoes_the_token_request_leaks_nothing() {
    let mut s = Suite::new();
    let prefix = token_echo_prefix(&s.dev);
    let mut kinds = vec![
        FaultKind::Echo {
            text: false,
            cut: None,
        },
        FaultKind::Echo {
            text: true,
            cut: None,
        },
    ];
    // Cut inside the (form-encoded) secret, at several places.
    for k in [3, 9, 14, 22, 30] {
        kinds.push(FaultKind::Echo {
            text: false,
            cut: Some(prefix + k),
        });
        kinds.push(FaultKind::Echo {
            text: true,
            cut: Some(prefix + k),
        });
    }
    for kind in kinds {
        for args in [
            &["plan"][..],
            &["plan", "--format", "json"],
            &["apply", "--auto-approve"],
            &["import", "--env", "dev"],
            &["compare", "dev", "prod"],
        ] {
            s.dev
                .push_fault(Fault::new(kind.clone()).path("/oauth/token").always());
            let out = s.run(args);
            s.dev.clear_faults();
            assert_eq!(out.code, Some(1), "{kind:?} {args:?}\n{out}");
        }
    }
    let all = s.all_written();
    assert!(
        all.contains("client_secret=***"),
        "the echo was not shown\n{all}"
    );
    s.check();
}

#[test]
fn a_server_that_echoes_api_requests_leaks_nothing() {
    let mut s = Suite::new();
    let id = s.dev.connector("Leak API").unwrap()["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let id: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~:@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    // The bearer token is `skt_` and 32 hex digits.
    let list_prefix =
        "GET /api/v1/providers?filter.provider_type=CUSTOM&page_size=1000 authorization=Bearer "
            .chars()
            .count();
    let put_prefix = format!(
        "PUT /api/v1/custom-providers/{id} authorization=Bearer skt_0123456789abcdef0123456789abcdef body={{\"display_name\":\"Leak API\",\"description\":\"Key "
    )
    .chars()
    .count();
    let mut faults = Vec::new();
    for text in [false, true] {
        for cut in [None, Some(list_prefix + 12), Some(list_prefix + 30)] {
            faults.push(Fault::new(FaultKind::Echo { text, cut }).method("GET"));
        }
        for cut in [None, Some(put_prefix + 6), Some(put_prefix + 15)] {
            faults.push(Fault::new(FaultKind::Echo { text, cut }).method("PUT"));
        }
    }
    for fault in faults {
        s.dev.push_fault(fault.clone().always());
        for args in [
            &["plan"][..],
            &["plan", "--format", "markdown"],
            &["apply", "--auto-approve"],
            &["import", "--env", "dev"],
        ] {
            s.run(args);
        }
        s.dev.clear_faults();
    }
    let all = s.all_written();
    assert!(
        all.contains("authorization=Bearer ***"),
        "no echo shown\n{all}"
    );
    assert!(
        all.contains("Key ***"),
        "the body's echo was not shown\n{all}"
    );
    s.check();
}

#[test]
fn a_hint_that_rewrites_a_masked_value_does_not_show_it() {
    // The hint proposes `https://` + the value: the masked value, rewritten and shortened.
    let secret_host = "hidden-host-7f3a9c.example.com/private/path";
    let repo = Repo::new()
        .connector(
            "bad.yaml",
            "display_name: Bad API\nproxy_url: http://${SECRET_HOST}\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n",
        )
        .config("environments:\n  local:\n    url: local\n")
        .var("SECRET_HOST", secret_host);
    let summary = repo.path().join("summary.md");
    let out = repo
        .cmd(["validate"])
        .env("GITHUB_ACTIONS", "true")
        .env("RUST_LOG", "trace")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run();
    out.code(1).stdout_has("::error file=").stderr_has("help:");
    for f in forbidden(secret_host) {
        assert!(!out.all().contains(&f), "{f:?} shown\n{out}");
    }
}

#[test]
fn a_mistyped_or_wrongly_typed_credential_is_never_echoed() {
    let dev = emulator();
    let repo = Repo::new().config(&format!(
        "environments:\n  dev:\n    url: {}\n    client_id: x\n    client_secret: 7364519283746\n    client_secert: misspelt-secret-value-42\n",
        dev.url()
    ));
    let out = repo.skconn(["validate"]);
    out.code(1);
    assert!(!out.all().contains("7364519283746"), "{out}");
    assert!(!out.all().contains("misspelt-secret"), "{out}");
    let repo = Repo::new().config(
        "environments:\n  dev:\n    url: https://admin:pa55-w0rd-xyz@acme.scalekit.dev\n    client_id: x\n    client_secret: y-secret\n",
    );
    let out = repo.skconn(["validate"]);
    out.code(1)
        .stderr_has("must not hold a user name or password");
    assert!(!out.all().contains("pa55-w0rd"), "{out}");
    assert!(!out.all().contains("admin:"), "{out}");
    assert!(dev.requests().is_empty());
}

#[test]
fn a_masked_value_the_server_stores_in_another_case_stays_masked() {
    // The server keeps the header name with its case changed; the settle report compares what
    // skconn wrote with what it kept, and shows neither.
    let tenant = "x-tenant-7f3a9c-private";
    let dev = emulator();
    dev.set_rewrite(skconn::emulator::Rewrite::Custom(std::sync::Arc::new(
        |body: &mut serde_json::Value| {
            if let Some(serde_json::Value::String(h)) =
                body.pointer_mut("/auth_patterns/0/fields/0/field_name")
            {
                *h = h
                    .split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join("-");
            }
        },
    )));
    let repo = Repo::new()
        .connector(
            "t.yaml",
            "display_name: Header API\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: API_KEY\n    fields:\n      - field_name: ${FIELD_HDR}\n        label: Key\n        input_type: password\n",
        )
        .env("dev", &dev, "managed")
        .var("FIELD_HDR", tenant);
    let summary = repo.path().join("summary.md");
    let mut all = String::new();
    for args in [
        vec!["apply", "--auto-approve"],
        vec!["plan"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown"],
        vec!["apply", "--auto-approve"],
    ] {
        let out = repo
            .cmd(&args)
            .env("GITHUB_ACTIONS", "true")
            .env("RUST_LOG", "trace")
            .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
            .run();
        all.push_str(&out.all());
    }
    assert!(all.contains("the server keeps"), "no settle report\n{all}");
    // The hint says what to fix without the value.
    assert!(
        all.contains("the value comes from a masked variable and the server changed it"),
        "{all}"
    );
    assert!(!all.contains("write {\"field_name\":\"***\""), "{all}");
    all.push_str(&std::fs::read_to_string(&summary).unwrap_or_default());
    let lower = all.to_ascii_lowercase();
    // Not even a piece shorter than a redacted run: the value matches in any case, whole.
    for piece in ["tenant", "7f3a9c", "private"] {
        assert!(!lower.contains(piece), "{piece:?} shown\n{all}");
    }
    for f in forbidden(tenant) {
        assert!(
            !lower.contains(&f.to_ascii_lowercase()),
            "{f:?} shown\n{all}"
        );
    }
}
