//! "Did you mean": the closest known word to a misspelt one, when it is close enough to be a
//! likely typo. Pure.

/// The closest known word to `word`, if it is close enough to be a likely typo.
pub fn suggest<'k>(word: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let w = norm(word);
    let limit = match w.chars().count() {
        0..=4 => 1,
        5..=10 => 2,
        _ => 3,
    };
    let len = w.chars().count();
    known
        // The lengths alone can rule a word out (the distance is at least their difference):
        // cheap, for files of many unknown keys.
        .filter(|k| k.chars().count().abs_diff(len) <= limit)
        .map(|k| (distance(&w, &norm(k)), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("abc", "acb"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
