//! The workflows `skconn init` writes, run as GitHub's runner runs them: a mini runner for the
//! subset of GitHub Actions the workflows use ([`runner`], [`expr`], [`workflow`]), shims for the
//! actions they name ([`shims`]) and for `gh api` ([`gh`]), all against the fake GitHub API and
//! the emulators.
//!
//! The runner must never be kinder than GitHub: it panics on any construct, expression, context,
//! function, shell or action it does not run, and a step gets exactly the environment GitHub
//! would give it, so a workflow cannot pass here and fail there.

mod artifacts;
mod behaviour;
pub mod expr;
pub mod gh;
pub mod runner;
pub mod shims;
mod stories;
pub mod workflow;

#[allow(unused_imports)]
pub use runner::{Conclusion, Environment, JobRun, Run, Runner, StepRun};
