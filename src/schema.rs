//! The JSON Schema of connector files. STUB until generated from the loader's vocabulary.

/// The schema as pretty JSON text.
pub fn schema_text() -> String {
    "{}\n".into()
}
