//! `gh`, as GitHub's runners have it installed, for the part the workflows use: `gh api`
//! (`--method`/`-X`, `-F`/`--field` typed fields with `@file`, `-f`/`--raw-field`,
//! `--paginate`, `--jq`/`-q` with a small jq: `.`, `.[]`, `.a.b`, `select(…)`, `startswith`,
//! `endswith`, `contains`, `==`), sent to the fake GitHub API with the token of `GH_TOKEN` or
//! `GITHUB_TOKEN`, as `gh` does.
//!
//! The `gh` on a job's `PATH` is a bash script that hands its arguments, folder and token to this
//! process over a loopback socket (bash's `/dev/tcp`, so it needs nothing else installed) and
//! prints what comes back. Anything else `gh` can do is refused: the step fails, and the runner
//! panics naming what was asked, so a workflow cannot depend on a part of `gh` no test runs.

use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The server behind the `gh` script; stops when dropped.
pub struct GhShim {
    port: u16,
    /// Holds what each call printed.
    _dir: tempfile::TempDir,
    refusal: Arc<Mutex<Option<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GhShim {
    /// Starts the server for the API at `api_url`.
    pub fn start(api_url: String) -> GhShim {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let refusal = Arc::new(Mutex::new(None));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (out_dir, refused, stopping) =
            (dir.path().to_path_buf(), refusal.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            for (n, stream) in listener.incoming().enumerate() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                serve(stream, n, &out_dir, &api_url, &client, &rt, &refused);
            }
        });
        GhShim {
            port,
            _dir: dir,
            refusal,
            stop,
            thread: Some(thread),
        }
    }

    /// The `gh` script for a job's `PATH`.
    pub fn script(&self) -> String {
        format!(
            r#"#!/bin/bash
# gh for the skconn test runner: `gh api`, answered by the test process on 127.0.0.1:{port}.
exec 3<>"/dev/tcp/127.0.0.1/{port}" || exit 98
{{ printf '%s\n' "$(( $# + 3 ))"; printf '%s\0' "$PWD" "${{GH_TOKEN+=$GH_TOKEN}}" "${{GITHUB_TOKEN+=$GITHUB_TOKEN}}" "$@"; }} >&3
IFS= read -r code <&3
IFS= read -r out <&3
IFS= read -r err <&3
cat "$out"
cat "$err" >&2
exit "$code"
"#,
            port = self.port
        )
    }

    /// What `gh` was asked and refused since the last call.
    pub fn take_refusal(&self) -> Option<String> {
        self.refusal.lock().unwrap().take()
    }
}

