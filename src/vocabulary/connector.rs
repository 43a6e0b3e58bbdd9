//! The vocabulary of a connector file: every key skconn knows, the object it belongs to and the
//! type of its value. This table is the one place that lists keys; the type walker, the
//! unknown-key check and its hints all read it. A new key (a new Scalekit field, or a new
//! `skconn:` setting such as `overrides`) is one line here plus, if it has rules beyond its
//! type, a check in `validate`.

/// The type a key's value must have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    Str,
    Bool,
    /// A list of strings.
    StrList,
    /// A map from string to string.
    StrMap,
    /// A map with the keys of an object kind.
    Obj(&'static Obj),
    /// A list of such maps.
    ObjList(&'static Obj),
    /// A map from a name (an environment, for `overrides`) to a partial map of an object kind:
    /// any subset of its keys, `null` removing a key (JSON Merge Patch, RFC 7396).
    ObjMap(&'static Obj),
}

/// An object kind: a map with a fixed set of keys.
#[derive(Debug)]
pub(crate) struct Obj {
    /// How messages name one of these, e.g. "an auth pattern".
    pub name: &'static str,
    /// Where it is written, for "belongs under" hints, e.g. "`oauth_config:`".
    pub place: &'static str,
    pub keys: &'static [(&'static str, Ty)],
    /// Part of the API object (sent to Scalekit): `skconn.pass_through_keys` apply here.
    pub api: bool,
}

impl Obj {
    pub fn get(&self, key: &str) -> Option<Ty> {
        self.keys.iter().find(|(k, _)| *k == key).map(|(_, t)| *t)
    }

    pub fn key_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.keys.iter().map(|(k, _)| *k)
    }
}

/// The key of skconn's own settings at the top of a file.
pub(crate) const SKCONN_KEY: &str = "skconn";

use Ty::*;

/// A connector file: the API object's fields, plus `skconn:`.
pub(crate) static CONNECTOR: Obj = Obj {
    name: "the connector",
    place: "the top level of the file",
    keys: &[
        ("display_name", Str),
        ("description", Str),
        ("proxy_url", Str),
        ("proxy_enabled", Bool),
        ("icon_src", Str),
        ("metadata", StrMap),
        ("auth_patterns", ObjList(&AUTH_PATTERN)),
        (SKCONN_KEY, Obj(&SKCONN)),
    ],
    api: true,
};

/// skconn's own settings; never sent.
pub(crate) static SKCONN: Obj = Obj {
    name: "the `skconn:` settings",
    place: "`skconn:`",
    keys: &[
        ("previous_names", StrList),
        ("pass_through_keys", StrList),
        ("overrides", ObjMap(&CONNECTOR)),
    ],
    api: false,
};

pub(crate) static AUTH_PATTERN: Obj = Obj {
    name: "an auth pattern",
    place: "an auth pattern (`auth_patterns: - ...`)",
    keys: &[
        ("type", Str),
        ("display_name", Str),
        ("description", Str),
        ("fields", ObjList(&FIELD)),
        ("account_fields", ObjList(&FIELD)),
        ("oauth_config", Obj(&OAUTH_CONFIG)),
        ("is_mcp", Bool),
        ("auth_header_key_override", Str),
        ("auth_field_mutations", Obj(&MUTATIONS)),
        ("allowed_proxy_domains", StrList),
    ],
    api: true,
};

pub(crate) static OAUTH_CONFIG: Obj = Obj {
    name: "`oauth_config`",
    place: "`oauth_config:`",
    keys: &[
        ("authorize_uri", Str),
        ("token_uri", Str),
        ("user_info_uri", Str),
        ("available_scopes", ObjList(&SCOPE)),
        ("pkce_enabled", Bool),
        ("allow_use_scalekit_credentials", Bool),
        ("custom_scope_name", Str),
    ],
    api: true,
};

pub(crate) static SCOPE: Obj = Obj {
    name: "a scope",
    place: "a scope (`available_scopes: - ...`)",
    keys: &[
        ("scope", Str),
        ("display_name", Str),
        ("description", Str),
        ("required", Bool),
    ],
    api: true,
};

