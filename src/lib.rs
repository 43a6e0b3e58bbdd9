//! skconn keeps Scalekit custom connectors as YAML in git, and plans and applies them to every
//! environment.
//!
//! The data path, one module a step:
//!
//! ```text
//! files ──load──▶ Desired ─┐
//!                          ├─normalize─▶ plan::diff ─▶ Plan ─┬─▶ render (text, json, markdown, curl)
//! API ───remote─▶ Live ────┘                                 └─▶ apply ──remote──▶ API
//! ```
//!
//! `settings` resolves flags, environment variables and `skconn.yaml` once (its vocabulary is
//! `config`); `run` wires the commands; `github` writes the pull-request comment and reads back
//! what it approved; `doctor` checks, read-only, that an environment is what skconn's reading
//! of the contract expects; `emulator` is a Scalekit-compatible server used by tests
//! and the local environment; `scaffold` renders the files `skconn init` writes; `build_info` is
//! what the build knew (version, commit, target).

pub mod apply;
pub mod authoring;
pub mod base;
pub mod cli;
pub mod doctor;
pub mod emulator;
pub mod github;
pub mod load;
pub mod model;
pub mod output;
pub mod plan;
pub mod remote;
pub mod render;
pub mod run;
pub mod scaffold;
pub mod settings;
pub mod snapshot;
pub mod vocabulary;
pub mod yaml;
