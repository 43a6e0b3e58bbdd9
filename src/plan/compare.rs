//! How two environments' live connectors differ, by display name: what only one of them holds,
//! and, for the connectors both hold, the field changes from A's version to B's — by meaning,
//! as in a plan (see `diff`), and reading each connector as a plan reads a live one
//! ([`crate::plan::compared`]): server-owned fields and fields a newer server added are never a
//! difference. Pure.

use crate::model::Live;
use crate::plan::diff::FieldChange;
use crate::plan::{compared, live_diff};
use serde::Serialize;
use serde_json::Value;

/// A connector only one environment holds.
#[derive(Debug, Clone, Serialize)]
pub struct OnlyIn {
    pub display_name: String,
    pub identifier: String,
    /// The connector as people read it (normalised, marker and fields skconn does not send
    /// left out).
    pub connector: Value,
}

/// A connector both environments hold, with different content.
#[derive(Debug, Clone, Serialize)]
pub struct Different {
    pub display_name: String,
    pub identifier_a: String,
    pub identifier_b: String,
    /// From A's version (`old`) to B's (`new`).
    pub diff: Vec<FieldChange>,
}

/// The comparison of environment `a` (the reference) with environment `b`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub only_in_a: Vec<OnlyIn>,
    pub only_in_b: Vec<OnlyIn>,
    pub different: Vec<Different>,
    /// How many connectors both hold with the same content.
    pub same: usize,
}

impl Comparison {
    pub fn differs(&self) -> bool {
        !(self.only_in_a.is_empty() && self.only_in_b.is_empty() && self.different.is_empty())
    }
}

/// Compares two environments' live connectors. skconn's marker is not content: a connector
/// written by skconn in one environment and by hand in the other is the same if it reads the same.
pub fn compare(a: &str, a_live: &[Live], b: &str, b_live: &[Live]) -> Comparison {
    let only = |l: &Live| OnlyIn {
        display_name: l.display_name.clone(),
        identifier: l.identifier.clone(),
        connector: compared(&l.body, &Value::Null),
    };
    let mut c = Comparison {
        a: a.to_string(),
        b: b.to_string(),
        only_in_a: Vec::new(),
        only_in_b: Vec::new(),
        different: Vec::new(),
        same: 0,
    };
    for la in a_live {
        match b_live.iter().find(|lb| lb.display_name == la.display_name) {
            None => c.only_in_a.push(only(la)),
            Some(lb) => {
                let diff = live_diff(&la.body, &lb.body);
                if diff.is_empty() {
                    c.same += 1;
                } else {
                    c.different.push(Different {
                        display_name: la.display_name.clone(),
                        identifier_a: la.identifier.clone(),
                        identifier_b: lb.identifier.clone(),
                        diff,
                    });
                }
            }
        }
    }
    for lb in b_live {
        if !a_live.iter().any(|la| la.display_name == lb.display_name) {
            c.only_in_b.push(only(lb));
        }
    }
    c.only_in_a
        .sort_by(|x, y| x.display_name.cmp(&y.display_name));
    c.only_in_b
        .sort_by(|x, y| x.display_name.cmp(&y.display_name));
    c.different
        .sort_by(|x, y| x.display_name.cmp(&y.display_name));
    c
}
