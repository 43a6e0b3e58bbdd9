//! A plan against a snapshot: the snapshot stands in for the listing, and the rest of the plan
//! is made exactly as against a live environment. Two steps differ, both here:
//!
//! - [`resolve`], before the diff: a file value the snapshot cannot compare as text — its
//!   variable is not set in this job (the value is *unknown*), or its expansion is masked and
//!   the snapshot holds only a keyed digest — is taken from the snapshot's templates: where
//!   the live value at that place was, when the snapshot was taken, what the same written text
//!   expanded to, the value is unchanged (the live value is used). Otherwise an unknown value
//!   stays unknown (`(from ${TENANT}, known at apply)`), never guessed.
//! - [`finish`], after the diff and the digest: drift flags and usage counts as the snapshot
//!   recorded them, the plan's source, and masked values shown as every output shows them.
//!
//! Pure. What it must never do: guess a value, or make a plan do more than the live plan of
//! the same state would (`apply` plans live again and checks the digest).

use super::Snapshot;
use crate::model::{Desired, Live};
use crate::plan::{needs_usage, EnvPlan, Source, Usage};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Takes the values the snapshot's templates know into the desired connectors of its
/// environment (see the module documentation). `live` is the snapshot's listing.
pub fn resolve(snapshot: &Snapshot, live: &[Live], desired: &mut [Desired]) {
    let mut templates: HashMap<(&str, &str), Vec<&super::Template>> = HashMap::new();
    for t in &snapshot.templates {
        templates
            .entry((t.identifier.as_str(), t.pointer.as_str()))
            .or_default()
            .push(t);
    }
    let by_name: HashMap<&str, &Live> = live.iter().map(|l| (l.display_name.as_str(), l)).collect();
    let names: Vec<String> = desired.iter().map(|d| d.display_name.clone()).collect();
    let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
    for d in desired.iter_mut() {
        let Some(l) = super::matched(d, &by_name, &wanted) else {
            continue;
        };
        let mut places = Vec::new();
        crate::model::string_places(d.written(), &d.body, String::new(), &mut places);
        let known: Vec<(String, Value)> = places
            .into_iter()
            .filter(|(pointer, _, expanded)| {
                d.unknown.contains(pointer) || crate::output::secret::contains_secret(expanded)
            })
            .filter_map(|(pointer, written, _)| {
                let at = templates.get(&(l.identifier.as_str(), pointer.as_str()))?;
                let value = at.iter().find(|t| t.written == written)?.value.clone();
                Some((pointer, value))
            })
            .collect();
        for (pointer, value) in known {
            if let Some(place) = d.body.pointer_mut(&pointer) {
                *place = value;
            }
            d.unknown.retain(|p| *p != pointer);
        }
    }
}

/// Completes an environment's plan made against `snapshot`: its source, the drift flags and
/// (when `usage` is on for the environment) the usage counts the snapshot recorded, and masked
/// values shown as outputs show them. Call it after the digest is filled in.
pub fn finish(snapshot: &Snapshot, env: &mut EnvPlan, usage: bool) {
    env.source = Source::Snapshot {
        taken_at: snapshot.taken_at.clone(),
    };
    let shown: HashMap<&str, &str> = snapshot
        .connectors
        .iter()
        .flat_map(|c| c.masked.iter())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for c in &mut env.changes {
        if let Some(s) = c.identifier().and_then(|i| snapshot.connector(i)) {
            c.drift = s.drift;
            if usage && needs_usage(c) {
                c.usage = Some(s.usage.clone().unwrap_or(Usage::Unknown {
                    reason: "the snapshot holds no usage (it was taken where `usage: off`)".into(),
                }));
            }
        }
        if shown.is_empty() {
            continue;
        }
        let values = c
            .before
            .iter_mut()
            .chain(c.after.iter_mut())
            .chain(c.what.body_mut())
            .chain(
                c.diff
                    .iter_mut()
                    .flat_map(|f| f.old.iter_mut().chain(f.new.iter_mut())),
            );
        for v in values {
            show(v, &shown);
        }
    }
}

