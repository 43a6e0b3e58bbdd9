//! Command-line arguments: plain clap types, nothing else. `settings` resolves them.

pub use crate::output::{log::LogFormat, ColorChoice};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

const LONG_ABOUT: &str =
    "skconn keeps Scalekit custom connectors as YAML files in git and makes every \
environment match them.

Each file under connectors/ is one connector, written as the API object in YAML. `skconn plan` \
loads the files, lists the custom connectors of every environment configured in skconn.yaml and \
prints what would change; `skconn apply` makes those changes. Without a skconn.yaml, skconn uses \
the environment named by SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET, \
or, when those are not set, an embedded local environment kept in .skconn/local.json, so it works \
with no credentials.";

const AFTER_HELP: &str = "\
Exit codes:
  0  success (with plan --detailed-exitcode: success and no changes)
  1  error: invalid input, a failed request, an apply that was not approved
  2  plan --detailed-exitcode: changes present
  3  the plan was refused as unsafe
  4  apply: some changes were applied and some failed
  5  apply: all applied, but the server did not keep what was written
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM): the summary says what was applied

Environment:
  NO_COLOR           disables colour (as does --color never)
  GITHUB_ACTIONS     `true` turns colour on in the job log (--color auto)
  RUST_LOG           log filter, e.g. skconn=debug (overrides -v/-q)
  SKCONN_CONFIG      the configuration file (as --config)
  SSL_CERT_FILE, SSL_CERT_DIR
                     extra CA certificates to trust (as --ca-file, or ca_file: in skconn.yaml)
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY
                     proxies for environments' hosts; loopback is never proxied
  CI                 when set, apply refuses the implicit local environment (name it: --env local)";

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(name = "skconn", max_term_width = 100, version = crate::base::build_info::VERSION_LINE, about = "GitOps for Scalekit custom connectors: validate, plan and apply connectors/ to every environment", long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// The configuration file (default: the nearest skconn.yaml upward); its folder is the root.
    #[arg(long, global = true, value_name = "PATH", env = "SKCONN_CONFIG", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// More on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Print only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// Log lines on stderr: `text`, or `json` objects for log pipelines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT", help_heading = GLOBAL)]
    pub log_format: LogFormat,

    /// When to colour: `auto` on a terminal or in GitHub Actions, unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the connector files and skconn.yaml; sends nothing.
    Validate,
    /// Show what apply would change in each environment.
    Plan(PlanArgs),
    /// Plan, confirm, then make every environment match the files.
    Apply(ApplyArgs),
    /// Show how two environments' connectors differ (exit 2 if so).
    Compare(CompareArgs),
    /// Check each environment, read-only, against what skconn expects.
    #[command(long_about = DOCTOR_LONG_ABOUT, after_help = DOCTOR_AFTER_HELP)]
    Doctor(DoctorArgs),
    /// Write a connector file for each live connector that has none yet.
    Import(ImportArgs),
    /// Save environments' live connectors, for plans without credentials.
    #[command(long_about = SNAPSHOT_LONG_ABOUT)]
    Snapshot(SnapshotArgs),
    /// Write a new connector file from a template, an OpenAPI document or an MCP server.
    #[command(long_about = NEW_LONG_ABOUT, after_help = NEW_AFTER_HELP)]
    New(NewArgs),
    /// Print the JSON Schema of connector files (or of skconn.yaml, or of snapshots).
    Schema(SchemaArgs),
    /// Run the Scalekit-compatible emulator (for demos and tests).
    Emulator(EmulatorArgs),
    /// Start a connectors repository (config, examples, schemas, CI).
    Init(InitArgs),
    /// The pull-request comment, what a merge approved, snapshots kept by runs.
    #[command(long_about = GITHUB_LONG_ABOUT)]
    Github(GithubArgs),
    /// The merge-request note and what a merge approved, on GitLab.
    #[command(long_about = GITLAB_LONG_ABOUT)]
    Gitlab(GitlabArgs),
    /// An MCP server on stdio for assistants; read-only unless --allow-apply.
    #[command(long_about = MCP_LONG_ABOUT)]
    Mcp(McpArgs),
    /// Print the completion script for a shell.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `skconn man > skconn.1`.
    Man,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Writes skconn.yaml, connectors/example.yaml, schema/*.schema.json and .gitignore, plus \
.github/workflows/skconn-{plan,apply,drift}.yml (--ci github) or .gitlab-ci.yml (--ci gitlab). \
Never overwrites a file: existing ones are listed as skipped. Needs no credentials. Ends by \
printing what to set up: the GitHub environments, variables, secrets and protection rules, or \
GitLab's CI/CD variables and schedule.

Pull requests plan the --live environments (default: the first) with their credentials, and every \
other one against its latest snapshot, with none; the plan workflow says which in a comment.")]
pub struct InitArgs {
    /// The folder to start the repository in (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// An environment, in the order apply visits them (repeatable; default: dev, prod).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// The CI files to write.
    #[arg(long, value_enum, default_value_t = CiChoice::Github, value_name = "CI")]
    pub ci: CiChoice,

    /// An environment pull requests plan live, with its credentials (repeatable; default: the
    /// first environment; `none` for none). Pull requests plan every other one against its
    /// latest snapshot, with no credential of it.
    #[arg(long = "live", value_name = "ENV")]
    pub live: Vec<String>,
}

/// Which CI system `skconn init` writes files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiChoice {
    /// GitHub Actions workflows in .github/workflows/.
    Github,
    /// A .gitlab-ci.yml that runs skconn's container image.
    Gitlab,
    /// No CI files.
    None,
}

const GITHUB_LONG_ABOUT: &str = "\
The review loop on GitHub. In a pull request, `skconn github comment` shows every environment's \
plan in one comment that each run updates, and `skconn github snapshot` downloads the snapshot \
an environment without credentials in pull requests is planned against; on the push to main \
that merges it, `skconn github approved` reads that comment back and prints the plan digests it \
approved, for `skconn apply --approved`; when an apply stops, `skconn github comment` says why \
on the pull request it merged.

Both read the variables of a GitHub Actions job: GITHUB_API_URL, GITHUB_REPOSITORY, \
GITHUB_EVENT_PATH, GITHUB_SHA, GITHUB_RUN_ID, GITHUB_SERVER_URL, GITHUB_STEP_SUMMARY, and the \
token from GITHUB_TOKEN (or GH_TOKEN), which is never printed.";

#[derive(Debug, Args)]
pub struct GithubArgs {
    #[command(subcommand)]
    pub command: GithubCommand,
}

#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Create or update the one plan comment on the pull request.
    #[command(long_about = GITHUB_COMMENT_LONG_ABOUT, after_help = GITHUB_COMMENT_AFTER_HELP)]
    Comment(GithubCommentArgs),
    /// Print ENV=DIGEST lines of what the merged pull request approved.
    #[command(long_about = GITHUB_APPROVED_LONG_ABOUT, after_help = GITHUB_APPROVED_AFTER_HELP)]
    Approved(GithubApprovedArgs),
    /// Download an environment's latest snapshot kept by a run on the default branch.
    #[command(long_about = GITHUB_SNAPSHOT_LONG_ABOUT, after_help = GITHUB_SNAPSHOT_AFTER_HELP)]
    Snapshot(GithubSnapshotArgs),
}

const GITHUB_SNAPSHOT_LONG_ABOUT: &str = "\
Find the newest unexpired artifact `skconn-snapshot-<env>` uploaded by a workflow run of the \
default branch of this repository (not of another branch, not of a fork), download its zip \
archive with the job's token (the redirect to GitHub's storage is followed without the token) \
and write the one snapshot file it holds to DIR/<env>.snapshot.json, for `skconn plan --against`.

The archive must hold exactly one regular file of at most 64 MiB, whose `environment` is the one \
asked for. When there is no such artifact yet (none was kept, or all expired), it writes \
nothing, says so and how to make one, and exits 0: the plan that needs the file then fails with \
the same advice, in that environment's section of the pull-request comment.

Reads GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH (for the default branch) and the token \
from GITHUB_TOKEN (or GH_TOKEN), which needs `actions: read`.";

const GITHUB_SNAPSHOT_AFTER_HELP: &str = "\
Exit status: 0 when the snapshot was written, or when there is none yet (nothing is written \
then); 1 on an error.

Example, in a pull request's plan job of an environment planned from its snapshot:
  skconn github snapshot --env prod --out-dir snapshots
  skconn plan --env prod --against snapshots/prod.snapshot.json --format json";

#[derive(Debug, Args)]
pub struct GithubSnapshotArgs {
    /// The environment whose snapshot to download.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,

    /// Write DIR/<env>.snapshot.json, making DIR if need be.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// Trust only snapshots of runs on this branch (default: the repository's default branch,
    /// as the event file names it, else `main`).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    #[command(flatten)]
    pub http: HttpArgs,
}

const GITHUB_COMMENT_LONG_ABOUT: &str = "\
Create or update skconn's one comment on the pull request of the event (GITHUB_EVENT_PATH), from \
the JSON plans (`skconn plan --format json`) of one or more jobs, one per environment, in the \
order given. Failed and refused plans are read too: their sections say why.

The comment shows every environment's plan as `plan --format markdown` does, its plan digest \
(a footer line and a hidden marker line), the head commit it was planned for and a link to the \
run. It is found again by its first line `<!-- skconn-plan -->` and its author, the bot the \
token writes as (github-actions[bot], or --author), so every run updates the same comment.

Over GitHub's limit of 65,536 characters it leaves out the least important parts first (digest \
inputs, lists of connectors left alone, collapsed bodies, table rows) and says so; no line, \
table, code block or <details> block is ever cut in half. The same body, whole where it fits in \
1 MiB, is appended to the job summary (GITHUB_STEP_SUMMARY).

A pull request from a fork (its head repository is not GITHUB_REPOSITORY), or a token that may \
not write (403 \"Resource not accessible by integration\"), gets the job summary only, and the \
command says why. A run for a commit that is no longer the pull request's head leaves the \
comment alone.

On a push (GITHUB_EVENT_NAME=push), the inputs are apply reports (`skconn apply --report FILE`): \
for each environment that was not applied cleanly, it creates or updates a comment of its own \
(first line `<!-- skconn-apply env=NAME -->`) on the pull request the pushed commit merged, \
saying that the apply stopped or failed and why, with the fresh plan and how to proceed (the \
manual run of the apply workflow). It never edits the plan comment, which stays the record of \
what was approved.";

const GITHUB_COMMENT_AFTER_HELP: &str = "\
Exit status: 0 when the comment (or, from a fork, the summary) was written and every plan \
succeeded; 1 when a plan failed or on any error; 3 when a plan was refused as unsafe. The \
comment is written first either way, so that the comment job is the one check that fails, and \
says why. On a push: 0 once the apply comments are written (the apply's own exit fails the job).

Example:
  skconn github comment plans/dev.json plans/prod.json";

const GITHUB_APPROVED_LONG_ABOUT: &str = "\
On a push to main, find the pull request the pushed commit (GITHUB_SHA) merged, read skconn's \
comment on it (written by the bot github-actions[bot], or --author; comments by anyone else are \
never trusted), check that it was planned for the pull request's final head commit, and print \
one ENV=DIGEST line per environment on standard output, and nothing else there.

It fails, printing nothing on standard output, when the commit was not merged by a pull request, \
the pull request has no skconn comment, the comment was planned for an older head, an asked \
environment is not in it, or an environment's plan failed or was refused.";

const GITHUB_APPROVED_AFTER_HELP: &str = "\
Exit status: 0 when every asked environment is approved; 1 otherwise (the message says why).

Example, in the apply job of a push to main:
  approved=\"$(skconn github approved --env prod --save approved.json)\"
  skconn apply --auto-approve --env prod --approved \"$approved\"";

#[derive(Debug, Args)]
pub struct GithubCommentArgs {
    /// The JSON plans (`skconn plan --format json`), one per job, in the order to show them.
    #[arg(value_name = "PLAN_JSON", required = true)]
    pub plans: Vec<PathBuf>,

    /// The bot login the token writes as (an App token writes as `<app>[bot]`).
    #[arg(long, value_name = "LOGIN", default_value = "github-actions[bot]")]
    pub author: String,

    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct GithubApprovedArgs {
    /// Only this environment (repeatable; default: every environment in the comment).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Also write the approved digests and digest inputs to FILE, for `apply --approved-plan`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// The bot login whose comment is trusted (an App token writes as `<app>[bot]`).
    #[arg(long, value_name = "LOGIN", default_value = "github-actions[bot]")]
    pub author: String,

    #[command(flatten)]
    pub http: HttpArgs,
}

const GITLAB_LONG_ABOUT: &str = "\
The review loop on GitLab. In a merge-request pipeline, `skconn gitlab note` shows every \
environment's plan in one note on the merge request that each pipeline updates (the body of \
`skconn github comment`); on the default branch after the merge, `skconn gitlab approved` reads \
that note back and prints the plan digests it approved, for `skconn apply --approved`, and when \
an apply stops, `skconn gitlab note apply-<env>.json` says why on the merged merge request. \
`skconn gitlab snapshot` downloads the snapshot that a merge request's plan job plans against.

Both read the variables of a GitLab CI job: CI_API_V4_URL, CI_PROJECT_ID (or \
CI_MERGE_REQUEST_PROJECT_ID), CI_MERGE_REQUEST_IID, CI_MERGE_REQUEST_SOURCE_BRANCH_SHA, \
CI_COMMIT_SHA, CI_PIPELINE_ID, CI_PIPELINE_URL, and the token from SKCONN_GITLAB_TOKEN (a \
project access token with the `api` scope), which is sent as PRIVATE-TOKEN and never printed.";

#[derive(Debug, Args)]
pub struct GitlabArgs {
    #[command(subcommand)]
    pub command: GitlabCommand,
}

#[derive(Debug, Subcommand)]
pub enum GitlabCommand {
    /// Create or update the one plan note on the merge request.
    #[command(long_about = GITLAB_NOTE_LONG_ABOUT, after_help = GITLAB_NOTE_AFTER_HELP)]
    Note(GitlabNoteArgs),
    /// Print ENV=DIGEST lines of what the merged merge request approved.
    #[command(long_about = GITLAB_APPROVED_LONG_ABOUT, after_help = GITLAB_APPROVED_AFTER_HELP)]
    Approved(GitlabApprovedArgs),
    /// Download the latest snapshot an environment's default-branch pipeline kept.
    #[command(long_about = GITLAB_SNAPSHOT_LONG_ABOUT, after_help = GITLAB_SNAPSHOT_AFTER_HELP)]
    Snapshot(GitlabSnapshotArgs),
}

const GITLAB_SNAPSHOT_LONG_ABOUT: &str = "\
Download the file snapshots/<env>.snapshot.json of the artifacts of the job snapshot-<env> (as \
`skconn init --ci gitlab` writes it) in the latest successful pipeline of the default branch \
(CI_DEFAULT_BRANCH, or --branch), with the job's own CI_JOB_TOKEN, and write it to \
DIR/<env>.snapshot.json, for `skconn plan --against`. The file must be the snapshot of the \
environment asked for.

When there is none yet, it writes nothing, says so and how to make one, and exits 0: the plan \
that needs the file then fails, in that environment's section of the merge-request note.";

const GITLAB_SNAPSHOT_AFTER_HELP: &str = "\
Exit status: 0 when the snapshot was written, or when there is none yet (nothing is written \
then); 1 on an error.

Example, in a merge request's plan job of an environment planned from its snapshot:
  skconn gitlab snapshot --env prod --out-dir snapshots
  skconn plan --env prod --against snapshots/prod.snapshot.json --format json";

#[derive(Debug, Args)]
pub struct GitlabSnapshotArgs {
    /// The environment whose snapshot to download.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,

    /// Write DIR/<env>.snapshot.json, making DIR if need be.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,

    /// Trust only snapshots of pipelines of this branch (default: CI_DEFAULT_BRANCH, else
    /// `main`).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    #[command(flatten)]
    pub http: HttpArgs,
}

const GITLAB_NOTE_LONG_ABOUT: &str = "\
Create or update skconn's one note on the merge request of the pipeline (CI_MERGE_REQUEST_IID), \
from the JSON plans (`skconn plan --format json`) of one or more jobs, one per environment, in \
the order given. Failed and refused plans are read too: their sections say why.

The note has the body of `skconn github comment`: every environment's plan, its plan digest \
(a footer line and a hidden marker line), the head commit it was planned for and a link to the \
pipeline. It is found again by its first line `<!-- skconn-plan -->` and its author, the user of \
SKCONN_GITLAB_TOKEN (or --author), so every pipeline updates the same note. Over GitLab's limit \
of 1,000,000 characters it leaves out the least important parts first, and says so.

Without SKCONN_GITLAB_TOKEN it says so and writes the plans to standard output (the job log) \
instead. A pipeline for a commit that is no longer the merge request's head leaves the note \
alone.

In a pipeline of the default branch (CI_COMMIT_BRANCH is CI_DEFAULT_BRANCH, no merge request), \
the inputs are apply reports (`skconn apply --report FILE`): for each environment that was not \
applied cleanly, it creates or updates one note of its own (first line \
`<!-- skconn-apply env=NAME -->`) on the merge request the commit (CI_COMMIT_SHA) merged, found \
as `skconn gitlab approved` finds it, saying that the apply stopped or failed and why, with the \
fresh plan and how to proceed (a pipeline run by hand on the default branch). It never edits \
the plan note. A clean apply notes nothing; a file that is not an apply report is an input \
error; without SKCONN_GITLAB_TOKEN, or when no merge request merged the commit, it says so and \
writes the body to standard output (the job log).";

const GITLAB_NOTE_AFTER_HELP: &str = "\
Exit status: 0 when the note (or, without a token, the job log) was written and every plan \
succeeded; 1 when a plan failed or on any error; 3 when a plan was refused as unsafe. On the \
default branch: 0 once the apply notes (or the job log) are written, the apply's own exit \
failing the job; 1 on an error.

Examples:
  SKCONN_GITLAB_TOKEN=… skconn gitlab note plan-dev.json plan-prod.json
  SKCONN_GITLAB_TOKEN=… skconn gitlab note apply-prod.json   # default branch, after a stop";

const GITLAB_APPROVED_LONG_ABOUT: &str = "\
On the default branch after a merge, find the merge request the pushed commit (CI_COMMIT_SHA) \
merged (its merge, squash or fast-forwarded head commit), read skconn's note on it (written by \
the user of SKCONN_GITLAB_TOKEN, or --author; notes by anyone else are never trusted), check \
that it was planned for the merge request's merged head, and print one ENV=DIGEST line per \
environment on standard output, and nothing else there.

It fails, printing nothing on standard output, when the commit was not merged by a merge \
request, the merge request has no skconn note, the note was planned for an older head, an asked \
environment is not in it, or an environment's plan failed or was refused.";

const GITLAB_APPROVED_AFTER_HELP: &str = "\
Exit status: 0 when every asked environment is approved; 1 otherwise (the message says why).

Example, in the apply job of the default branch:
  skconn gitlab approved --env prod --save approved.json
  skconn apply --env prod --auto-approve --approved @approved.json";

#[derive(Debug, Args)]
pub struct GitlabNoteArgs {
    /// The JSON plans (`skconn plan --format json`), one per job, in the order to show them.
    #[arg(value_name = "PLAN_JSON", required = true)]
    pub plans: Vec<PathBuf>,

    /// The username the token writes as (default: the token's user, as GitLab says).
    #[arg(long, value_name = "USERNAME")]
    pub author: Option<String>,

    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct GitlabApprovedArgs {
    /// Only this environment (repeatable; default: every environment in the note).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Also write the approved digests and digest inputs to FILE, for `apply --approved`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// The username whose note is trusted (default: the token's user, as GitLab says).
    #[arg(long, value_name = "USERNAME")]
    pub author: Option<String>,

    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Only this environment (repeatable; default: all).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text, value_name = "FORMAT")]
    pub format: PlanFormat,

    /// Also save the plan to FILE (apply it with `skconn apply FILE`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Plan the environments of these snapshots (`skconn snapshot`) from them: no request is
    /// sent to those environments and their credentials are not used (only their URL, to
    /// check the snapshot's host). A value from a variable that is not set is shown as
    /// unknown. Repeatable; combines with --env.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub against: Vec<PathBuf>,

    /// Refuse a snapshot older than this: a whole number and a unit, s, m, h or d (90m, 36h, 7d).
    #[arg(long, value_name = "AGE", default_value = "7d", requires = "against")]
    pub max_snapshot_age: String,

    /// With --against: do not read the environments' URLs, and plan against their snapshots
    /// whatever host they were taken of (a job given no URL, such as a fork's pull request on
    /// GitHub, which gets no variables). Each such plan says so on standard error.
    #[arg(long, requires = "against")]
    pub no_host_check: bool,

    #[command(flatten)]
    pub approval: ApprovalArgs,

    #[command(flatten)]
    pub safety: SafetyArgs,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// The plan a reviewer approved: `plan` checks the fresh plan against it, `apply` applies only it.
#[derive(Debug, Clone, Default, Args)]
pub struct ApprovalArgs {
    /// The plan a reviewer approved, as ENV=DIGEST (its plan digest). Repeatable; one value
    /// may hold several, separated by spaces or newlines, as `skconn github approved` prints
    /// them. `@FILE` reads them from a file: ENV=DIGEST lines, or a JSON document (a JSON plan,
    /// a saved plan, or what `skconn github approved --save` wrote) whose environments' digests
    /// are approved, with their changes (as --approved-plan). A fresh plan with another digest
    /// exits 6: plan says why; apply sends nothing to that environment, nor to any environment
    /// after it.
    #[arg(long, value_name = "ENV=DIGEST")]
    pub approved: Vec<String>,

    /// The approved plan itself (a JSON plan, or what `skconn github approved --save` wrote),
    /// to explain a difference change by change. Used where it hashes to the approved digest.
    #[arg(long, value_name = "FILE", requires = "approved")]
    pub approved_plan: Vec<PathBuf>,
}

/// How skconn talks HTTP: only on the commands that call an environment.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP options")]
pub struct HttpArgs {
    /// Timeout of one HTTP request, in seconds; each retry gets a timeout of its own.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// Attempts per HTTP request; 429, 5xx and network errors are retried.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub max_attempts: u32,

    /// Overall limit for one HTTP request and all its retries, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub deadline: u64,

    /// Longest wait a server may ask for before a retry (Retry-After, X-RateLimit-Reset), in
    /// seconds; asked to wait longer, the request fails with a clear error.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub max_wait: u64,

    /// Also trust the CA certificates in this PEM file (a TLS-inspecting proxy's, say) for every
    /// environment; `ca_file:` in skconn.yaml sets one per environment.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

/// The output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text, coloured on a terminal.
    Text,
    /// One JSON document, a contract with a format_version.
    Json,
    /// Markdown for pull-request comments, under GitHub's 65,536-character limit.
    Markdown,
    /// The requests apply would send, as documented curl commands.
    Curl,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema to print.
    #[arg(value_enum, default_value_t = SchemaKind::Connector, value_name = "WHICH")]
    pub which: SchemaKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Connector files (connectors/*.yaml).
    Connector,
    /// The configuration file (skconn.yaml).
    Config,
    /// Snapshots (`skconn snapshot`).
    Snapshot,
}

/// Flags that let a plan past the safety checks.
#[derive(Debug, Clone, Copy, Args)]
pub struct SafetyArgs {
    /// Go past the change threshold: by default, a plan may not delete or update over 30% of
    /// the managed connectors of an environment holding 10 or more.
    #[arg(long)]
    pub force: bool,

    /// Allow deletes although the connectors folder is empty or missing.
    #[arg(long)]
    pub allow_empty: bool,
}

/// The output formats of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people, coloured on a terminal.
    Text,
    /// One JSON document, a contract with a format_version.
    Json,
    /// Markdown, for pull-request comments and job summaries.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Only this environment (repeatable; default: all).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Apply without asking. Required when stdin is not a terminal (CI).
    #[arg(long)]
    pub auto_approve: bool,

    /// A plan saved by `skconn plan --out`: apply exactly it, or nothing if anything moved.
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,

    /// Requests in flight at once per environment (default: `parallelism` in skconn.yaml, else
    /// 8, or 128 for the embedded local environment).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,

    /// Also write FILE, whatever the exit code: the fresh plan as JSON (`plan --format json`)
    /// with each environment's `approval` (with --approved) and `outcome` (applied, failed, not
    /// attempted, and why), and the exit code, for `skconn github comment FILE`.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub approval: ApprovalArgs,

    #[command(flatten)]
    pub safety: SafetyArgs,

    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The environment taken as the reference (e.g. dev).
    #[arg(value_name = "ENV_A")]
    pub a: String,

    /// The environment compared with it (e.g. prod).
    #[arg(value_name = "ENV_B")]
    pub b: String,

    /// Output format of the comparison on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,

    #[command(flatten)]
    pub http: HttpArgs,
}

const DOCTOR_LONG_ABOUT: &str = "\
Check each environment, read-only, and report every difference between what it does and what \
skconn expects of it, before a plan or an apply meets it. Each check is ok, warning or failed, \
with what it saw and what to do:

- configuration: the URL, the variables the credentials come from (named, never shown), the rule \
that keeps a client secret with its URL, the proxy and CA settings in force, the local folder;
- network: DNS, the proxy used or bypassed, TLS (who issued the certificate, and whether a CA \
file or the system's roots verified it), round-trip time;
- the token: obtained, its lifetime, and the server's clock against this machine's (Date);
- the listing, over all its pages: key casing, identifier and display_name, is_custom, keys \
skconn does not know (by name), total_size, next_page_token, the page size the server honours;
- usage look-ups: whether the connections and connected-accounts listings answer, or why not, \
and what plans will therefore show;
- rate limiting: the headers the server sends;
- what `skconn plan` would do now, as counts.

It sends no write: every request is a GET, besides the token request. Its output holds no \
secret, token, end user's identifier or value of a connector's field, so that the JSON report \
can be attached to a bug report as it is.";

const DOCTOR_AFTER_HELP: &str = "\
Exit status: 0 when every check is ok, 2 when some are warnings and none failed, 1 when a check \
failed (or the configuration cannot be read at all).

Examples:
  skconn doctor
  skconn doctor --env prod --format json > doctor.json
  skconn doctor --format markdown >> \"$GITHUB_STEP_SUMMARY\"";

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only this environment (repeatable; default: all).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Output format of the report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,

    #[command(flatten)]
    pub http: HttpArgs,
}

const SNAPSHOT_LONG_ABOUT: &str = "\
Write each selected environment's live custom connectors as one JSON document: everything a plan \
reads from it (the connectors as listed, drift, usage counts unless `usage: off`, and where a live \
value is what the files' ${VAR} text expands to), so that `skconn plan --against FILE` can plan \
that environment with no credentials. A snapshot holds no secret and no token: a string holding a \
masked value is a keyed digest. The connector files must be valid (they give the templates); \
nothing is written to any environment.

Without --out or --out-dir the document goes to standard output (one environment). \
`skconn schema snapshot` prints its JSON Schema.";

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Only this environment (repeatable; default: all).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,

    /// Write the snapshot to FILE (one environment).
    #[arg(long, value_name = "FILE", conflicts_with = "out_dir")]
    pub out: Option<PathBuf>,

    /// Write one snapshot per environment: DIR/<env>.snapshot.json.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    #[command(flatten)]
    pub http: HttpArgs,
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

    /// Overwrite connector files that already exist.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on. Use port 0 for any free port.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Keep the state in this JSON file (read at start, saved on changes).
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

    /// The largest page the list endpoint returns, whatever is asked.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_page_size: usize,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub token_ttl: u64,

    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,

    /// Shift the Date header of every answer by this many seconds (negative: behind), as a
    /// server whose clock is off.
    #[arg(
        long,
        default_value_t = 0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub clock_skew: i64,

    /// Inject a fault (repeatable): KIND[:METHOD[:TIMES]][@PATH_PREFIX], e.g. `503:PUT:2`
    /// (`--help` lists the kinds).
    #[arg(long = "fault", value_name = "SPEC", long_help = crate::emulator::FAULT_HELP)]
    pub faults: Vec<String>,

    /// Give a connector a connection (repeatable): PROVIDER_KEY=NAME[:STATUS[:ACCOUNTS]], e.g.
    /// `my_asana:48213=asana-live:COMPLETED:37`. A connector with connections refuses deletion.
    #[arg(long = "connection", value_name = "SPEC")]
    pub connections: Vec<String>,

    /// The status refusing deletes of connectors in use.
    #[arg(long, default_value = "400", value_name = "STATUS", value_parser = ["400", "403"])]
    pub in_use_status: String,

    /// Serve no app-connections listing (`/api/v1/connections/app` answers 404), as a server
    /// without that preview endpoint.
    #[arg(long)]
    pub no_app_connections: bool,
}

const MCP_LONG_ABOUT: &str = "\
A Model Context Protocol server on standard input and output, for the repository it is started \
in (or --config). Its tools: validate, plan (per environment: changes, warnings, usage, plan \
digest, and the Markdown body; `against` plans from snapshots without credentials), \
new_connector (from a template, an OpenAPI document or an MCP server; the YAML and every \
decision; writes a new file under the connectors folder only with write: true, never \
overwriting), explain_connector, list_connectors (read-only, never credentials) and schema. \
Resources: the connector files and the JSON Schemas. Every result is made inert and redacted, \
as all skconn output is. See docs/mcp.md.

Read-only by default: no tool writes to any Scalekit environment unless the server is started \
with --allow-apply. Then `apply` takes one environment and the plan digest the assistant \
showed, and applies only that plan: if a fresh plan has another digest, nothing is sent (exit \
6's rule), so approving the tool call approves exactly what runs.

Claude Code, in the repository:

  claude mcp add skconn -- skconn mcp

Claude Code's .mcp.json, Cursor's .cursor/mcp.json (in the repository):

  {\"mcpServers\": {\"skconn\": {\"command\": \"skconn\", \"args\": [\"mcp\"]}}}

Claude Desktop's claude_desktop_config.json (it starts servers in no particular folder, so name \
the repository's skconn.yaml):

  {\"mcpServers\": {\"skconn\": {\"command\": \"skconn\",
    \"args\": [\"mcp\", \"--config\", \"/path/to/repo/skconn.yaml\"]}}}

VS Code's .vscode/mcp.json:

  {\"servers\": {\"skconn\": {\"type\": \"stdio\",
    \"command\": \"skconn\", \"args\": [\"mcp\"]}}}

To offer `apply`, add \"--allow-apply\" to the args:

  claude mcp add skconn -- skconn mcp --allow-apply

Credentials come from the server's environment, as for every command: give it \
those of development environments only; Production is applied by the pipeline after review. \
Logs go to standard error.";

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Offer the `apply` tool (off by default: then no tool writes to any environment). It
    /// applies one environment's plan only if its digest is the one the person approved.
    #[arg(long)]
    pub allow_apply: bool,
}

const NEW_LONG_ABOUT: &str = "\
Write a new connector file, connectors/<name>.yaml (or --out FILE), and check it with the loader. \
An existing file is never overwritten, and nothing is sent to any environment.

From a template: `skconn new \"Acme CRM\" --type bearer` writes a valid file for that pattern with \
the usual field names and a comment on every value to fill in.

From an OpenAPI 3.x or Swagger 2.0 document (file or https URL): --from-openapi derives the auth \
pattern from the document's security schemes, proxy_url from its servers, the display name and \
description from info. The file starts with a provenance comment (source, SHA-256, scheme, \
heuristics); --explain prints every decision. skconn refuses to guess: several usable schemes need \
--scheme, none needs --type.

From a remote MCP server: --from-mcp probes the server without credentials, as the MCP \
authorization specification defines (a 401 challenge, then the protected-resource and the \
authorization server's metadata), and writes an MCP connector: OAUTH with PKCE, a static \
credential, or NO_AUTH.

In a terminal, missing answers are asked for; otherwise they are an error naming the flags.";

const NEW_AFTER_HELP: &str = "\
Examples:
  skconn new \"Acme CRM\" --type oauth
  skconn new \"Acme MCP\" --type oauth --mcp --proxy-url https://mcp.acme.com/mcp
  skconn new --from-openapi openapi.yaml --scheme oauth2 --explain
  skconn new --from-openapi https://api.acme.com/openapi.json --type bearer
  skconn new --from-mcp https://mcp.acme.com/mcp";

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The connector's display name: letters, digits and spaces.
    #[arg(value_name = "DISPLAY_NAME")]
    pub display_name: Option<String>,

    /// The display name (as DISPLAY_NAME); replaces an OpenAPI title.
    #[arg(long, value_name = "NAME", conflicts_with = "display_name")]
    pub name: Option<String>,

    /// The auth pattern (with --from-*: when the source does not say).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<AuthType>,

    /// An MCP server connector (`is_mcp: true`; OAuth with PKCE).
    #[arg(long)]
    pub mcp: bool,

    /// The API's base URL (https, may hold {{placeholders}}).
    #[arg(long, value_name = "URL")]
    pub proxy_url: Option<String>,

    /// The API key's header, e.g. X-API-Key (--type api-key).
    #[arg(long, value_name = "NAME")]
    pub header: Option<String>,

    /// Write this file instead of connectors/<name>.yaml.
    #[arg(long, value_name = "FILE", conflicts_with = "stdout")]
    pub out: Option<PathBuf>,

    /// Print the file on stdout instead of writing it.
    #[arg(long)]
    pub stdout: bool,

    /// Derive it from an OpenAPI 3.x or Swagger 2.0 file or https URL.
    #[arg(long, value_name = "PATH|URL", conflicts_with = "from_mcp")]
    pub from_openapi: Option<String>,

    /// Derive it by probing a remote MCP server, without credentials.
    #[arg(long, value_name = "URL")]
    pub from_mcp: Option<String>,

    /// With --from-openapi: the security scheme to use, by name.
    #[arg(long, value_name = "NAME", requires = "from_openapi")]
    pub scheme: Option<String>,

    /// With --from-openapi: the https URL relative servers resolve to.
    #[arg(long, value_name = "URL", requires = "from_openapi")]
    pub base_url: Option<String>,

    /// Print every decision and its reason on stderr.
    #[arg(long)]
    pub explain: bool,

    /// Seconds to wait for each request fetching a document or probing.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        help_heading = "HTTP options"
    )]
    pub timeout: u64,
}

/// The auth patterns `skconn new --type` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthType {
    /// OAUTH: authorization code (REST), or PKCE with dynamic registration (--mcp).
    Oauth,
    /// BASIC: username and password.
    Basic,
    /// BEARER: a token sent as `Authorization: Bearer <token>`.
    Bearer,
    /// API_KEY: a key in a header (--header).
    ApiKey,
    /// NO_AUTH: nothing to enter (public MCP servers).
    NoAuth,
}
