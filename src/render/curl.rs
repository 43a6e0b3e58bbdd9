//! The plan as the curl commands of Scalekit's documentation: per environment, the token
//! request, then one request per change with the exact body apply would send (marker
//! included), in apply's order. For teams whose policy is that a person runs the writes to
//! Production, and for reviewers who think in requests.
//!
//! Credentials and the token are shell variables (`$SCALEKIT_ENVIRONMENT_URL`,
//! `$SCALEKIT_CLIENT_ID`, `$SCALEKIT_CLIENT_SECRET`, `$env_access_token`): never a real secret
//! or token. Masked values stay masked (`***`): replace them before running a command.
//!
//! Nothing from a file, a server or skconn.yaml can run as shell: every value placed in a
//! command is quoted (the body single-quoted, the path double-quoted with `"`, `\`, `$` and
//! `` ` `` escaped, after percent-encoding), and every comment line is made inert
//! ([`crate::output::escape::shell_comment`]: no CR, LF or control character survives, they are shown
//! escaped), so a display name or file name cannot end its comment and start a command.

use crate::output::escape::{shell_comment, shell_double, shell_word};
use crate::plan::{Change, EnvPlan, Plan, What};
use crate::render::text::summary_line;
use std::fmt::Write;

use crate::remote::{encode_segment, CUSTOM_PROVIDERS_PATH as PATH};

pub fn plan(plan: &Plan) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# The requests `skconn apply` would send, as curl commands. Run them in this order.\n",
    );
    if !plan.refused.is_empty() {
        s.push_str("#\n# REFUSED as unsafe: skconn apply would send none of these.\n");
        for r in &plan.refused {
            s.push_str(&shell_comment(&format!(
                "  environment {}: {}; {}",
                r.environment, r.reason, r.how_to_proceed
            )));
        }
    }
    for env in &plan.environments {
        env_commands(&mut s, env);
    }
    s
}

fn env_commands(s: &mut String, env: &EnvPlan) {
    s.push('\n');
    s.push_str(&shell_comment(&format!(
        "---- Environment {}: {}",
        env.name,
        summary_line(&env.summary())
    )));
    if let Some(from) = super::source::sentence(env) {
        s.push_str(&shell_comment(&format!(
            "{from}: values shown as *** or as (from ${{VAR}}, known at apply) are not known here."
        )));
        s.push_str(&shell_comment(&format!(
            "`skconn apply` plans environment {} live again before it sends anything.",
            env.name
        )));
    }
    if env.changes.is_empty() {
        s.push_str("# No changes: nothing to send.\n");
        return;
    }
    s.push_str(&shell_comment(&format!(
        "Set SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET to environment {}'s values first.",
        env.name
    )));
    s.push_str(
        "env_access_token=$(curl --location --request POST \"$SCALEKIT_ENVIRONMENT_URL/oauth/token\" \\\n  \
         --header \"Content-Type: application/x-www-form-urlencoded\" \\\n  \
         --data-urlencode \"grant_type=client_credentials\" \\\n  \
         --data-urlencode \"client_id=$SCALEKIT_CLIENT_ID\" \\\n  \
         --data-urlencode \"client_secret=$SCALEKIT_CLIENT_SECRET\" | jq -r '.access_token')\n",
    );
    for c in &env.changes {
        command(s, c);
    }
}

fn command(s: &mut String, c: &Change) {
    let (method, url) = match &c.what {
        What::Create { .. } => ("POST", PATH.to_string()),
        What::Delete { identifier } => ("DELETE", format!("{PATH}/{}", encode_segment(identifier))),
        What::Adopt { identifier, .. } | What::Update { identifier, .. } => {
            ("PUT", format!("{PATH}/{}", encode_segment(identifier)))
        }
    };
    let mut what = format!("{} \"{}\"", c.action().verb(), c.display_name);
    if let Some(f) = c.file() {
        let _ = write!(what, " ({})", f.display());
    }
    s.push('\n');
    s.push_str(&shell_comment(&what));
    let _ = write!(
        s,
        "curl --location --request {method} \"$SCALEKIT_ENVIRONMENT_URL{}\" \\\n  --header \"Authorization: Bearer $env_access_token\"",
        shell_double(&url)
    );
    match c.body() {
        Some(body) => {
            // Masked before quoting, so that quoting cannot hide a secret from the masking;
            // characters JSON leaves raw (DEL, C1 controls, bidirectional overrides) escaped as
            // JSON escapes, the same value.
            let json = serde_json::to_string_pretty(body).unwrap_or_default();
            let json = crate::output::escape::inert_lines(&json);
            let json = crate::output::secret::redact(&json);
            let _ = writeln!(
                s,
                " \\\n  --header \"Content-Type: application/json\" \\\n  --data {}",
                shell_word(&json)
            );
        }
        None => s.push('\n'),
    }
}
