//! What skconn knows of the connector object kind: its fields, which of them the server owns,
//! skconn's metadata marker, and the server's limits. Constants only.

/// Top-level fields of the connector object that a client sends (create and update body).
pub const API_FIELDS: &[&str] = &[
    "display_name",
    "description",
    "auth_patterns",
    "proxy_url",
    "proxy_enabled",
    "icon_src",
    "metadata",
];

/// Fields that exist only on returned objects and are owned by the server. They are dropped
/// from live objects before comparison and never sent.
pub const SERVER_OWNED: &[&str] = &[
    "id",
    "identifier",
    "categories",
    "display_priority",
    "coming_soon",
    "is_custom",
    "is_custom_mcp",
];

/// Known `auth_patterns[].type` values.
pub const AUTH_TYPES: &[&str] = &["OAUTH", "BASIC", "BEARER", "API_KEY", "NO_AUTH"];

/// Known `input_type` values of a field object.
pub const INPUT_TYPES: &[&str] = &["text", "password", "select", "textarea"];

/// The metadata key that marks a connector as written (and so owned) by skconn.
pub const MARKER_KEY: &str = "managed_by";
/// The value of [`MARKER_KEY`] on connectors skconn owns for the owner `default`; another
/// owner `NAME` writes `skconn/NAME` (see [`owner_marker`]).
pub const MARKER_VALUE: &str = "skconn";
/// The owner of a repository whose skconn.yaml names none.
pub const DEFAULT_OWNER: &str = "default";
/// Longest owner name (the marker value stays far below the server's 256 characters).
pub const MAX_OWNER_CHARS: usize = 40;
/// The metadata key holding a short hash of the body skconn last wrote (drift detection).
pub const HASH_KEY: &str = "skconn_hash";
/// Metadata keys reserved for skconn; users never write them.
pub const RESERVED_METADATA_KEYS: &[&str] = &[MARKER_KEY, HASH_KEY];
/// The server's limit on metadata pairs.
pub const MAX_METADATA_PAIRS: usize = 20;
/// How many metadata pairs a connector file may use: the server's limit less skconn's own.
pub const MAX_USER_METADATA_PAIRS: usize = MAX_METADATA_PAIRS - RESERVED_METADATA_KEYS.len();

/// Longest display name the server accepts, in characters.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Longest URL the server accepts (`proxy_url`, `icon_src`), in characters.
pub const MAX_URL: usize = 2048;
