//! The most problems reported for one file: the rest are counted ("and N more"), so that a
//! hostile file cannot flood the output.

use crate::base::error::Diagnostic;
use std::path::Path;

/// The most problems reported for one file; the rest are counted ("and N more").
pub const MAX_DIAGNOSTICS_PER_FILE: usize = 50;

/// Keeps the first [`MAX_DIAGNOSTICS_PER_FILE`] diagnostics of each file (the list is sorted
/// by file) and says how many more there were, so that a hostile file cannot flood the output.
pub(crate) fn cap_per_file(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    cap_per_file_counting(diags, |_| 0)
}

/// Like [`cap_per_file`]; `left_out(file)` more problems of that file were found but not
/// kept, and are counted with the rest.
pub(crate) fn cap_per_file_counting(
    diags: Vec<Diagnostic>,
    left_out: impl Fn(&Path) -> usize,
) -> Vec<Diagnostic> {
    cap_by_file(
        diags,
        |d| &d.file,
        left_out,
        |first, more| {
            Diagnostic::new(
                &first.file,
                format!("and {more} more problem(s) in this file, not shown"),
            )
            .help(format!(
                "fix the {MAX_DIAGNOSTICS_PER_FILE} problems above and run again to see the rest"
            ))
        },
    )
}

/// Keeps the first [`MAX_DIAGNOSTICS_PER_FILE`] items of each file of a list sorted by file,
/// and adds `more(first of the file, how many were left out)` after a file that had more
/// (counting the `extra(file)` that were never in the list).
pub(crate) fn cap_by_file<T>(
    items: Vec<T>,
    file_of: impl Fn(&T) -> &Path,
    extra: impl Fn(&Path) -> usize,
    more: impl Fn(&T, usize) -> T,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len().min(1024));
    let mut iter = items.into_iter().peekable();
    while let Some(first) = iter.next() {
        let file = file_of(&first).to_path_buf();
        let start = out.len();
        out.push(first);
        let mut left_out = extra(&file);
        while let Some(item) = iter.next_if(|i| file_of(i) == file) {
            if out.len() - start < MAX_DIAGNOSTICS_PER_FILE {
                out.push(item);
            } else {
                left_out += 1;
            }
        }
        if left_out > 0 {
            let note = more(&out[start], left_out);
            out.push(note);
        }
    }
    out
}
