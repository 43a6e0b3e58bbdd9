//! skconn keeps Scalekit custom connectors as YAML in git, and plans and applies them to every
//! environment.
//!
//! The data path, one room a step (see `ARCHITECTURE.md` for the map and the declared order of
//! rooms that `tests/tidy.rs` checks):
//!
//! ```text
//! files ──load──▶ Desired ─┐
//!                          ├─model (normalised)─▶ plan::diff_env ─▶ Plan ─┬─▶ render ─▶ output
//! API ───remote─▶ Live ────┘                                              └─▶ apply ──remote──▶ API
//! ```
//!
//! `base` (errors, build facts, time) and `output` (the only way out: redaction and inert text,
//! applied last) are below everything; `yaml` reads YAML text, `vocabulary` holds the key tables
//! and schemas, `settings` resolves flags, variables, `skconn.yaml` and credentials once;
//! `snapshot` stands in for an environment; `github` writes the pull-request comment and reads
//! back what it approved, `gitlab` the same with a merge-request note; `mcp` offers the commands
//! to assistants as MCP tools; `doctor` checks an environment read-only; `authoring` and `scaffold`
//! write first files; `emulator` is a Scalekit-compatible server; `cli` is the command line and
//! `run` wires the commands, one file each.
//!
//! This file only declares the rooms: it holds no items, and nothing imports from it.

pub mod apply;
pub mod authoring;
pub mod base;
pub mod cli;
pub mod doctor;
pub mod emulator;
pub mod forge;
pub mod github;
pub mod gitlab;
pub mod load;
pub mod mcp;
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