pub(crate) static FIELD: Obj = Obj {
    name: "a field",
    place: "a field (`fields: - ...` or `account_fields: - ...`)",
    keys: &[
        ("field_name", Str),
        ("label", Str),
        ("input_type", Str),
        ("hint", Str),
        ("required", Bool),
        ("is_path_param", Bool),
        ("options", ObjList(&OPTION)),
    ],
    api: true,
};

pub(crate) static OPTION: Obj = Obj {
    name: "an option",
    place: "an option of a select field (`options: - ...`)",
    keys: &[
        ("value", Str),
        ("display_name", Str),
        ("description", Str),
        ("default", Bool),
    ],
    api: true,
};

pub(crate) static MUTATIONS: Obj = Obj {
    name: "`auth_field_mutations`",
    place: "`auth_field_mutations:`",
    keys: &[
        ("api_key", Obj(&MUTATION)),
        ("token", Obj(&MUTATION)),
        ("username", Obj(&MUTATION)),
        ("password", Obj(&MUTATION)),
    ],
    api: true,
};

pub(crate) static MUTATION: Obj = Obj {
    name: "a field mutation",
    place: "a field mutation (`auth_field_mutations: <field>:`)",
    keys: &[("prefix", Str), ("suffix", Str), ("default", Str)],
    api: true,
};

/// Every object kind, for "this key belongs elsewhere" hints.
pub(crate) static ALL: &[&Obj] = &[
    &CONNECTOR,
    &SKCONN,
    &AUTH_PATTERN,
    &OAUTH_CONFIG,
    &SCOPE,
    &FIELD,
    &OPTION,
    &MUTATIONS,
    &MUTATION,
];

/// Whether any API object knows `key`.
pub(crate) fn is_api_key(key: &str) -> bool {
    ALL.iter().any(|o| o.api && o.get(key).is_some())
}

// ---- the JSON Schema (`skconn schema`) ----------------------------------------------------

use crate::model::{AUTH_TYPES, INPUT_TYPES, MAX_USER_METADATA_PAIRS, RESERVED_METADATA_KEYS};
use crate::model::{MAX_DISPLAY_NAME, MAX_URL};
use crate::vocabulary::schema::{Kind, Loader, Note, Row, Shape, Vocabulary};

/// The server's display-name rule (also for `skconn.previous_names`).
const NAME_PATTERN: &str = "^[a-zA-Z0-9 ]*[a-zA-Z0-9][a-zA-Z0-9 ]*$";
const HTTPS: &str = "^https://";
const HTTPS_OR_EMPTY: &str = "^(https://|$)";

const fn name_note(description: &'static str) -> Note {
    Note::new(description)
        .pattern(NAME_PATTERN)
        .len(1, MAX_DISPLAY_NAME)
}

