//! Tests of the API client (`skconn::remote`) against the emulator, over real HTTP on loopback:
//! tokens, pagination, the four operations, error decoding, retries and rate limits.
//!
//! No test sleeps to synchronise: orderings are read from the emulator's request log, and the
//! only waits are the ones the client itself makes (a `Retry-After: 1`, a token lifetime).

use serde_json::{json, Value};
use skconn::emulator::{Config, Emulator, Fault, FaultKind, Recorded};
use skconn::output::secret::Secret;
use skconn::remote::{
    Client, ClientOptions, Endpoint, RemoteError, TransportKind, CUSTOM_PROVIDERS_PATH, LIST_PATH,
};
use std::sync::Arc;
use std::time::Duration;

const TOKEN_PATH: &str = "/oauth/token";

/// An emulator with pages of at most 3 connectors, so that listing always paginates.
fn emulator() -> Emulator {
    emulator_with(|_| {})
}

fn emulator_with(f: impl FnOnce(&mut Config)) -> Emulator {
    let mut config = Config {
        max_page_size: 3,
        client_secret: format!("remote-test-secret-{:016x}", fastrand::u64(..)),
        ..Config::default()
    };
    f(&mut config);
    Emulator::spawn(config).expect("the emulator starts")
}

fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(10),
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
        deadline: Duration::from_secs(30),
        ..ClientOptions::default()
    }
}

fn endpoint(emu: &Emulator, secret: &str) -> Endpoint {
    Endpoint {
        env: "dev".into(),
        url: emu.url().parse().unwrap(),
        client_id: emu.client_id().into(),
        client_secret: Secret::new(secret),
    }
}

fn client(emu: &Emulator) -> Client {
    client_with(emu, |_| {})
}

fn client_with(emu: &Emulator, f: impl FnOnce(&mut ClientOptions)) -> Client {
    let mut o = options();
    f(&mut o);
    Client::new(endpoint(emu, emu.client_secret()), o).expect("a loopback client")
}

/// A valid connector body.
fn body(name: &str) -> Value {
    json!({
        "display_name": name,
        "description": "test connector",
        "auth_patterns": [{"type": "BEARER", "display_name": "Token", "description": "",
            "fields": [{"field_name": "token", "label": "Token", "input_type": "password", "required": true}]}],
        "proxy_url": "https://api.example.com",
        "proxy_enabled": true,
        "metadata": {"managed_by": "skconn"}
    })
}

fn token_requests(emu: &Emulator) -> Vec<Recorded> {
    emu.requests()
        .into_iter()
        .filter(|r| r.path == TOKEN_PATH)
        .collect()
}

fn api_requests(emu: &Emulator) -> Vec<Recorded> {
    emu.requests()
        .into_iter()
        .filter(|r| r.path != TOKEN_PATH)
        .collect()
}

fn statuses(requests: &[Recorded]) -> Vec<u16> {
    requests.iter().map(|r| r.status).collect()
}

/// Yields until `cond` holds (a condition, not a timed sleep); panics after 10 s.
async fn until(mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "condition not reached"
        );
        tokio::task::yield_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn one_token_serves_many_calls_and_concurrent_callers_share_its_fetch() {
    let emu = emulator();
    emu.insert(body("Alpha"));
    let c = client(&emu);
    // Eight concurrent first calls: one token request between them.
    let (r1, r2, r3, r4, r5, r6, r7, r8) = tokio::join!(
        c.list(),
        c.list(),
        c.list(),
        c.list(),
        c.list(),
        c.list(),
        c.list(),
        c.list()
    );
    for r in [r1, r2, r3, r4, r5, r6, r7, r8] {
        assert_eq!(r.unwrap().len(), 1);
    }
    let created = c.create(&body("Beta")).await.unwrap();
    c.update(&created.identifier, &body("Beta")).await.unwrap();
    c.list().await.unwrap();
    assert_eq!(token_requests(&emu).len(), 1);
    assert_eq!(c.token_fetches(), 1);
    assert!(api_requests(&emu).iter().all(|r| r.has_authorization));
}

