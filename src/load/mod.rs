//! The desired side: the only code that knows YAML (for connector files).
//!
//! STUB — interface only.

use crate::error::Diagnostic;
use crate::model::Desired;
use std::path::Path;

/// Loads and validates every connector file under `dir`. Returns every problem at once.
/// `root` is the repository root: file paths in diagnostics are relative to it.
pub fn load_dir(_root: &Path, _dir: &Path) -> Result<Vec<Desired>, Vec<Diagnostic>> {
    unimplemented!()
}
