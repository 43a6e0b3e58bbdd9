//! The key tables of connector files and of `skconn.yaml`, "did you mean" for a misspelt key,
//! and the JSON Schemas made from those tables.
//!
//! One table a file kind: the checks and the schemas are both read from it, so they cannot
//! disagree. It never reads a file or the environment.

pub mod config;
pub mod connector;
pub mod schema;
pub mod suggest;

/// Where editors find the JSON Schema of connector files (the committed copy in this
/// repository, `schema/connector.schema.json`, is the same document).
pub const SCHEMA_URL: &str = "../schema/connector.schema.json";