#[tokio::test]
async fn an_expired_token_is_replaced_once_after_a_401() {
    let emu = emulator();
    let c = client(&emu);
    c.list().await.unwrap();
    emu.expire_tokens();
    c.list().await.unwrap();
    assert_eq!(token_requests(&emu).len(), 2);
    assert_eq!(statuses(&api_requests(&emu)), [200, 401, 200]);
}

#[tokio::test]
async fn a_token_refused_twice_is_an_error_after_exactly_one_refresh() {
    // Tokens that are expired on arrival: the refresh does not help.
    let emu = emulator_with(|c| c.token_ttl = Duration::ZERO);
    let c = client(&emu);
    let err = c.list().await.unwrap_err();
    assert!(err.is_unauthenticated(), "{err}");
    assert_eq!(err.status(), Some(401));
    assert_eq!(token_requests(&emu).len(), 2);
    assert_eq!(statuses(&api_requests(&emu)), [401, 401]);
    let text = err.to_string();
    assert!(
        text.starts_with("dev: GET /api/v1/providers failed: 401 Unauthorized (UNAUTHENTICATED): the access token has expired [request req_"),
        "{text}"
    );
    // The attempts and how long they took are named (the time itself is not asserted: a
    // loaded machine makes it longer).
    let (_, after) = text
        .split_once(" after 2 attempts in ")
        .expect("the attempts are named");
    let (secs, rest) = after
        .split_once("s [host 127.0.0.1:")
        .expect("then the host");
    assert!(secs.parse::<f64>().is_ok(), "{text}");
    assert!(!rest.is_empty(), "{text}");
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_error_that_never_shows_the_secret() {
    let emu = emulator();
    let wrong = "wrong-secret-5f1e2d3c4b";
    let c = Client::new(endpoint(&emu, wrong), options()).unwrap();
    // Concurrent callers waiting for the same failed fetch share its answer.
    let alpha = body("Alpha");
    let (a, b, d) = tokio::join!(c.list(), c.list(), c.create(&alpha));
    for err in [a.unwrap_err(), b.unwrap_err(), d.unwrap_err()] {
        let text = err.to_string();
        let debug = format!("{err:?}");
        assert!(
            text.starts_with(
                "authentication to environment `dev` failed: invalid client credentials \
                 (check client_id/client_secret; client_id is `skc_local`): 401 Unauthorized \
                 (invalid_client): client authentication failed"
            ),
            "{text}"
        );
        assert!(
            text.contains("after 1 attempt in 0.0s [host 127.0.0.1:"),
            "{text}"
        );
        assert!(!text.contains(wrong) && !debug.contains(wrong), "{debug}");
        assert!(err.is_unauthenticated() && !err.is_retryable());
        assert!(!err.may_have_been_applied());
        assert_eq!(err.attempts(), 1);
        assert!(matches!(err, RemoteError::Auth(_)));
    }
    assert_eq!(token_requests(&emu).len(), 1);
    assert!(api_requests(&emu).is_empty());
    assert!(!format!("{c:?}").contains(wrong));
}

#[tokio::test]
async fn a_failing_token_endpoint_is_retried() {
    let emu = emulator();
    emu.push_fault(Fault::status(503).path(TOKEN_PATH));
    let c = client(&emu);
    c.list().await.unwrap();
    assert_eq!(statuses(&token_requests(&emu)), [503, 200]);
    assert_eq!(statuses(&api_requests(&emu)), [200]);
}

// ---------------------------------------------------------------------------------------------
// List

#[tokio::test]
async fn lists_every_page_when_the_server_returns_fewer_than_asked() {
    let emu = emulator(); // at most 3 a page
    let names: Vec<String> = (0..10).map(|i| format!("Connector {i:02}")).collect();
    for n in &names {
        emu.insert(body(n));
    }
    let c = client(&emu);
    let live = c.list().await.unwrap();
    let mut got: Vec<String> = live.iter().map(|l| l.display_name.clone()).collect();
    got.sort();
    assert_eq!(got, names);
    assert!(live.iter().all(|l| l.identifier.contains(':')));
    assert!(live.iter().all(|l| l.body.get("identifier").is_none()));

    let pages = api_requests(&emu);
    assert_eq!(pages.len(), 4);
    assert!(pages
        .iter()
        .all(|r| r.method == "GET" && r.path == LIST_PATH));
    assert_eq!(pages[0].query, "filter.provider_type=CUSTOM&page_size=1000");
    for p in &pages[1..] {
        assert!(
            p.query
                .starts_with("filter.provider_type=CUSTOM&page_size=1000&page_token="),
            "{}",
            p.query
        );
    }
}

#[tokio::test]
async fn an_empty_environment_lists_nothing() {
    let emu = emulator();
    assert!(client(&emu).list().await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Create, update, delete

#[tokio::test]
async fn create_update_delete_round_trip() {
    let emu = emulator();
    let c = client(&emu);
    let created = c.create(&body("My Asana")).await.unwrap();
    assert_eq!(created.display_name, "My Asana");
    assert!(
        created.identifier.starts_with("my_asana:"),
        "{}",
        created.identifier
    );
    assert!(created.is_managed());
    assert!(created.body.get("id").is_none());

    let mut changed = body("My Asana");
    changed["description"] = json!("changed");
    let updated = c.update(&created.identifier, &changed).await.unwrap();
    assert_eq!(updated.identifier, created.identifier);
    assert_eq!(updated.body["description"], "changed");
    assert_eq!(emu.connector("My Asana").unwrap()["description"], "changed");

    c.delete(&created.identifier).await.unwrap();
    assert!(emu.connectors().is_empty());

    let log = api_requests(&emu);
    let item_path = format!("{CUSTOM_PROVIDERS_PATH}/{}", created.identifier);
    let calls: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", CUSTOM_PROVIDERS_PATH, 201),
            ("PUT", item_path.as_str(), 200),
            ("DELETE", item_path.as_str(), 200),
        ]
    );
    // The body is the object itself, not wrapped.
    assert_eq!(log[0].body.as_ref().unwrap()["display_name"], "My Asana");
}

#[tokio::test]
async fn identifiers_are_sent_as_one_path_segment() {
    let emu = emulator();
    let c = client(&emu);
    let err = c.update("team/a b?x#y", &body("Alpha")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = c.delete("a:b/c").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let paths: Vec<String> = api_requests(&emu).into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/custom-providers/team%2Fa%20b%3Fx%23y",
            "/api/v1/custom-providers/a:b%2Fc"
        ]
    );
    assert!(err
        .to_string()
        .starts_with("dev: DELETE /api/v1/custom-providers/a:b%2Fc failed: 404 Not Found (NOT_FOUND): custom provider a:b/c not found [request req_"));
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn a_duplicate_name_is_a_conflict_with_the_servers_words() {
    let emu = emulator();
    let c = client(&emu);
    c.create(&body("Alpha")).await.unwrap();
    let err = c.create(&body("Alpha")).await.unwrap_err();
    assert!(err.is_conflict() && !err.is_retryable() && !err.may_have_been_applied());
    assert_eq!(err.status(), Some(409));
    let id = err.request_id().expect("a request id").to_string();
    assert!(id.starts_with("req_"));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "dev: POST /api/v1/custom-providers failed: 409 Conflict (ALREADY_EXISTS): \
             a provider with display_name \"Alpha\" already exists [request {id}] after 1 attempt in "
        )),
        "{text}"
    );
}

