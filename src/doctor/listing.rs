//! The shape of an environment's listing, page by page, compared with what skconn reads: key
//! casing, `identifier` and `display_name`, `is_custom`, keys skconn does not know (by name,
//! never by value), `total_size`, `next_page_token` and the page size the server honours.
//!
//! A pure reader over the pages `remote` walks: it keeps key names and counts, never a value.

use super::Check;
use crate::model::{API_FIELDS, SERVER_OWNED};
use crate::remote::{camel_key, PageSeen, RawAnswer, MAX_PAGES, PAGE_KEYS};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// At most this many key names are listed in one check.
const MAX_NAMES: usize = 20;
/// A key name longer than this is cut (server text).
const MAX_NAME_CHARS: usize = 64;

/// How one page reported its total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Total {
    Missing,
    Zero,
    Number(u64),
    Unreadable,
}

/// How the last page read ended the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum End {
    #[default]
    Empty,
    Missing,
    NotText,
}

/// What the pages of one listing held.
#[derive(Debug, Default)]
pub struct Shape {
    pages: usize,
    /// The page (1-based) and why it could not be read, if one could not.
    unreadable: Option<(usize, String)>,
    /// lowerCamelCase keys found, and the contract's key each stands for.
    camel: BTreeMap<String, &'static str>,
    unknown_top: BTreeSet<String>,
    /// Provider keys skconn does not know, and on how many entries.
    unknown: BTreeMap<String, usize>,
    entries: usize,
    per_page: Vec<usize>,
    no_identifier: usize,
    no_display_name: usize,
    custom: usize,
    not_custom: usize,
    no_is_custom: usize,
    odd_is_custom: usize,
    identifiers: HashSet<String>,
    /// The first custom connector's identifier: what the app-connections look-up filters by.
    first_custom: Option<String>,
    repeated: usize,
    totals: Vec<Total>,
    end: End,
}

fn cut(name: &str) -> String {
    super::cut(name, MAX_NAME_CHARS)
}

/// A key in snake_case or lowerCamelCase: the value under either.
fn either<'a>(obj: &'a Map<String, Value>, snake: &str, camel: &str) -> Option<&'a Value> {
    obj.get(snake).or_else(|| obj.get(camel))
}

/// At most [`MAX_NAMES`] items, then how many more.
fn names(list: impl IntoIterator<Item = String>) -> String {
    let all: Vec<String> = list.into_iter().collect();
    let mut shown: Vec<String> = all.iter().take(MAX_NAMES).cloned().collect();
    if all.len() > MAX_NAMES {
        shown.push(format!("and {} more", all.len() - MAX_NAMES));
    }
    shown.join(", ")
}

