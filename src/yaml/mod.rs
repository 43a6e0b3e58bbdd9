//! Reading YAML input text, connector files and `skconn.yaml` alike: the guards, the positions of
//! keys and values, and syntax errors in skconn's words.
//!
//! It knows no vocabulary: what a key means is for `vocabulary`, `load` and `settings`. It never
//! changes a file.

pub(crate) mod cap;
pub mod index;
pub mod read;
pub(crate) mod syntax;

use crate::base::error::Diagnostic;
use std::path::Path;

/// The largest connector file (or `skconn.yaml`) skconn reads, in bytes (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a YAML text that is not a connector file (`skconn.yaml`) with the connector files'
/// guards: nesting depth, alias expansion, several documents, syntax. Duplicate keys and tabs
/// in indentation are problems of the [`read::Read`] that still leave its document to check.
/// At most [`cap::MAX_DIAGNOSTICS_PER_FILE`] diagnostics.
pub(crate) fn read_yaml<'t>(file: &Path, text: &'t str) -> Result<read::Read<'t>, Vec<Diagnostic>> {
    read::read(file, text).map_err(cap::cap_per_file)
}