/// What the JSON Schema says about each key beyond its type: the description from the API
/// contract and the rules of `validate` that a schema can express on one value. The loader does
/// not read this table; a key without a note gets its type only.
#[rustfmt::skip]
pub(crate) static NOTES: &[(&Obj, &str, Note)] = &[
    (&CONNECTOR, "display_name", name_note(
        "Required. The connector's name and its key: skconn matches connectors by display name in \
         each environment, and the server derives the identifier from it. 1–200 characters: \
         letters, digits and spaces only (no hyphens).",
    ).required()),
    (&CONNECTOR, "description", Note::new("Free text describing the connector.")),
    (&CONNECTOR, "proxy_url", Note::new(
        "Required. The base URL of the API the connector calls: `https://`, at most 2048 \
         characters. May contain `{{placeholders}}`, each filled by a field with \
         `is_path_param: true` (or `{{domain}}`/`{{version}}` by a field of that name).",
    ).required().pattern(HTTPS).max_len(MAX_URL)),
    (&CONNECTOR, "proxy_enabled", Note::new(
        "Whether the proxy is enabled; a connector is usable only when it is. skconn's default \
         is true (the API's is false).",
    ).default(true)),
    (&CONNECTOR, "icon_src", Note::new(
        "The connector's icon: an `https://` URL of an 800×800 SVG, at most 2048 characters, or \
         empty for none.",
    ).pattern(HTTPS_OR_EMPTY).max_len(MAX_URL)),
    (&CONNECTOR, "metadata", Note::new(
        "Your own string pairs: at most 18 (Scalekit allows 20; skconn keeps 2 for its ownership \
         marker), keys 3–25 characters, values 1–256 characters. `managed_by` and `skconn_hash` \
         are reserved for skconn.",
    ).max_items(MAX_USER_METADATA_PAIRS).key_len(3, 25).len(1, 256)
        .reserved_keys(RESERVED_METADATA_KEYS)),
    (&CONNECTOR, "auth_patterns", Note::new(
        "Required. How users authenticate when they connect: at least one auth pattern (in \
         practice one today).",
    ).required().min_items(1)),
    (&CONNECTOR, SKCONN_KEY, Note::new("skconn's own settings; never sent to Scalekit.")),
    (&SKCONN, "previous_names", name_note(
        "Earlier display names: a live connector with one of these names is renamed in place \
         instead of being replaced.",
    )),
    (&SKCONN, "pass_through_keys", Note::new(
        "Keys skconn does not know yet (newer Scalekit fields), accepted anywhere in the API \
         object and sent unchecked; keys skconn knows cannot be listed. Editors still flag these \
         keys: the schema cannot follow this list.",
    ).min_len(1)),
    (&AUTH_PATTERN, "type", Note::new(
        "Required. OAUTH, BASIC, BEARER, API_KEY, or NO_AUTH (a public MCP server).",
    ).required().one_of(AUTH_TYPES)),
    (&AUTH_PATTERN, "display_name", Note::new("The label of this auth option.")),
    (&AUTH_PATTERN, "description", Note::new("The help text of this auth option.")),
    (&AUTH_PATTERN, "fields", Note::new(
        "Inputs collected from the end user when they connect (static auth).",
    )),
    (&AUTH_PATTERN, "account_fields", Note::new(
        "Account-scoped inputs; for OAUTH, path-parameter fields go here.",
    )),
    (&AUTH_PATTERN, "oauth_config", Note::new(
        "OAUTH patterns only. A REST API: `authorize_uri` and `token_uri` (required), \
         `user_info_uri`, `available_scopes`, `pkce_enabled`. An MCP server (dynamic client \
         registration): exactly `{pkce_enabled: true}`.",
    )),
    (&AUTH_PATTERN, "is_mcp", Note::new(
        "`true` on every pattern of an MCP connector; omitted for a REST API.",
    )),
    (&AUTH_PATTERN, "auth_header_key_override", Note::new(
        "The header that carries the credential instead of `Authorization`, e.g. `x-api-key`.",
    )),
    (&AUTH_PATTERN, "auth_field_mutations", Note::new(
        "How credential fields are rewritten before they are sent: a prefix, a suffix or a \
         default per field.",
    )),
    (&AUTH_PATTERN, "allowed_proxy_domains", Note::new(
        "Host names the proxy may call (undocumented; seen in Scalekit's SDK tests).",
    )),
    (&OAUTH_CONFIG, "authorize_uri", Note::new(
        "The provider's authorization endpoint, `https://`. Required for a REST API; not for an \
         MCP server.",
    ).pattern(HTTPS).max_len(MAX_URL)),
    (&OAUTH_CONFIG, "token_uri", Note::new(
        "The provider's token endpoint, `https://`. Required for a REST API; not for an MCP \
         server.",
    ).pattern(HTTPS).max_len(MAX_URL)),
    (&OAUTH_CONFIG, "user_info_uri", Note::new(
        "The provider's user-info endpoint, `https://`, or empty.",
    ).pattern(HTTPS_OR_EMPTY).max_len(MAX_URL)),
    (&OAUTH_CONFIG, "available_scopes", Note::new("The scopes users are asked to grant.")),
    (&OAUTH_CONFIG, "pkce_enabled", Note::new(
        "Whether the authorization uses PKCE; `true` for an MCP server.",
    )),
    (&OAUTH_CONFIG, "allow_use_scalekit_credentials", Note::new(
        "Optional: whether connections may use Scalekit's own OAuth credentials.",
    )),
    (&OAUTH_CONFIG, "custom_scope_name", Note::new("Optional: a custom scope name.")),
    (&SCOPE, "scope", Note::new(
        "Required. The scope's name at the provider, e.g. `read`.",
    ).required().min_len(1)),
    (&SCOPE, "display_name", Note::new("The scope's label, shown to users.")),
    (&SCOPE, "description", Note::new("What granting the scope allows.")),
    (&SCOPE, "required", Note::new("Whether users must grant the scope.")),
    (&FIELD, "field_name", Note::new(
        "Required. The field's name, unique within a pattern, e.g. `token`, `api_key`, \
         `username`, `password`, `domain`. A field with `is_path_param: true` fills the \
         `{{field_name}}` placeholder of `proxy_url`.",
    ).required().min_len(1)),
    (&FIELD, "label", Note::new("The field's label, shown to users.")),
    (&FIELD, "input_type", Note::new(
        "Required. text, password, select (with `options`) or textarea. Another value is sent \
         as written, with a warning: the server checks little inside auth patterns.",
    ).required().known(INPUT_TYPES)),
    (&FIELD, "hint", Note::new("A hint shown with the field, e.g. `yourcompany.freshdesk.com`.")),
    (&FIELD, "required", Note::new("Whether users must fill the field.")),
    (&FIELD, "is_path_param", Note::new(
        "`true` when the field fills the `{{field_name}}` placeholder of `proxy_url`.",
    )),
    (&FIELD, "options", Note::new("The choices of a `select` field: at least one.")),
    (&OPTION, "value", Note::new(
        "Required. What the field is set to when this option is chosen.",
    ).required()),
    (&OPTION, "display_name", Note::new("The option's label, shown to users.")),
    (&OPTION, "description", Note::new("The option's help text.")),
    (&OPTION, "default", Note::new("Whether the option is chosen by default.")),
    (&MUTATIONS, "api_key", Note::new("Rewrites the `api_key` field before it is sent.")),
    (&MUTATIONS, "token", Note::new("Rewrites the `token` field before it is sent.")),
    (&MUTATIONS, "username", Note::new("Rewrites the `username` field before it is sent.")),
    (&MUTATIONS, "password", Note::new("Rewrites the `password` field before it is sent.")),
    (&MUTATION, "prefix", Note::new("Text put before the value, e.g. `Klaviyo-API-Key `.")),
    (&MUTATION, "suffix", Note::new("Text put after the value, e.g. `/token`.")),
    (&MUTATION, "default", Note::new("The value sent when the user gives none, e.g. `X`.")),
];

