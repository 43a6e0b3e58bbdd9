//! Arbitrary bytes as one connector file: loading returns a connector or diagnostics, and never
//! panics, hangs or allocates without bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.yaml");
    match skconn::load::load_bytes(path, data) {
        Ok(desired) => {
            // A loaded connector has a name and an object body.
            assert!(!desired.display_name.is_empty());
            assert!(desired.body.is_object());
        }
        Err(diags) => {
            // A refused file always says why.
            assert!(!diags.is_empty());
        }
    }
});