/// Replaces every keyed digest in `v` by the text outputs show for it.
fn show(v: &mut Value, shown: &HashMap<&str, &str>) {
    match v {
        Value::String(s) => {
            if let Some(t) = shown.get(s.as_str()) {
                *s = (*t).to_string();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|e| show(e, shown)),
        Value::Object(m) => m.values_mut().for_each(|e| show(e, shown)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::{take, Taken};
    use super::*;
    use crate::plan::digest::tests::live;
    use crate::plan::digest::{self, MaskKey};
    use crate::settings::Prune;
    use serde_json::json;

    fn desired(body: Value, written: Value, unknown: &[&str]) -> Desired {
        let mut d = crate::plan::digest::tests::desired("Alpha", body, written);
        d.unknown = unknown.iter().map(|s| s.to_string()).collect();
        d
    }

    /// The digest and changes of a plan made from the live side, and from a snapshot of it.
    fn both(live_side: &[Live], files: &[Desired], now: &mut [Desired]) -> (EnvPlan, EnvPlan) {
        let mask = MaskKey::new("prod", b"k");
        let mut live_plan = crate::plan::diff_env("prod", files, live_side, Prune::Managed);
        digest::fill(&mut live_plan, &mask);
        let mut s = take(Taken {
            environment: "prod",
            host: "h".into(),
            taken_at: 0,
            owner: "default",
            live: live_side.to_vec(),
            usage: None,
            desired: files,
            variables: &[],
            mask: &mask,
        });
        let from = s.take_live();
        resolve(&s, &from, now);
        let mut against = crate::plan::diff_env("prod", now, &from, Prune::Managed);
        digest::fill(&mut against, &MaskKey::new("prod", b"another key"));
        finish(&s, &mut against, false);
        (live_plan, against)
    }

    #[test]
    fn an_unknown_value_the_snapshot_matched_is_unchanged_and_one_it_did_not_is_shown() {
        let secret = "qz-against-tenant-5521";
        crate::output::secret::register(secret);
        let url = format!("https://{secret}.vq4z.net");
        let b =
            |u: &str, d: &str| json!({"display_name": "Alpha", "proxy_url": u, "description": d});
        let written = b("https://${TENANT}.vq4z.net", "v2");
        let l = [live("Alpha", b(&url, "v1"))];
        let files = [desired(b(&url, "v2"), written.clone(), &[])];
        // This job lacks TENANT: the URL is unknown, and the snapshot says it matched.
        let unknown_text = "(from https://${TENANT}.vq4z.net, known at apply)";
        let mut now = [desired(b(unknown_text, "v2"), written, &["/proxy_url"])];
        let (live_plan, against) = both(&l, &files, &mut now);
        assert_eq!(
            digest::env_digest(&live_plan),
            digest::env_digest(&against),
            "{:#}\n{:#}",
            digest::input(&live_plan),
            digest::input(&against)
        );
        assert_eq!(
            against.changes[0].diff.len(),
            1,
            "only the description changes"
        );
        assert_eq!(
            against.source,
            Source::Snapshot {
                taken_at: "1970-01-01T00:00:00Z".into()
            }
        );
        // The written text changed since the snapshot: the value is unknown, and shown so.
        let other = b("https://${TENANT}.vq4z.org", "v1");
        let mut now = [desired(
            b("(from https://${TENANT}.vq4z.org, known at apply)", "v1"),
            other,
            &["/proxy_url"],
        )];
        let (_, against) = both(&l, &files, &mut now);
        let f = &against.changes[0].diff[0];
        assert_eq!(
            f.new,
            Some(json!("(from https://${TENANT}.vq4z.org, known at apply)"))
        );
        assert_eq!(
            f.old,
            Some(json!("https://***.vq4z.net")),
            "shown as outputs show it"
        );
    }
}
