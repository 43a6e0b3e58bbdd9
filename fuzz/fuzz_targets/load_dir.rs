//! Arbitrary bytes as a connectors directory: the input is split on `\0\0` into up to eight
//! files (some in a subfolder, one with a name that is not a connector file), written to a
//! temporary directory and loaded with `load_dir`, which exercises the checks across files
//! (duplicate names, previous names) as well as each file's own.

#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "a.yaml",
    "b.yml",
    "sub/c.yaml",
    "sub/deeper/d.YAML",
    "e.yaml",
    "notes.txt",
    ".hidden.yaml",
    "f.yaml",
];

fuzz_target!(|data: &[u8]| {
    let Ok(root) = tempfile::tempdir() else {
        return;
    };
    let dir = root.path().join("connectors");
    for (part, name) in split(data).into_iter().zip(NAMES) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                return;
            }
        }
        if std::fs::write(&path, part).is_err() {
            return;
        }
    }
    match skconn::load::load_dir(root.path(), &dir) {
        Ok(connectors) => {
            let mut names: Vec<&str> = connectors.iter().map(|c| c.display_name.as_str()).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(
                before,
                names.len(),
                "two loaded connectors share a display name"
            );
        }
        Err(diags) => assert!(!diags.is_empty()),
    }
});

/// The input cut at every `\0\0`.
fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 {
            parts.push(&data[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&data[start..]);
    parts
}
