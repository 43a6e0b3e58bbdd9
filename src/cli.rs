//! Command-line arguments: plain clap types, nothing else. `settings` resolves them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

const LONG_ABOUT: &str = "\
skconn keeps Scalekit custom connectors as YAML files in git and makes every environment match them.

Each file under connectors/ is one connector, written as the API object in YAML. `skconn plan` loads
the files, lists the custom connectors of every environment configured in skconn.yaml and prints what
would change; `skconn apply` makes those changes. Without a skconn.yaml, skconn uses the environment
named by SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET, or, when those are
not set, an embedded local environment kept in .skconn/local.json, so it works with no credentials.";

const AFTER_HELP: &str = "\
Exit codes:
  0  success (with plan --detailed-exitcode: success and no changes)
  1  error: invalid input, a failed request, an apply that was not approved
  2  plan --detailed-exitcode: changes present
  3  the plan was refused as unsafe
  4  apply: some changes were applied and some failed
  5  apply: every change was applied, but the server did not keep what was written
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM): the summary says what was applied

Environment:
  NO_COLOR           disables colour (as does --color never)
  RUST_LOG           log filter, e.g. skconn=debug (overrides -v/-q)
  SKCONN_CONFIG      the configuration file (as --config)
  CI                 when set, apply refuses the implicit local environment (name it: --env local)";

#[derive(Debug, Parser)]
#[command(name = "skconn", version, about = "GitOps for Scalekit custom connectors: validate, plan and apply connectors/ to every environment", long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// The configuration file. Its folder is the repository root.
    #[arg(long, global = true, value_name = "PATH", env = "SKCONN_CONFIG")]
    pub config: Option<PathBuf>,

    /// More detail on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Timeout of one HTTP request, in seconds (retries get their own).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// Attempts per request before giving up (retries on 429, 5xx, timeouts, lost connections).
    #[arg(long, global = true, value_name = "N", default_value_t = 6)]
    pub max_attempts: u32,

    /// Longest wait a server may ask for before a retry (Retry-After, X-RateLimit-Reset), in
    /// seconds; a request asked to wait longer fails with a clear error.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 120)]
    pub max_wait: u64,

    /// Overall limit for one request and its retries, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 300)]
    pub deadline: u64,

    /// How log lines on stderr are written: `text` for people, `json` (one object per line,
    /// with level, target, environment, request, attempt and elapsed) for log pipelines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// When to use colour. `auto` uses it on a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Plain lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and check every connector file and skconn.yaml. Sends nothing anywhere.
    Validate,
    /// Show what apply would change in each environment.
    Plan(PlanArgs),
    /// Plan, ask for confirmation, then make every environment match the files.
    Apply(ApplyArgs),
    /// Show how two environments' live connectors differ (exit 2 when they do).
    Compare(CompareArgs),
    /// Write a connector file for each live connector that has none yet.
    Import(ImportArgs),
    /// Print the JSON Schema of connector files.
    Schema,
    /// Run the Scalekit-compatible emulator in the foreground (for demos and tests).
    Emulator(EmulatorArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Only these environments (repeatable). Default: every environment in skconn.yaml.
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,

    /// Also save the plan to FILE, for `skconn apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub safety: SafetyArgs,
}

/// Flags that let a plan past the safety checks.
#[derive(Debug, Clone, Copy, Args)]
pub struct SafetyArgs {
    /// Go past the change threshold (by default a plan may not delete, or update, more than 30%
    /// of an environment's managed connectors once it holds at least 10).
    #[arg(long)]
    pub force: bool,

    /// Let an empty or missing connectors folder delete connectors.
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terraform-like text, coloured on a terminal.
    Text,
    /// One JSON document (a documented contract with a format_version).
    Json,
    /// Markdown for pull-request comments, under GitHub's 65,536-character limit.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Only these environments (repeatable). Default: every environment in skconn.yaml.
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Apply without asking. Required when stdin is not a terminal (CI).
    #[arg(long)]
    pub auto_approve: bool,

    /// A plan saved by `skconn plan --out`: apply exactly it, or nothing if anything moved.
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,

    /// Requests in flight at once per environment (default 8, 128 for the embedded local
    /// environment, or `parallelism` in skconn.yaml).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,

    #[command(flatten)]
    pub safety: SafetyArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The environment taken as the reference (e.g. dev).
    #[arg(value_name = "ENV_A")]
    pub a: String,

    /// The environment compared with it (e.g. prod).
    #[arg(value_name = "ENV_B")]
    pub b: String,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The environment to import from.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,

    /// Only these connectors, by display name (repeatable). Default: every live custom
    /// connector that no file defines.
    #[arg(long = "name", value_name = "DISPLAY_NAME")]
    pub names: Vec<String>,

    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on. Use port 0 for any free port.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Keep the state in this JSON file (loaded at start, written after every change).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// The client id the emulator accepts.
    #[arg(long, value_name = "ID", default_value = "skc_emulator")]
    pub client_id: String,

    /// The client secret the emulator accepts. Default: a random one, printed at start.
    #[arg(
        long,
        value_name = "SECRET",
        env = "SKCONN_EMULATOR_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,

    /// The largest page the list endpoint returns, whatever the client asks for.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_page_size: usize,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub token_ttl: u64,

    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,

    /// Inject a fault (repeatable); see the README for the syntax.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,
}
