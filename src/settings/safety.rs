//! An environment's safety settings as `skconn.yaml` gives them: the protected display names and
//! the change threshold. `plan::safety` holds a plan against them.

/// An environment's safety settings.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Display names no plan may delete, whatever the flags.
    pub protect: Vec<String>,
    /// Refuse when more than this share (in percent) of the managed connectors would be
    /// deleted, or updated…
    pub max_change_percent: u32,
    /// …in an environment holding at least this many managed connectors.
    pub min_managed_for_threshold: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            protect: Vec::new(),
            max_change_percent: 30,
            min_managed_for_threshold: 10,
        }
    }
}

/// An environment's change threshold in skconn.yaml: `{percent: 30, min_managed: 10}` (the
/// defaults) or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Off,
    On { percent: u32, min_managed: usize },
}

impl Threshold {
    /// Reads the `change_threshold` value of skconn.yaml.
    pub fn from_yaml(v: &serde_yaml::Value) -> Result<Threshold, String> {
        use serde_yaml::Value as Y;
        let d = Policy::default();
        match v {
            Y::String(s) if s == "off" => Ok(Threshold::Off),
            Y::Bool(false) => Ok(Threshold::Off),
            Y::Mapping(m) => {
                let mut percent = d.max_change_percent;
                let mut min_managed = d.min_managed_for_threshold;
                for (k, v) in m {
                    match (k.as_str(), v.as_u64()) {
                        (Some("percent"), Some(p)) if p <= 100 => percent = p as u32,
                        (Some("percent"), _) => {
                            return Err("`percent` must be a whole number from 0 to 100".into())
                        }
                        (Some("min_managed"), Some(n)) => min_managed = n as usize,
                        (Some("min_managed"), None) => {
                            return Err("`min_managed` must be a whole number".into())
                        }
                        (k, _) => {
                            return Err(format!(
                                "unknown key `{}` in change_threshold; the keys are `percent` and `min_managed`",
                                k.unwrap_or("?")
                            ))
                        }
                    }
                }
                Ok(Threshold::On {
                    percent,
                    min_managed,
                })
            }
            _ => {
                Err("change_threshold must be a map `{percent: P, min_managed: N}` or `off`".into())
            }
        }
    }

    /// This threshold applied to a policy.
    pub fn apply_to(self, mut policy: Policy) -> Policy {
        match self {
            Threshold::Off => {
                policy.max_change_percent = 100;
                policy.min_managed_for_threshold = usize::MAX;
            }
            Threshold::On {
                percent,
                min_managed,
            } => {
                policy.max_change_percent = percent;
                policy.min_managed_for_threshold = min_managed;
            }
        }
        policy
    }
}
