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
    keys: &[("previous_names", StrList), ("pass_through_keys", StrList)],
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
