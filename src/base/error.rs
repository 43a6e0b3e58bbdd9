//! The one error type of skconn, input diagnostics, and the exit codes.

use std::path::PathBuf;

/// Exit codes. The table in docs/plans.md ("Exit codes") is written from these.
pub mod exit {
    /// Success; with `plan --detailed-exitcode`, success and no changes.
    pub const OK: i32 = 0;
    /// Any error: invalid input, a failed request, a refused confirmation.
    pub const ERROR: i32 = 1;
    /// `plan --detailed-exitcode` (and `compare`): changes present.
    pub const CHANGES: i32 = 2;
    /// The plan was refused as unsafe.
    pub const UNSAFE: i32 = 3;
    /// Apply ran but not every change was applied.
    pub const PARTIAL: i32 = 4;
    /// Apply finished but the live state did not settle on what was written.
    pub const UNSETTLED: i32 = 5;
    /// `apply --approved`: the fresh plan differs from the approved plan; nothing was sent to
    /// that environment or any later one.
    pub const DIFFERS: i32 = 6;
}

/// One problem in an input file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, relative to the repository root when possible.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// The field, as a path like `auth_patterns[0].oauth_config.token_uri`, if any.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: 0,
            column: 0,
            field: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Diagnostic {
        self.line = line;
        self.column = column;
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, leaving out what is unknown.
    pub fn location(&self) -> String {
        let mut s = self.file.display().to_string();
        if self.line > 0 {
            s.push_str(&format!(":{}", self.line));
            if self.column > 0 {
                s.push_str(&format!(":{}", self.column));
            }
        }
        s
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.location())?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Everything that can end a skconn command early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input files (connectors or `skconn.yaml`) are invalid; nothing was sent.
    #[error("{} problem{} in the input; nothing was sent to any environment", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Input(Vec<Diagnostic>),
    /// A wrong combination of arguments or settings.
    #[error("{0}")]
    Usage(String),
    /// Talking to an environment failed (a `remote::RemoteError`, boxed so that this module
    /// needs nothing of `remote`).
    #[error(transparent)]
    Remote(Box<dyn std::error::Error + Send + Sync>),
    /// The user (or a missing terminal) did not approve an apply.
    #[error("{0}")]
    NotApproved(String),
    /// A plan was refused as unsafe.
    #[error("{0}")]
    Unsafe(String),
    /// `apply --approved`: the fresh plan is not the approved one.
    #[error("{0}")]
    Differs(String),
    /// Local I/O outside the input files.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Talking to GitHub failed, or its answers or the job's context cannot be used (boxed, so
    /// that this module needs nothing of `github`).
    #[error(transparent)]
    Github(Box<dyn std::error::Error + Send + Sync>),
    /// The embedded emulator could not start.
    #[error("the local environment could not start: {0}")]
    Local(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Unsafe(_) => exit::UNSAFE,
            Error::Differs(_) => exit::DIFFERS,
            _ => exit::ERROR,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