#[tokio::test]
async fn field_violations_are_reported() {
    let emu = emulator();
    let c = client(&emu);
    let mut bad = body("Not-Allowed");
    bad["proxy_url"] = json!("http://plain.example.com");
    let err = c.create(&bad).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.grpc_code(), Some(3));
    let b = err.body().unwrap();
    let fields: Vec<&str> = b
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert!(
        fields.contains(&"display_name") && fields.contains(&"proxy_url"),
        "{fields:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("400 Bad Request (INVALID_ARGUMENT): "),
        "{text}"
    );
    assert!(
        text.contains("display_name") && text.contains("proxy_url"),
        "{text}"
    );
    assert!(!err.is_in_use() && !err.is_conflict());
}

#[tokio::test]
async fn deleting_a_connector_in_use_is_recognised() {
    let emu = emulator();
    let c = client(&emu);
    let live = c.create(&body("Busy")).await.unwrap();
    emu.add_connection("Busy", "busy-1", "COMPLETED", true);
    let err = c.delete(&live.identifier).await.unwrap_err();
    assert!(err.is_in_use(), "{err}");
    assert!(!err.is_retryable() && !err.is_not_found());
    assert_eq!(err.attempts(), 1);
    assert!(err.to_string().contains("(FAILED_PRECONDITION)"), "{err}");
    assert_eq!(emu.connectors().len(), 1);

    // The other reading of the contract: a 403.
    emu.push_fault(Fault::status(403).method("DELETE"));
    let err = c.delete(&live.identifier).await.unwrap_err();
    assert!(err.is_in_use(), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Retries

#[tokio::test]
async fn reads_and_updates_are_retried_through_503s_and_dropped_connections() {
    let emu = emulator();
    let c = client(&emu);
    let live = c.create(&body("Alpha")).await.unwrap();
    emu.clear_requests();

    emu.push_fault(Fault::status(503).method("GET").times(2));
    assert_eq!(c.list().await.unwrap().len(), 1);
    emu.push_fault(Fault::new(FaultKind::Drop).method("PUT"));
    c.update(&live.identifier, &body("Alpha")).await.unwrap();
    emu.push_fault(
        Fault::new(FaultKind::LostAnswer {
            drop_connection: false,
        })
        .method("DELETE"),
    );
    // The lost delete was carried out; its retry finds nothing: the caller sees a 404.
    let err = c.delete(&live.identifier).await.unwrap_err();
    assert!(err.is_not_found() && err.may_have_been_applied(), "{err}");

    let calls: Vec<(String, u16)> = api_requests(&emu)
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect();
    let expected: Vec<(String, u16)> = [
        ("GET", 503),
        ("GET", 503),
        ("GET", 200),
        ("PUT", 0),
        ("PUT", 200),
        ("DELETE", 503),
        ("DELETE", 404),
    ]
    .into_iter()
    .map(|(m, s)| (m.to_string(), s))
    .collect();
    assert_eq!(calls, expected);
}

#[tokio::test]
async fn a_429_is_waited_out_as_the_server_asks() {
    let emu = emulator();
    let c = client(&emu);
    emu.push_fault(
        Fault::rate_limited(1)
            .method("POST")
            .path(CUSTOM_PROVIDERS_PATH),
    );
    // Creates too are retried after a 429: nothing was carried out.
    c.create(&body("Alpha")).await.unwrap();
    assert_eq!(statuses(&api_requests(&emu)), [429, 201]);
    assert_eq!(emu.connectors().len(), 1);
}

#[tokio::test]
async fn a_rate_limit_pauses_every_request_of_the_client() {
    let emu = emulator();
    let c = Arc::new(client(&emu));
    let live = c.create(&body("Alpha")).await.unwrap();
    emu.clear_requests();
    emu.push_fault(Fault::rate_limited(1).method("GET"));

    // A: a list, refused with a 429 and Retry-After: 1.
    let a = tokio::spawn({
        let c = c.clone();
        async move { c.list().await }
    });
    until(|| c.rate_limit_pause().is_some()).await;
    // B: a delete started during the pause; it must wait although it was never refused.
    let b = tokio::spawn({
        let c = c.clone();
        let id = live.identifier.clone();
        async move { c.delete(&id).await }
    });
    tokio::task::yield_now().await;
    // C: another client of the environment, not paused, goes first.
    let other = client(&emu);
    other.list().await.unwrap();

    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    let log: Vec<(String, u16)> = api_requests(&emu)
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect();
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[0], ("GET".to_string(), 429));
    assert_eq!(
        log[1],
        ("GET".to_string(), 200),
        "C comes before B: {log:?}"
    );
    assert!(
        log[2..].contains(&("DELETE".to_string(), 200)),
        "B waits for the pause: {log:?}"
    );
    assert!(log[2..].contains(&("GET".to_string(), 200)), "{log:?}");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_retried() {
    let emu = emulator();
    let c = client(&emu);

    // The server carried the create out and answered 503.
    emu.push_fault(
        Fault::new(FaultKind::LostAnswer {
            drop_connection: false,
        })
        .method("POST")
        .path(CUSTOM_PROVIDERS_PATH),
    );
    let err = c.create(&body("Alpha")).await.unwrap_err();
    assert!(err.may_have_been_applied(), "{err}");
    assert_eq!((err.status(), err.attempts()), (Some(503), 1));
    assert!(
        err.to_string()
            .contains("s (the request may have been carried out) [host 127.0.0.1:"),
        "{err}"
    );

    // The server carried the create out and closed the connection.
    emu.push_fault(
        Fault::new(FaultKind::LostAnswer {
            drop_connection: true,
        })
        .method("POST")
        .path(CUSTOM_PROVIDERS_PATH),
    );
    let err = c.create(&body("Beta")).await.unwrap_err();
    assert!(err.may_have_been_applied(), "{err}");
    match &err {
        RemoteError::Transport(t) => assert_eq!(t.kind, TransportKind::Dropped, "{err}"),
        other => panic!("expected a transport error, got {other}"),
    }
    assert_eq!(err.attempts(), 1);

    // A 500 before anything was done is just as ambiguous from the outside.
    emu.push_fault(
        Fault::status(500)
            .method("POST")
            .path(CUSTOM_PROVIDERS_PATH),
    );
    let err = c.create(&body("Gamma")).await.unwrap_err();
    assert!(err.may_have_been_applied() && err.attempts() == 1, "{err}");

    assert_eq!(emu.writes(), 3);
    let names: Vec<String> = c
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.display_name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Alpha".to_string()) && names.contains(&"Beta".to_string()));
}

#[tokio::test]
async fn a_create_that_times_out_is_not_retried() {
    let emu = emulator();
    let c = client_with(&emu, |o| o.timeout = Duration::from_millis(300));
    c.list().await.unwrap(); // the token, fetched within the timeout
    emu.push_fault(
        Fault::new(FaultKind::Latency(Duration::from_secs(3)))
            .method("POST")
            .path(CUSTOM_PROVIDERS_PATH),
    );
    let err = c.create(&body("Slow")).await.unwrap_err();
    match &err {
        RemoteError::Transport(t) => assert_eq!(t.kind, TransportKind::Timeout),
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(err.may_have_been_applied() && err.is_retryable());
    assert_eq!(err.attempts(), 1);
    assert!(
        err.to_string()
            .starts_with("dev: POST /api/v1/custom-providers failed: timed out (no answer within 0.3s) after 1 attempt in 0.3s"),
        "{err}"
    );
}

#[tokio::test]
async fn attempts_are_bounded() {
    let emu = emulator();
    let c = client_with(&emu, |o| o.max_attempts = 3);
    emu.push_fault(Fault::status(503).method("GET").always());
    let err = c.list().await.unwrap_err();
    assert_eq!(err.attempts(), 3);
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(
        text.starts_with("dev: GET /api/v1/providers failed: 503 Service Unavailable (UNAVAILABLE): service unavailable [request req_"),
        "{text}"
    );
    assert!(text.contains("] after 3 attempts in "), "{text}");
    assert_eq!(statuses(&api_requests(&emu)), [503, 503, 503]);
}

#[tokio::test]
async fn a_wait_longer_than_the_deadline_is_not_waited() {
    let emu = emulator();
    let c = client_with(&emu, |o| o.deadline = Duration::from_secs(2));
    emu.push_fault(Fault::rate_limited(30).method("GET").always());
    let err = c.list().await.unwrap_err();
    assert_eq!((err.status(), err.attempts()), (Some(429), 1));
    assert!(
        err.to_string().contains(
            "429 Too Many Requests (RESOURCE_EXHAUSTED, RATE_LIMITED): rate limit exceeded, retry later"
        ),
        "{err}"
    );
    // The wait still holds for the client's other requests: they are not even sent.
    let err = c.delete("x:1").await.unwrap_err();
    assert!(matches!(err, RemoteError::Throttled(_)), "{err}");
    assert!(err.is_retryable() && err.attempts() == 0);
    assert!(err
        .to_string()
        .starts_with("dev: DELETE /api/v1/custom-providers/x:1 not sent: the environment is rate limited for another "));
    assert_eq!(api_requests(&emu).len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::new(
        Endpoint {
            env: "dev".into(),
            url: format!("http://127.0.0.1:{port}").parse().unwrap(),
            client_id: "skc_x".into(),
            client_secret: Secret::new("refused-secret-123"),
        },
        ClientOptions {
            max_attempts: 2,
            ..options()
        },
    )
    .unwrap();
    let err = c.create(&body("Alpha")).await.unwrap_err();
    match &err {
        RemoteError::Transport(t) => assert_eq!(t.kind, TransportKind::Connect),
        other => panic!("expected a connect error, got {other}"),
    }
    assert!(!err.may_have_been_applied() && err.is_retryable());
    assert_eq!(err.attempts(), 2);
    let text = err.to_string();
    assert!(
        text.starts_with("dev: POST /oauth/token failed: could not connect ("),
        "{text}"
    );
    // The attempts and how long they took are named (the time itself is not asserted: a
    // loaded machine makes it longer).
    let (_, after) = text
        .split_once(" after 2 attempts in ")
        .expect("the attempts are named");
    let (secs, rest) = after
        .split_once("s [host 127.0.0.1:")
        .expect("then the host");
    assert!(secs.parse::<f64>().is_ok(), "{text}");
    assert!(!rest.is_empty(), "{text}");
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let err = Client::new(
        Endpoint {
            env: "prod".into(),
            url: "http://acme.scalekit.com".parse().unwrap(),
            client_id: "skc_1".into(),
            client_secret: Secret::new("never-sent-secret"),
        },
        ClientOptions::default(),
    )
    .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("environment `prod`: the URL http://acme.scalekit.com/ uses plain http://; https:// is required"));
}

// ---------------------------------------------------------------------------------------------
// Logs

/// A writer that keeps what the log subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// Where this thread's log lines go (nowhere when `None`).
    static SINK: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// A writer for the process-wide subscriber: each thread's lines go to its own sink.
struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| {
            if let Some(c) = s.borrow_mut().as_mut() {
                c.write_all(buf)?;
            }
            Ok(buf.len())
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide subscriber at trace level, installed once. A scoped (thread-local)
/// subscriber would race with the callsite interest that tests on other threads cache.
fn capture_logs_of_this_thread(c: Captured) {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadSink)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
    });
    SINK.with(|s| *s.borrow_mut() = Some(c));
}

#[test]
fn logs_at_every_level_hold_no_secret_and_no_token() {
    let emu = emulator();
    let captured = Captured::default();
    capture_logs_of_this_thread(captured.clone());
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = client(&emu);
            emu.push_fault(Fault::status(503).method("GET"));
            c.list().await.unwrap();
            emu.expire_tokens();
            let live = c.create(&body("Alpha")).await.unwrap();
            c.delete(&live.identifier).await.unwrap();
            let bad = Client::new(endpoint(&emu, "bad-secret-0a9b8c7d"), options()).unwrap();
            bad.list().await.unwrap_err();
        });
    }
    SINK.with(|s| *s.borrow_mut() = None);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("token request"), "{logs}");
    assert!(logs.contains("/api/v1/providers"), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    for forbidden in [
        emu.client_secret(),
        "bad-secret-0a9b8c7d",
        "skt_", // the emulator's tokens
        "Bearer",
        "authorization",
        "Authorization",
        "client_secret=",
    ] {
        assert!(
            !logs.contains(forbidden),
            "`{forbidden}` in the logs:\n{logs}"
        );
    }
}
