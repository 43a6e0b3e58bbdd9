//! `skconn doctor`: the first contact with an environment as a report. Each check compares what
//! an environment (and this machine's configuration) does with what skconn's reading of the
//! contract expects, and says what it saw and what to do: the configuration, the network path,
//! the token, the shape of the listing, the usage look-ups, rate limiting, and what `plan` would
//! do. This room holds the checks and the report value; `run::doctor` wires them to the settings
//! and the plan path, and [`report`] writes the report as text, Markdown or JSON.
//!
//! It depends downward only: on `remote` (every request), `settings` (and its
//! `credentials`), `model` and `output` (how text is written), never on `run` or `plan`.
//!
//! What it must never do: send a write (every request is a GET, the token request aside); put a
//! secret, a token, an end user's identifier (a connected account's `identifier`) or the value
//! of a connector's field into a check. Checks name keys, variables and counts, and quote what
//! the server said about itself (statuses, its error messages, headers of the rate-limit family);
//! the report passes, like everything skconn writes, through the one redaction and the
//! inert-text rule.

mod api;
mod config;
mod listing;
mod network;
pub mod report;
mod x509;

pub use api::{api_checks, ApiInput};
pub use config::{configuration, folder_check, unreadable_config, ConfigInput, Folder};
pub use network::network_checks;

use serde::Serialize;

/// Server text shown in a check, cut to `max` characters (with `…` when it was longer).
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    } else {
        text.to_string()
    }
}

/// How a check came out. Ordered: the worst status is the largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Failed,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Failed => "failed",
        }
    }
}

/// One check: what was looked at, what was seen, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// A stable identifier from [`CHECKS`], e.g. `listing.total_size`.
    pub id: &'static str,
    pub status: Status,
    /// What the check saw, in one line.
    pub saw: String,
    /// What to do, in one line; empty when there is nothing to do.
    pub advice: String,
}

impl Check {
    pub fn new(id: &'static str, status: Status, saw: impl Into<String>) -> Check {
        debug_assert!(CHECKS.iter().any(|(i, _)| *i == id), "unknown check {id}");
        Check {
            id,
            status,
            saw: saw.into(),
            advice: String::new(),
        }
    }

    pub fn ok(id: &'static str, saw: impl Into<String>) -> Check {
        Check::new(id, Status::Ok, saw)
    }

    pub fn warning(id: &'static str, saw: impl Into<String>, advice: impl Into<String>) -> Check {
        Check::new(id, Status::Warning, saw).advise(advice)
    }

    pub fn failed(id: &'static str, saw: impl Into<String>, advice: impl Into<String>) -> Check {
        Check::new(id, Status::Failed, saw).advise(advice)
    }

    pub fn advise(mut self, advice: impl Into<String>) -> Check {
        self.advice = advice.into();
        self
    }

    /// The check's title, from [`CHECKS`].
    pub fn title(&self) -> &'static str {
        title(self.id)
    }
}

/// Every check, in the order a report lists them, with its title. `folder` is the project's;
/// the others are per environment.
pub const CHECKS: &[(&str, &str)] = &[
    ("folder", "Local folder"),
    ("config.url", "Environment URL"),
    ("config.credentials", "Credentials"),
    ("config.secret_binding", "Where the client secret may go"),
    ("config.proxy", "Proxy settings"),
    ("config.ca", "CA settings"),
    ("network.dns", "DNS"),
    ("network.proxy", "Proxy route"),
    ("network.tls", "TLS"),
    ("network.http", "Round trip"),
    ("token", "Access token"),
    ("clock", "Clock"),
    ("listing.casing", "Listing: key casing"),
    ("listing.fields", "Listing: identifier and display_name"),
    ("listing.is_custom", "Listing: is_custom"),
    ("listing.unknown_keys", "Listing: keys skconn does not know"),
    ("listing.total_size", "Listing: total_size"),
    ("listing.pages", "Listing: next_page_token"),
    ("listing.page_size", "Listing: page size"),
    ("usage.connections", "Usage: connections"),
    ("usage.connected_accounts", "Usage: connected accounts"),
    ("rate_limit", "Rate limiting"),
    ("plan", "What plan would do now"),
];

/// The title of a check.
pub fn title(id: &str) -> &'static str {
    CHECKS
        .iter()
        .find(|(i, _)| *i == id)
        .map_or("?", |(_, t)| t)
}

/// The checks after `id` in [`CHECKS`] order (what could not run once `id` failed).
pub fn after(id: &str) -> Vec<&'static str> {
    CHECKS
        .iter()
        .map(|(i, _)| *i)
        .skip_while(|i| *i != id)
        .skip(1)
        .collect()
}

/// Counts of statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub ok: usize,
    pub warning: usize,
    pub failed: usize,
}

