//! The fake GitHub's artifact endpoints, as strict as GitHub: listed newest first with `Link`
//! pagination, a download that redirects to another origin which refuses the token, `410` once
//! expired, and nothing without `actions: read`.

use crate::fake_github::FakeGithub;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn actions_read(gh: &FakeGithub) -> String {
    gh.job_token(
        &BTreeMap::from([("actions".to_string(), "read".to_string())]),
        false,
    )
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    client
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .header("user-agent", "skconn-test")
        .send()
        .await
        .unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn artifacts_are_listed_newest_first_by_name_and_page() {
    let gh = FakeGithub::start();
    let old = gh.add_artifact(1, "main", "a1", "skconn-snapshot-prod", zip_of(&[]), 30);
    gh.age_artifact(old, 3_600);
    let newer = gh.add_artifact(2, "main", "a2", "skconn-snapshot-prod", zip_of(&[]), 30);
    let _other = gh.add_artifact(2, "main", "a2", "skconn-snapshot-dev", zip_of(&[]), 30);
    let branch = gh.add_artifact(3, "feature", "b3", "skconn-snapshot-prod", zip_of(&[]), 30);
    let token = actions_read(&gh);
    let client = no_redirects();
    let base = format!("{}/repos/{}/actions/artifacts", gh.url(), gh.repo());

    let r = get(
        &client,
        &format!("{base}?name=skconn-snapshot-prod&per_page=2"),
        &token,
    )
    .await;
    assert_eq!(r.status(), 200);
    let link = r.headers()["link"].to_str().unwrap().to_string();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["total_count"], 3);
    let ids: Vec<u64> = page["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [branch, newer]);
    let first = &page["artifacts"][0];
    assert_eq!(first["workflow_run"]["head_branch"], "feature");
    assert_eq!(first["workflow_run"]["head_sha"], "b3");
    assert_eq!(first["workflow_run"]["id"], 3);
    assert_eq!(first["expired"], false);
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(first["size_in_bytes"].as_u64().unwrap() > 0);
    // The next page keeps the name filter.
    let next = link
        .split(',')
        .find(|l| l.contains("rel=\"next\""))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    assert!(next.contains("name=skconn-snapshot-prod"), "{next}");
    let page: Value = get(&client, &next, &token).await.json().await.unwrap();
    assert_eq!(page["artifacts"][0]["id"], old);
    assert_eq!(page["artifacts"].as_array().unwrap().len(), 1);

    // Without `actions: read`, nothing.
    let contents_only = gh.job_token(
        &BTreeMap::from([("contents".to_string(), "read".to_string())]),
        false,
    );
    let r = get(&client, &base, &contents_only).await;
    assert_eq!(r.status(), 403);
    let r = client
        .get(&base)
        .header("user-agent", "skconn-test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_download_redirects_to_blob_storage_which_refuses_the_token() {
    let gh = FakeGithub::start();
    let id = gh.add_artifact(
        1,
        "main",
        "a1",
        "skconn-snapshot-prod",
        zip_of(&[("prod.snapshot.json", "{\"environment\": \"prod\"}")]),
        30,
    );
    let token = actions_read(&gh);
    let client = no_redirects();
    let listed: Value = get(
        &client,
        &format!("{}/repos/{}/actions/artifacts/{id}", gh.url(), gh.repo()),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    let url = listed["archive_download_url"].as_str().unwrap().to_string();
    let r = get(&client, &url, &token).await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(!location.starts_with(&gh.url()), "{location}");

    // Carrying the token across the redirect is refused.
    let r = get(&client, &location, &token).await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("InvalidAuthenticationInfo"));
    // A signed URL alone serves the zip, deflate-compressed.
    let bytes = client
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), "prod.snapshot.json");
    assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
    drop(entry);
    let dir = tempfile::tempdir().unwrap();
    super::shims::unzip(&bytes, dir.path());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("prod.snapshot.json")).unwrap(),
        "{\"environment\": \"prod\"}"
    );
    // A client that follows redirects as reqwest does (dropping the token on another origin)
    // gets the zip in one call.
    let r = get(&reqwest::Client::new(), &url, &token).await;
    assert_eq!(r.status(), 200);
    // Another signature is refused.
    let forged = format!("{}0", location);
    assert_eq!(client.get(&forged).send().await.unwrap().status(), 403);
    let log: Vec<(u16, bool)> = gh
        .blob_requests()
        .iter()
        .map(|r| (r.status, r.had_authorization))
        .collect();
    assert_eq!(log, [(400, true), (200, false), (200, false), (403, false)]);

    // Expired: listed as such, and its download is gone.
    gh.expire_artifact(id);
    let r = get(&client, &url, &token).await;
    assert_eq!(r.status(), 410);
    let page: Value = get(
        &client,
        &format!("{}/repos/{}/actions/artifacts", gh.url(), gh.repo()),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page["artifacts"][0]["expired"], true);
}