impl Drop for GhShim {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What one `gh` call printed and returned.
struct Answer {
    code: i32,
    stdout: String,
    stderr: String,
}

fn serve(
    stream: TcpStream,
    n: usize,
    dir: &Path,
    api_url: &str,
    client: &reqwest::Client,
    rt: &tokio::runtime::Runtime,
    refused: &Mutex<Option<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut count = String::new();
    if reader.read_line(&mut count).is_err() {
        return;
    }
    let Ok(count) = count.trim().parse::<usize>() else {
        return;
    };
    let mut fields = Vec::new();
    for _ in 0..count {
        let mut buf = Vec::new();
        if reader.read_until(0, &mut buf).is_err() {
            return;
        }
        buf.pop();
        fields.push(String::from_utf8_lossy(&buf).into_owned());
    }
    let cwd = PathBuf::from(&fields[0]);
    let token = [&fields[1], &fields[2]]
        .into_iter()
        .find_map(|t| t.strip_prefix('='))
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let args = &fields[3..];
    let answer = match rt.block_on(gh(args, &cwd, token.as_deref(), api_url, client)) {
        Ok(a) => a,
        Err(refusal) => {
            let text = format!(
                "the test runner's gh does not do `gh {}`: {refusal}",
                args.join(" ")
            );
            *refused.lock().unwrap() = Some(text.clone());
            Answer {
                code: 1,
                stdout: String::new(),
                stderr: text,
            }
        }
    };
    let (out, err) = (dir.join(format!("{n}.out")), dir.join(format!("{n}.err")));
    std::fs::write(&out, &answer.stdout).unwrap();
    std::fs::write(&err, &answer.stderr).unwrap();
    let mut stream = stream;
    let _ = write!(
        stream,
        "{}\n{}\n{}\n",
        answer.code,
        out.display(),
        err.display()
    );
}

/// `gh api …`; `Err` names what is not supported.
async fn gh(
    args: &[String],
    cwd: &Path,
    token: Option<&str>,
    api_url: &str,
    client: &reqwest::Client,
) -> Result<Answer, String> {
    let mut it = args.iter();
    if it.next().map(String::as_str) != Some("api") {
        return Err("only `gh api` is available".into());
    }
    let (mut method, mut paginate, mut jq, mut endpoint) = (None, false, None, None);
    let mut fields: Vec<(String, Value)> = Vec::new();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--method" | "-X" => method = Some(value()?),
            "--paginate" => paginate = true,
            "--jq" | "-q" => jq = Some(value()?),
            "-F" | "--field" | "-f" | "--raw-field" => {
                let raw = a == "-f" || a == "--raw-field";
                let v = value()?;
                let (k, v) = v
                    .split_once('=')
                    .ok_or_else(|| format!("`{v}` is not key=value"))?;
                fields.push((k.to_string(), field_value(v, raw, cwd)?));
            }
            flag if flag.starts_with('-') => return Err(format!("`{flag}`")),
            path => {
                if endpoint.replace(path.to_string()).is_some() {
                    return Err("two endpoints".into());
                }
            }
        }
    }
    let endpoint = endpoint.ok_or("no endpoint")?;
    if endpoint.contains('{') || endpoint.starts_with("graphql") {
        return Err(format!("the endpoint `{endpoint}`"));
    }
    let filter = jq.as_deref().map(Filter::parse).transpose()?;
    let Some(token) = token else {
        return Ok(Answer {
            code: 4,
            stdout: String::new(),
            stderr: "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable. Example:\n  env:\n    GH_TOKEN: ${{ github.token }}\n".into(),
        });
    };
    let method = method.unwrap_or_else(|| if fields.is_empty() { "GET" } else { "POST" }.into());
    let method: reqwest::Method = method.parse().map_err(|_| format!("method {method}"))?;
    if paginate && method != reqwest::Method::GET {
        return Err("--paginate of a write".into());
    }
    let mut url = format!("{api_url}/{}", endpoint.trim_start_matches('/'));
    let mut body = None;
    if method == reqwest::Method::GET && !fields.is_empty() {
        let query: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", query_text(v)))
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    } else if !fields.is_empty() {
        body = Some(Value::Object(fields.into_iter().collect::<Map<_, _>>()));
    }
    let mut answer = Answer {
        code: 0,
        stdout: String::new(),
        stderr: String::new(),
    };
    let mut next = Some(url);
    while let Some(url) = next.take() {
        let mut req = client
            .request(method.clone(), &url)
            .header("authorization", format!("token {token}"))
            .header("user-agent", "GitHub CLI (skconn test runner)")
            .header("accept", "application/vnd.github+json");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let link = resp
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        if status >= 400 {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_default();
            answer.stdout.push_str(&text);
            answer
                .stderr
                .push_str(&format!("gh: {message} (HTTP {status})\n"));
            answer.code = 1;
            return Ok(answer);
        }
        match &filter {
            Some(f) => {
                let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                for v in f.run(doc)? {
                    match v {
                        Value::String(s) => answer.stdout.push_str(&s),
                        other => answer.stdout.push_str(&other.to_string()),
                    }
                    answer.stdout.push('\n');
                }
            }
            None => answer.stdout.push_str(&text),
        }
        if paginate {
            next = link.and_then(|l| next_link(&l));
        }
    }
    Ok(answer)
}

fn query_text(v: &Value) -> String {
    match v {
        Value::String(s) => url::form_urlencoded::byte_serialize(s.as_bytes()).collect(),
        other => other.to_string(),
    }
}

/// `-F` values are typed (`true`, `false`, `null`, integers, `@file`); `-f` values are strings.
fn field_value(v: &str, raw: bool, cwd: &Path) -> Result<Value, String> {
    if raw {
        return Ok(Value::String(v.into()));
    }
    Ok(match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        "@-" => return Err("reading a field from stdin".into()),
        _ if v.starts_with('@') => Value::String(
            std::fs::read_to_string(cwd.join(&v[1..]))
                .map_err(|e| format!("cannot read {}: {e}", &v[1..]))?,
        ),
        _ => match v.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(v.into()),
        },
    })
}

fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        (rel.trim() == "rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// The jq the workflows use: a pipe of `.`, `.[]`, `.a.b` (optionally ending in `[]`),
/// `select(FILTER)`, `startswith("…")`, `endswith("…")`, `contains("…")` and `== LITERAL`.
#[derive(Debug)]
enum Stage {
    Identity,
    Path(Vec<String>, bool),
    Select(Filter),
    Test(&'static str, String),
    Equals(Value),
}

#[derive(Debug)]
struct Filter(Vec<Stage>);

impl Filter {
    fn parse(text: &str) -> Result<Filter, String> {
        let mut stages = Vec::new();
        for part in split_pipes(text) {
            let part = part.trim();
            let stage = if part == "." {
                Stage::Identity
            } else if let Some(inner) = part
                .strip_prefix("select(")
                .and_then(|p| p.strip_suffix(')'))
            {
                Stage::Select(Filter::parse(inner)?)
            } else if let Some(rest) = part.strip_prefix("== ") {
                Stage::Equals(
                    serde_json::from_str(rest.trim()).map_err(|_| format!("jq `{part}`"))?,
                )
            } else if let Some((f, arg)) =
                ["startswith", "endswith", "contains"].iter().find_map(|f| {
                    part.strip_prefix(&format!("{f}("))
                        .and_then(|a| a.strip_suffix(')'))
                        .map(|a| (*f, a))
                })
            {
                let arg: String = serde_json::from_str(arg)
                    .map_err(|_| format!("jq `{part}`: a string argument"))?;
                Stage::Test(f, arg)
            } else if let Some(path) = part.strip_prefix('.') {
                let (path, iterate) = match path.strip_suffix("[]") {
                    Some(p) => (p, true),
                    None => (path, false),
                };
                let keys: Vec<String> = path
                    .split('.')
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect();
                if keys
                    .iter()
                    .any(|k| !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                {
                    return Err(format!("jq `{part}`"));
                }
                Stage::Path(keys, iterate)
            } else {
                return Err(format!("jq `{part}`"));
            };
            stages.push(stage);
        }
        Ok(Filter(stages))
    }

    fn run(&self, input: Value) -> Result<Vec<Value>, String> {
        let mut values = vec![input];
        for stage in &self.0 {
            let mut next = Vec::new();
            for v in values {
                match stage {
                    Stage::Identity => next.push(v),
                    Stage::Path(keys, iterate) => {
                        let mut v = v;
                        for k in keys {
                            v = v.get(k).cloned().unwrap_or(Value::Null);
                        }
                        if *iterate {
                            match v {
                                Value::Array(items) => next.extend(items),
                                Value::Object(map) => next.extend(map.into_iter().map(|(_, v)| v)),
                                other => return Err(format!("jq: cannot iterate over {other}")),
                            }
                        } else {
                            next.push(v);
                        }
                    }
                    Stage::Select(f) => {
                        let keep = f
                            .run(v.clone())?
                            .iter()
                            .any(|r| !matches!(r, Value::Null | Value::Bool(false)));
                        if keep {
                            next.push(v);
                        }
                    }
                    Stage::Test(f, arg) => {
                        let Value::String(s) = &v else {
                            return Err(format!("jq: {f} of {v}"));
                        };
                        next.push(Value::Bool(match *f {
                            "startswith" => s.starts_with(arg.as_str()),
                            "endswith" => s.ends_with(arg.as_str()),
                            _ => s.contains(arg.as_str()),
                        }));
                    }
                    Stage::Equals(lit) => next.push(Value::Bool(&v == lit)),
                }
            }
            values = next;
        }
        Ok(values)
    }
}

/// Splits a filter on the `|`s outside parentheses and strings.
fn split_pipes(text: &str) -> Vec<String> {
    let (mut parts, mut current, mut depth, mut in_string) = (Vec::new(), String::new(), 0, false);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
                continue;
            }
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth -= 1,
            '|' if !in_string && depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::Filter;
    use serde_json::json;

    #[test]
    fn the_jq_the_workflows_use() {
        let f = Filter::parse(r#".[] | select(.body | startswith("<!-- skconn-plan -->")) | .id"#)
            .unwrap();
        let page =
            json!([{"id": 1, "body": "hello"}, {"id": 2, "body": "<!-- skconn-plan -->\nplan"}]);
        assert_eq!(f.run(page).unwrap(), vec![json!(2)]);
        assert!(Filter::parse(".[] | map(.id)").is_err());
        assert!(Filter::parse("[.[] | .id]").is_err());
    }
}