impl Tally {
    fn of<'a>(checks: impl IntoIterator<Item = &'a Check>) -> Tally {
        let mut t = Tally::default();
        for c in checks {
            match c.status {
                Status::Ok => t.ok += 1,
                Status::Warning => t.warning += 1,
                Status::Failed => t.failed += 1,
            }
        }
        t
    }

    pub fn status(&self) -> Status {
        if self.failed > 0 {
            Status::Failed
        } else if self.warning > 0 {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// The checks of one environment.
#[derive(Debug, Clone, Default)]
pub struct EnvReport {
    pub name: String,
    /// The URL checked (without credentials); empty when it could not be resolved.
    pub url: String,
    pub checks: Vec<Check>,
    /// Checks that could not run because an earlier one failed, in [`CHECKS`] order.
    pub not_run: Vec<&'static str>,
}

impl EnvReport {
    pub fn new(name: &str) -> EnvReport {
        EnvReport {
            name: name.to_string(),
            ..EnvReport::default()
        }
    }

    /// Marks every check after `id` that has not run as not run.
    pub fn stop_after(&mut self, id: &str) {
        for later in after(id) {
            if !self.checks.iter().any(|c| c.id == later) && !self.not_run.contains(&later) {
                self.not_run.push(later);
            }
        }
    }

    pub fn tally(&self) -> Tally {
        Tally::of(&self.checks)
    }
}

/// The whole report: the project's checks and each environment's.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    pub environments: Vec<EnvReport>,
}

impl Report {
    pub fn tally(&self) -> Tally {
        Tally::of(
            self.checks
                .iter()
                .chain(self.environments.iter().flat_map(|e| &e.checks)),
        )
    }

    /// 0 when every check is ok, 2 when there are warnings but no failure, 1 when one failed.
    pub fn exit_code(&self) -> i32 {
        match self.tally().status() {
            Status::Ok => crate::base::error::exit::OK,
            Status::Warning => crate::base::error::exit::CHANGES,
            Status::Failed => crate::base::error::exit::ERROR,
        }
    }
}

/// What `plan` would do now in one environment, as counts (the wiring computes it with the
/// plan path itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOutcome {
    Counts {
        create: usize,
        adopt: usize,
        update: usize,
        delete: usize,
        unchanged: usize,
        /// Deletes held back because the connector still has connections.
        blocked: usize,
        /// Changes whose usage could not be looked up.
        usage_unknown: usize,
        /// Reasons the plan is refused as unsafe.
        refused: usize,
    },
    /// No connector files to plan from (no skconn.yaml and no connectors folder).
    NoProject,
    /// The connector files or skconn.yaml have this many problems.
    InvalidInput(usize),
    /// The plan could not be made.
    Failed(String),
}

/// The `plan` check.
pub fn plan_check(outcome: &PlanOutcome) -> Check {
    const ID: &str = "plan";
    match outcome {
        PlanOutcome::Counts {
            create,
            adopt,
            update,
            delete,
            unchanged,
            blocked,
            usage_unknown,
            refused,
        } => {
            let mut saw = format!(
                "{create} to create, {adopt} to adopt, {update} to update, {delete} to delete, {unchanged} unchanged"
            );
            if *blocked > 0 {
                saw.push_str(&format!("; {blocked} delete(s) blocked: in use"));
            }
            if *usage_unknown > 0 {
                saw.push_str(&format!("; usage unknown for {usage_unknown} change(s)"));
            }
            if *refused > 0 {
                saw.push_str(&format!("; refused as unsafe ({refused} reason(s))"));
                Check::warning(
                    ID,
                    saw,
                    "run `skconn plan` for this environment to read why and how to proceed",
                )
            } else {
                Check::ok(ID, saw)
            }
        }
        PlanOutcome::NoProject => Check::ok(
            ID,
            "not planned: there is no skconn.yaml and no connectors folder here",
        ),
        PlanOutcome::InvalidInput(n) => Check::failed(
            ID,
            format!("not planned: the connector files or skconn.yaml have {n} problem(s)"),
            "run `skconn validate`: it names each problem's file, line and column",
        ),
        PlanOutcome::Failed(message) => Check::failed(
            ID,
            format!("the plan could not be made: {message}"),
            "run `skconn plan` for this environment to see the whole error",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_status_decides_the_exit_code() {
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        r.checks.push(Check::ok("folder", "x"));
        let mut e = EnvReport::new("dev");
        e.checks.push(Check::warning("clock", "x", "y"));
        r.environments.push(e.clone());
        assert_eq!(r.exit_code(), 2);
        e.checks.push(Check::failed("token", "x", "y"));
        r.environments.push(e);
        assert_eq!(r.exit_code(), 1);
        assert_eq!(
            r.tally(),
            Tally {
                ok: 1,
                warning: 2,
                failed: 1
            }
        );
    }

    #[test]
    fn checks_after_a_failure_are_listed_as_not_run() {
        let mut e = EnvReport::new("dev");
        e.checks.push(Check::failed("network.tls", "x", "y"));
        e.stop_after("network.tls");
        assert_eq!(e.not_run.first(), Some(&"network.http"));
        assert_eq!(e.not_run.last(), Some(&"plan"));
        assert!(CHECKS.iter().all(|(id, t)| title(id) == *t));
    }
}
