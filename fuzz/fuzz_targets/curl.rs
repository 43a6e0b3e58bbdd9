//! Arbitrary text in every value the curl renderer places in its script — environment and
//! display names, identifiers, file names, a body value and key, a refusal's reason — split
//! from the input on `0xFF` bytes. The script must stay a script of skconn's own lines: every
//! line outside a request body is a comment or one of skconn's command lines, no control
//! character but a line feed appears, each body is one single-quoted word that decodes to the
//! exact body, and there is one `curl` per change plus one token request per environment.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use skconn::plan::{Action, Change, EnvPlan, Plan, Refusal};
use std::path::PathBuf;

/// The lines skconn's script is made of, outside request bodies.
const OWN_LINES: &[&str] = &[
    "#",
    "env_access_token=$(curl --location --request POST \"$SCALEKIT_ENVIRONMENT_URL/oauth/token\" \\",
    "  --header \"Content-Type: application/x-www-form-urlencoded\" \\",
    "  --data-urlencode \"grant_type=client_credentials\" \\",
    "  --data-urlencode \"client_id=$SCALEKIT_CLIENT_ID\" \\",
    "  --data-urlencode \"client_secret=$SCALEKIT_CLIENT_SECRET\" | jq -r '.access_token')",
    "  --header \"Authorization: Bearer $env_access_token\"",
    "  --header \"Authorization: Bearer $env_access_token\" \\",
    "  --header \"Content-Type: application/json\" \\",
];

fn change(action: Action, name: &str, id: &str, file: &str, value: &str) -> Change {
    let body = json!({"display_name": name, "description": value, "metadata": {value: id}});
    Change {
        action,
        display_name: name.to_string(),
        identifier: (action != Action::Create).then(|| id.to_string()),
        file: (action != Action::Delete).then(|| PathBuf::from(file)),
        body: action.writes_body().then(|| body.clone()),
        before: None,
        after: None,
        diff: Vec::new(),
        drift: false,
        warnings: Vec::new(),
        usage: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<String> = data
        .split(|b| *b == 0xFF)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let part = |i: usize| parts.get(i).cloned().unwrap_or_default();
    let (env, name, id, file, value, reason) = (part(0), part(1), part(2), part(3), part(4), part(5));
    let actions = [Action::Create, Action::Adopt, Action::Update, Action::Delete];
    let changes: Vec<Change> = actions
        .iter()
        .map(|a| change(*a, &name, &id, &file, &value))
        .collect();
    let bodies: Vec<Value> = changes.iter().filter_map(|c| c.body.clone()).collect();
    let plan = Plan {
        environments: vec![EnvPlan {
            name: env.clone(),
            changes,
            unchanged: 0,
            not_managed: vec![name.clone()],
            managed_live: 0,
            other_owners: Vec::new(),
        }],
        refused: vec![Refusal {
            environment: env,
            reason,
            how_to_proceed: value,
        }],
    };
    let script = skconn::render::curl::plan(&plan);

    assert!(
        !script.chars().any(|c| c != '\n' && c.is_control()),
        "a control character in the script"
    );
    let mut curls = 0;
    let mut found = Vec::new();
    let mut rest = script.as_str();
    while !rest.is_empty() {
        if let Some(word) = rest.strip_prefix("  --data '") {
            // One single-quoted word, `'\''` for a quote inside, ending at `'` and a line feed.
            let mut body = String::new();
            let mut chars = word.char_indices();
            let end = loop {
                let (i, c) = chars.next().expect("the body's quote is closed");
                if c != '\'' {
                    body.push(c);
                } else if word[i..].starts_with("'\\''") {
                    body.push('\'');
                    chars.nth(2);
                } else {
                    break i;
                }
            };
            assert!(word[end..].starts_with("'\n"), "text after a body's quote");
            rest = &word[end + 2..];
            found.push(serde_json::from_str::<Value>(&body).expect("a body is JSON"));
            continue;
        }
        let (line, after) = rest.split_once('\n').expect("every line ends with a line feed");
        rest = after;
        if line.starts_with("curl --location --request ") {
            let url = line
                .strip_prefix("curl --location --request ")
                .and_then(|l| l.split_once(" \"$SCALEKIT_ENVIRONMENT_URL/api/v1/custom-providers"))
                .map(|(_, u)| u)
                .expect("a request to the custom providers");
            assert!(
                url.strip_suffix("\" \\").is_some_and(|path| path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/%-_~:@.".contains(&b))),
                "an unquoted or unencoded path: {url:?}"
            );
            curls += 1;
            continue;
        }
        if line.starts_with("env_access_token=") {
            curls += 1;
        }
        assert!(
            line.is_empty()
                || line == "#!/bin/sh"
                || line.starts_with("# ")
                || OWN_LINES.contains(&line),
            "a line skconn does not write: {line:?}"
        );
    }
    assert_eq!(curls, 1 + actions.len(), "one curl per change and the token");
    assert_eq!(found, bodies, "the bodies are exactly what apply sends");
});