impl Shape {
    /// Reads one page: what it holds, and how the listing goes on.
    pub fn page(&mut self, raw: &RawAnswer) -> PageSeen {
        self.pages += 1;
        let page = if raw.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice::<Value>(&raw.body) {
                Ok(v) => v,
                Err(e) => {
                    self.unreadable
                        .get_or_insert((self.pages, format!("it is not JSON ({e})")));
                    return PageSeen::default();
                }
            }
        };
        let empty = Map::new();
        let obj = match &page {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => {
                self.unreadable
                    .get_or_insert((self.pages, "it is not a JSON object".into()));
                return PageSeen::default();
            }
        };
        for k in obj.keys() {
            if PAGE_KEYS.contains(&k.as_str()) {
                continue;
            }
            match camel_key(k) {
                Some(meant) => {
                    self.camel.insert(cut(k), meant);
                }
                None => {
                    self.unknown_top.insert(cut(k));
                }
            }
        }
        let providers = match obj.get("providers") {
            Some(Value::Array(a)) => a.as_slice(),
            None | Some(Value::Null) => &[][..],
            Some(_) => {
                self.unreadable
                    .get_or_insert((self.pages, "`providers` is not a list".into()));
                &[][..]
            }
        };
        for p in providers {
            self.entry(p);
        }
        self.per_page.push(providers.len());
        self.entries += providers.len();
        let total = match either(obj, "total_size", "totalSize") {
            None | Some(Value::Null) => Total::Missing,
            Some(v) => match v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()) {
                Some(0) => Total::Zero,
                Some(n) => Total::Number(n),
                None => Total::Unreadable,
            },
        };
        self.totals.push(total);
        let next = match either(obj, "next_page_token", "nextPageToken") {
            Some(Value::String(s)) => {
                self.end = End::Empty;
                s.clone()
            }
            None | Some(Value::Null) => {
                self.end = End::Missing;
                String::new()
            }
            Some(_) => {
                self.end = End::NotText;
                String::new()
            }
        };
        PageSeen {
            entries: providers.len(),
            total: match total {
                Total::Number(n) => Some(n),
                _ => None,
            },
            next,
        }
    }

    fn entry(&mut self, p: &Value) {
        let Some(obj) = p.as_object() else {
            self.no_identifier += 1;
            return;
        };
        for k in obj.keys() {
            let known = API_FIELDS.contains(&k.as_str()) || SERVER_OWNED.contains(&k.as_str());
            if known {
                continue;
            }
            match camel_key(k) {
                Some(meant) => {
                    self.camel.insert(cut(k), meant);
                }
                None => *self.unknown.entry(cut(k)).or_default() += 1,
            }
        }
        match obj
            .get("identifier")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(id) => {
                if !self.identifiers.insert(id.to_string()) {
                    self.repeated += 1;
                }
            }
            None => self.no_identifier += 1,
        }
        let named = either(obj, "display_name", "displayName")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !named {
            self.no_display_name += 1;
        }
        match either(obj, "is_custom", "isCustom") {
            Some(Value::Bool(true)) => {
                self.custom += 1;
                if self.first_custom.is_none() {
                    self.first_custom = obj
                        .get("identifier")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string);
                }
            }
            Some(Value::Bool(false)) => self.not_custom += 1,
            None | Some(Value::Null) => self.no_is_custom += 1,
            Some(_) => self.odd_is_custom += 1,
        }
    }

    /// The listing checks, from what the pages held. `asked` is the page size asked for;
    /// `refused` the size the server refused first, if it did; `ended` why the walk stopped
    /// early, if it did.
    pub fn checks(&self, asked: usize, refused: Option<usize>, ended: Option<&str>) -> Vec<Check> {
        vec![
            self.casing(),
            self.fields(),
            self.is_custom(),
            self.unknown_keys(),
            self.total_size(ended.is_some()),
            self.pages_check(ended),
            self.page_size(asked, refused),
        ]
    }

    fn casing(&self) -> Check {
        const ID: &str = "listing.casing";
        if self.camel.is_empty() {
            return Check::ok(ID, "every key is snake_case, as the contract spells them");
        }
        let found = names(
            self.camel
                .iter()
                .map(|(found, meant)| format!("`{found}` for `{meant}`")),
        );
        Check::failed(
            ID,
            format!("the listing uses lowerCamelCase keys: {found}; skconn reads only the contract's snake_case, so it refuses this listing and plan and apply stop"),
            "something between skconn and Scalekit re-cases JSON (an API gateway?), or the URL is not a Scalekit environment: reach the environment directly, or report this output",
        )
    }

    fn fields(&self) -> Check {
        const ID: &str = "listing.fields";
        if self.entries == 0 {
            return Check::ok(ID, "the listing is empty: nothing to check");
        }
        if self.no_identifier == 0 && self.no_display_name == 0 {
            return Check::ok(
                ID,
                format!(
                    "every entry ({}) has an identifier and a display_name",
                    self.entries
                ),
            );
        }
        Check::failed(
            ID,
            format!(
                "of {} entries, {} have no identifier and {} no display_name: skconn cannot tell which connector such an entry is, so it refuses the listing",
                self.entries, self.no_identifier, self.no_display_name
            ),
            "report this output: the server's listing is not the contract's",
        )
    }

    fn is_custom(&self) -> Check {
        const ID: &str = "listing.is_custom";
        let missing = self.no_is_custom + self.odd_is_custom;
        if missing > 0 {
            return Check::failed(
                ID,
                format!(
                    "{missing} of {} entries have no `is_custom: true` ({} without the key, {} with another value): skconn takes them for built-in providers and leaves them out, so a plan would want to create them again",
                    self.entries, self.no_is_custom, self.odd_is_custom
                ),
                "report this output: skconn cannot tell custom connectors from built-in ones on this server",
            );
        }
        if self.not_custom > 0 {
            return Check::warning(
                ID,
                format!(
                    "{} of {} entries are marked `is_custom: false`: the server ignored filter.provider_type=CUSTOM; skconn leaves them out of plans",
                    self.not_custom, self.entries
                ),
                "nothing to do for plans; report it if the listing is slow (it holds the built-in providers)",
            );
        }
        if self.entries == 0 {
            return Check::ok(ID, "the listing is empty: nothing to check");
        }
        Check::ok(
            ID,
            format!("every entry ({}) is marked `is_custom: true`", self.custom),
        )
    }

    fn unknown_keys(&self) -> Check {
        const ID: &str = "listing.unknown_keys";
        let top = if self.unknown_top.is_empty() {
            String::new()
        } else {
            format!(
                "; the page itself carries {} (skconn ignores them)",
                names(self.unknown_top.iter().map(|k| format!("`{k}`")))
            )
        };
        if self.unknown.is_empty() {
            return Check::ok(
                ID,
                format!("every key of every entry is one skconn knows{top}"),
            );
        }
        let list = names(
            self.unknown
                .iter()
                .map(|(k, n)| format!("`{k}` (on {n} of {})", self.entries)),
        );
        Check::warning(
            ID,
            format!("entries carry keys skconn does not know: {list}{top}; skconn neither compares nor sends them"),
            "if the server keeps settings under these keys, an update (which replaces the whole object) may reset them: report these names so that skconn learns them",
        )
    }

    fn total_size(&self, cut_short: bool) -> Check {
        const ID: &str = "listing.total_size";
        let reported: Vec<u64> = self
            .totals
            .iter()
            .filter_map(|t| match t {
                Total::Number(n) => Some(*n),
                _ => None,
            })
            .collect();
        if self.totals.contains(&Total::Unreadable) {
            return Check::warning(
                ID,
                "total_size is not a number on some page: skconn reads it as not counted",
                "report this output",
            );
        }
        let Some(&total) = reported.iter().max() else {
            if self.entries == 0 && self.totals.contains(&Total::Zero) {
                return Check::ok(ID, "total_size 0, and the listing is empty");
            }
            let how = if self.totals.iter().all(|t| *t == Total::Missing) {
                "missing"
            } else {
                "0 (or missing)"
            };
            return Check::ok(
                ID,
                format!("total_size is {how} on every page: the server does not count (the contract allows it); skconn then bounds a listing at {MAX_PAGES} pages instead of by its total"),
            );
        };
        let varies = reported.iter().any(|t| *t != total);
        let counted = self.entries as u64;
        if total == counted || cut_short {
            return Check::ok(
                ID,
                format!(
                    "total_size {total}{}, {}",
                    if varies {
                        " (it changed between pages)"
                    } else {
                        ""
                    },
                    if total == counted {
                        format!("as many as were listed ({counted})")
                    } else {
                        format!("{counted} listed before the listing stopped")
                    }
                ),
            );
        }
        Check::warning(
            ID,
            format!("total_size says {total} but {counted} entries were listed{}", if varies { " (it changed between pages)" } else { "" }),
            "connectors may have been created or deleted while listing (run doctor again); if it stays, report this output: skconn bounds a listing by its total",
        )
    }

    fn pages_check(&self, ended: Option<&str>) -> Check {
        const ID: &str = "listing.pages";
        let pages = format!("{} page(s)", self.pages);
        if let Some(why) = ended {
            return Check::failed(
                ID,
                format!("the listing stopped after {pages}: {why}"),
                "report this output: skconn stops a listing that does not end rather than plan from part of it",
            );
        }
        if let Some((n, why)) = &self.unreadable {
            return Check::failed(
                ID,
                format!("page {n} of the listing is unusable: {why}"),
                "run doctor again; if it stays, report this output",
            );
        }
        let repeated = if self.repeated > 0 {
            format!(
                "; {} entries were listed twice (skconn keeps one of each)",
                self.repeated
            )
        } else {
            String::new()
        };
        match self.end {
            End::Empty => Check::ok(
                ID,
                format!("{pages}, followed to the end: the last one's next_page_token is empty{repeated}"),
            ),
            End::Missing => Check::ok(
                ID,
                format!("{pages}: the last one has no next_page_token, read as the last page (a zero value may be omitted){repeated}"),
            ),
            End::NotText => Check::failed(
                ID,
                format!("{pages}: next_page_token is not text, so skconn takes the page for the last one and would miss the connectors on later pages"),
                "report this output",
            ),
        }
    }

    fn page_size(&self, asked: usize, refused: Option<usize>) -> Check {
        const ID: &str = "listing.page_size";
        let refused_text = refused
            .map(|r| {
                format!("the server refused page_size={r}, so skconn asks again with {asked}; ")
            })
            .unwrap_or_default();
        let full_pages = &self.per_page[..self.per_page.len().saturating_sub(1)];
        let largest = self.per_page.iter().copied().max().unwrap_or(0);
        let check = if self.entries == 0 {
            Check::ok(
                ID,
                format!("{refused_text}the listing is empty (page_size={asked} asked for)"),
            )
        } else if largest > asked {
            Check::warning(
                ID,
                format!("{refused_text}a page held {largest} entries though page_size={asked} was asked for"),
                "nothing breaks (skconn reads what it gets), but report this output",
            )
        } else if let Some(&most) = full_pages.iter().max() {
            if most < asked {
                Check::ok(
                    ID,
                    format!("{refused_text}short pages: at most {most} entries a page though page_size={asked} was asked for (the contract allows it; skconn follows next_page_token)"),
                )
            } else {
                Check::ok(ID, format!("{refused_text}page_size={asked} is honoured"))
            }
        } else {
            Check::ok(
                ID,
                format!(
                    "{refused_text}all {} entries on one page (page_size={asked} asked for)",
                    self.entries
                ),
            )
        };
        match refused {
            Some(r) => Check::warning(
                ID,
                check.saw,
                format!("set `page_size: {asked}` (or less) for this environment in skconn.yaml: every listing then saves the refused request (it asked for {r})"),
            ),
            None => check,
        }
    }

    /// How many pages were read.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The identifier of the first custom connector listed, if any.
    pub fn first_custom(&self) -> Option<&str> {
        self.first_custom.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn raw(body: &str) -> RawAnswer {
        RawAnswer {
            status: 200,
            body: body.as_bytes().to_vec(),
            date: None,
            rate_headers: Vec::new(),
            received: SystemTime::now(),
        }
    }

    fn check<'a>(checks: &'a [Check], id: &str) -> &'a Check {
        checks.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn a_contract_listing_is_all_ok() {
        let mut s = Shape::default();
        let seen = s.page(&raw(r#"{"providers":[{"identifier":"a:1","display_name":"A","is_custom":true,"metadata":{}}],"next_page_token":"t","total_size":2}"#));
        assert_eq!(
            (seen.entries, seen.total, seen.next.as_str()),
            (1, Some(2), "t")
        );
        s.page(&raw(r#"{"providers":[{"identifier":"b:1","display_name":"B","is_custom":true}],"next_page_token":"","total_size":2}"#));
        let checks = s.checks(1, None, None);
        assert!(
            checks.iter().all(|c| c.status == super::super::Status::Ok),
            "{checks:#?}"
        );
    }

    #[test]
    fn keys_are_named_never_their_values() {
        let mut s = Shape::default();
        s.page(&raw(r#"{"providers":[{"identifier":"a:1","displayName":"Secret Name","is_custom":true,"created_at":"planted-value"}],"nextPageToken":""}"#));
        let checks = s.checks(1000, None, None);
        let casing = check(&checks, "listing.casing");
        assert!(
            casing.saw.contains("`displayName` for `display_name`"),
            "{casing:?}"
        );
        assert!(
            casing.saw.contains("`nextPageToken` for `next_page_token`"),
            "{casing:?}"
        );
        let unknown = check(&checks, "listing.unknown_keys");
        assert!(
            unknown.saw.contains("`created_at` (on 1 of 1)"),
            "{unknown:?}"
        );
        let all = format!("{checks:?}");
        assert!(
            !all.contains("planted-value") && !all.contains("Secret Name"),
            "{all}"
        );
    }
}
