//! The bound on every listing skconn pages through: a server that keeps answering with a next
//! page token cannot keep skconn listing forever.
//!
//! - A page token seen twice stops the listing at once.
//! - When the server reports a total (`total_size` above 0), a listing reads at most twice
//!   the pages that total needs at the size of its first page, and two more (pages may vary in
//!   size, and entries may be added while listing): [`Pages::limit`].
//! - Otherwise at most [`MAX_PAGES`] pages.
//!
//! Past the bound the listing fails, saying what was listed so far. What it must never do:
//! count on time (a bound in pages holds however fast the server answers), or end a listing
//! early without saying so.

use std::collections::HashSet;

/// The most pages read of a listing whose server reports no total.
pub const MAX_PAGES: usize = 1000;

/// How far a listing has gone.
pub(super) struct Pages {
    /// What is listed, in the plural, for messages: `connectors`, `connections`.
    what: &'static str,
    pages: usize,
    first_page: Option<usize>,
    total: Option<u64>,
    seen: HashSet<String>,
}

impl Pages {
    pub(super) fn new(what: &'static str) -> Pages {
        Pages {
            what,
            pages: 0,
            first_page: None,
            total: None,
            seen: HashSet::new(),
        }
    }

    /// How many pages have been read.
    pub(super) fn read(&self) -> usize {
        self.pages
    }

    /// The most pages this listing may read, from what the server has said so far.
    pub(super) fn limit(&self) -> usize {
        match (self.total, self.first_page) {
            (Some(total), Some(size)) if size > 0 => {
                let needed = total.div_ceil(size as u64);
                usize::try_from(needed.saturating_mul(2).saturating_add(2)).unwrap_or(usize::MAX)
            }
            _ => MAX_PAGES,
        }
    }

    /// Records a page of `entries` entries (`listed` distinct ones so far), the total the server
    /// reported on it (0 or none: not reported) and its next page token. `Ok(Some(token))`:
    /// read that page next; `Ok(None)`: the listing is complete; `Err`: it must stop, and why.
    pub(super) fn next(
        &mut self,
        entries: usize,
        listed: usize,
        total: Option<u64>,
        next: String,
    ) -> Result<Option<String>, String> {
        self.pages += 1;
        self.first_page.get_or_insert(entries);
        if let Some(t) = total.filter(|t| *t > 0) {
            self.total = Some(self.total.map_or(t, |seen| seen.max(t)));
        }
        if next.is_empty() {
            return Ok(None);
        }
        let so_far = |pages: usize| {
            let reported = match self.total {
                Some(t) => format!(", the server reports {t} in all"),
                None => String::new(),
            };
            format!(
                "after {pages} page{} ({listed} {} listed{reported})",
                if pages == 1 { "" } else { "s" },
                self.what
            )
        };
        if !self.seen.insert(next.clone()) {
            return Err(format!(
                "the listing of {} returned the page token {next:?} a second time {}; \
                 stopping instead of listing forever",
                self.what,
                so_far(self.pages)
            ));
        }
        if self.pages >= self.limit() {
            let bound = match self.total {
                Some(_) => "twice the pages its total needs, and 2",
                None => "the most skconn reads of a listing without a total",
            };
            return Err(format!(
                "the listing of {} did not end {}: the server keeps sending a next page \
                 token; stopping at {} pages ({bound})",
                self.what,
                so_far(self.pages),
                self.pages
            ));
        }
        Ok(Some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pages: &mut Pages, entries: usize, total: Option<u64>) -> Result<usize, String> {
        let mut n = 0;
        loop {
            n += 1;
            match pages.next(entries, entries * n, total, format!("t{n}"))? {
                Some(_) => {}
                None => return Ok(n),
            }
        }
    }

    #[test]
    fn a_listing_that_never_ends_is_stopped_by_its_total_or_the_cap() {
        let mut p = Pages::new("connectors");
        let err = run(&mut p, 3, Some(7)).unwrap_err();
        assert_eq!(p.read(), 8);
        assert!(
            err.contains("after 8 pages (24 connectors listed, the server reports 7 in all)"),
            "{err}"
        );
        let mut p = Pages::new("connected accounts");
        let err = run(&mut p, 100, None).unwrap_err();
        assert_eq!(p.read(), MAX_PAGES);
        assert!(err.contains("did not end after 1000 pages"), "{err}");
        // A total of 0 is "not counted"; an empty first page gives no size to divide by.
        assert_eq!(Pages::new("x").limit(), MAX_PAGES);
        let mut p = Pages::new("x");
        let _ = p.next(0, 0, Some(5), "a".into());
        assert_eq!(p.limit(), MAX_PAGES);
        let mut p = Pages::new("x");
        let _ = p.next(10, 10, Some(0), "a".into());
        assert_eq!(p.limit(), MAX_PAGES);
    }

    #[test]
    fn a_repeated_token_stops_at_once_and_a_last_page_ends() {
        let mut p = Pages::new("connections");
        assert_eq!(p.next(1, 1, None, "a".into()), Ok(Some("a".into())));
        let err = p.next(1, 1, None, "a".into()).unwrap_err();
        assert!(
            err.contains("page token \"a\" a second time after 2 pages"),
            "{err}"
        );
        let mut p = Pages::new("connections");
        assert_eq!(p.next(3, 3, Some(5), "a".into()), Ok(Some("a".into())));
        assert_eq!(p.next(2, 5, Some(5), String::new()), Ok(None));
    }

    #[test]
    fn a_growing_total_raises_the_bound() {
        let mut p = Pages::new("connectors");
        let _ = p.next(10, 10, Some(10), "a".into());
        assert_eq!(p.limit(), 4);
        let _ = p.next(10, 20, Some(50), "b".into());
        assert_eq!(p.limit(), 12);
    }
}