impl Vocabulary for Loader {
    /// Every object kind reachable from [`CONNECTOR`], which comes first, with its keys in the
    /// table's order and their notes.
    fn kinds() -> Vec<Kind> {
        let mut objs: Vec<&'static Obj> = vec![&CONNECTOR];
        let mut kinds = Vec::new();
        while let Some(&obj) = objs.get(kinds.len()) {
            let keys = obj
                .keys
                .iter()
                .map(|&(key, ty)| Row {
                    key,
                    shape: shape(ty, &mut objs),
                    note: NOTES
                        .iter()
                        .find(|(o, k, _)| std::ptr::eq(*o, obj) && *k == key)
                        .map(|(_, _, note)| *note),
                })
                .collect();
            kinds.push(Kind {
                name: obj.name,
                keys,
            });
        }
        kinds
    }
}

/// A type as the schema reads it; an object kind is named by its index in `objs`.
// A type added to `Ty` without a case here is allowed any value by the schema.
#[allow(unreachable_patterns)]
fn shape(ty: Ty, objs: &mut Vec<&'static Obj>) -> Shape {
    let mut index = |o: &'static Obj| {
        objs.iter()
            .position(|x| std::ptr::eq(*x, o))
            .unwrap_or_else(|| {
                objs.push(o);
                objs.len() - 1
            })
    };
    match ty {
        Ty::Str => Shape::Str,
        Ty::Bool => Shape::Bool,
        Ty::StrList => Shape::StrList,
        Ty::StrMap => Shape::StrMap,
        Ty::Obj(o) => Shape::Obj(index(o)),
        Ty::ObjList(o) => Shape::ObjList(index(o)),
        Ty::ObjMap(o) => Shape::ObjMap(index(o)),
        #[allow(unreachable_patterns)]
        _ => Shape::Any,
    }
}

#[cfg(test)]
mod schema_notes {
    use super::*;

    #[test]
    fn every_note_names_a_key_of_its_object() {
        for (obj, key, _) in NOTES {
            assert!(
                obj.get(key).is_some(),
                "a note for `{key}`, which {} does not have",
                obj.name
            );
        }
    }
}
