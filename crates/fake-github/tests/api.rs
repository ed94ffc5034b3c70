//! The fake keeps GitHub's conventions: ETags and uncharged 304s, Link
//! pagination, 401s, the primary and secondary rate limits, log
//! redirects, and pending deployments that reviews and the controller move.

use std::time::{Duration, Instant};

use fake_github::{
    FakeGithub, Options, RUN_ID, TOKEN_HUBOT, TOKEN_INSTALLATION, TOKEN_MONALISA, TOKEN_OCTOCAT,
    TOKEN_OUTSIDER,
};
use reqwest::{Client, Response, StatusCode, redirect::Policy};
use serde_json::{Value, json};

fn fast() -> FakeGithub {
    FakeGithub::start_with(Options {
        time_scale: 0.01,
        ..Options::default()
    })
    .expect("fake-github starts")
}

fn client() -> Client {
    // Already installed by another test is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("a client")
}

fn run_path(tail: &str) -> String {
    format!("/repos/octo-org/octo-repo/actions/runs/{RUN_ID}{tail}")
}

async fn get(gh: &FakeGithub, path: &str, token: &str) -> Response {
    client()
        .get(format!("{}{path}", gh.url()))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("a response")
}

async fn post(gh: &FakeGithub, path: &str, token: &str, body: Value) -> Response {
    client()
        .post(format!("{}{path}", gh.url()))
        .header("authorization", format!("token {token}"))
        .json(&body)
        .send()
        .await
        .expect("a response")
}

async fn json_of(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Waits (up to 10s) until `pred` holds for the run's jobs.
async fn until_jobs(gh: &FakeGithub, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let jobs = json_of(get(gh, &run_path("/jobs"), TOKEN_OCTOCAT).await).await["jobs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if pred(&jobs) || Instant::now() > deadline {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn job<'a>(jobs: &'a [Value], name: &str) -> &'a Value {
    jobs.iter()
        .find(|j| j["name"] == name)
        .unwrap_or(&Value::Null)
}

fn pending_names(items: &Value) -> Vec<(String, bool)> {
    items
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p["environment"]["name"].as_str().unwrap_or("").to_string();
            (name, p["current_user_can_approve"] == true)
        })
        .collect()
}

#[tokio::test]
async fn every_response_carries_json_and_rate_limit_headers_and_an_etag_on_gets() {
    let gh = FakeGithub::start();
    let response = get(&gh, &run_path(""), TOKEN_OCTOCAT).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "application/json; charset=utf-8"
    );
    assert!(!header(&response, "x-github-request-id").is_empty());
    assert_eq!(header(&response, "x-ratelimit-limit"), "5000");
    assert_eq!(header(&response, "x-ratelimit-remaining"), "4999");
    assert_eq!(header(&response, "x-ratelimit-used"), "1");
    assert_eq!(header(&response, "x-ratelimit-resource"), "core");
    let reset: i64 = header(&response, "x-ratelimit-reset").parse().unwrap_or(0);
    assert!(reset > jiff::Timestamp::now().as_second());
    let etag = header(&response, "etag");
    assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
    let run = json_of(response).await;
    assert_eq!(run["id"], RUN_ID);
    assert_eq!(run["status"], "waiting");
    assert_eq!(run["run_attempt"], 1);
    assert_eq!(run["event"], "push");
    assert_eq!(run["head_branch"], "main");
    assert_eq!(run["actor"]["login"], "octocat");
    assert_eq!(run["path"], ".github/workflows/deploy.yml@main");
}

#[tokio::test]
async fn a_matching_if_none_match_is_a_304_that_is_not_charged_until_the_run_changes() {
    let gh = fast();
    let first = get(&gh, &run_path(""), TOKEN_OCTOCAT).await;
    let etag = header(&first, "etag");
    let charged = gh.charged();
    let again = client()
        .get(format!("{}{}", gh.url(), run_path("")))
        .bearer_auth(TOKEN_OCTOCAT)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("a response");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, "x-ratelimit-remaining"), "4999");
    assert_eq!(again.bytes().await.expect("a body").len(), 0);
    assert_eq!(gh.charged(), charged, "a 304 is not charged");
    gh.review(RUN_ID, "octocat", "staging", true, "go")
        .expect("staging is pending");
    let changed = client()
        .get(format!("{}{}", gh.url(), run_path("")))
        .bearer_auth(TOKEN_OCTOCAT)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("a response");
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(header(&changed, "etag"), etag);
    assert_eq!(gh.charged(), charged + 1);
}

#[tokio::test]
async fn runs_are_listed_newest_first_in_pages_linked_to_the_last() {
    let gh = FakeGithub::start();
    let path = "/repos/octo-org/octo-repo/actions/workflows/deploy.yml/runs?branch=main";
    let first = get(&gh, path, TOKEN_OCTOCAT).await;
    let link = header(&first, "link");
    let body = json_of(first).await;
    // 41 runs, 8 of them from pull requests on another branch.
    assert_eq!(body["total_count"], 33);
    let runs = body["workflow_runs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(runs.len(), 30);
    assert_eq!(runs[0]["id"], RUN_ID);
    let times: Vec<&str> = runs
        .iter()
        .filter_map(|r| r["created_at"].as_str())
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
    let next = format!(
        "<{}/repos/octo-org/octo-repo/actions/workflows/deploy.yml/runs?branch=main&page=2>",
        gh.url()
    );
    assert_eq!(
        link,
        format!("{next}; rel=\"next\", {next}; rel=\"last\""),
        "page 1 links to the next and the last"
    );
    let second = get(&gh, &format!("{path}&page=2"), TOKEN_OCTOCAT).await;
    let link = header(&second, "link");
    assert!(link.contains("rel=\"prev\"") && link.contains("rel=\"first\""));
    assert!(!link.contains("rel=\"next\""), "{link}");
    let body = json_of(second).await;
    assert_eq!(body["workflow_runs"].as_array().map(Vec::len), Some(3));
    let all = get(
        &gh,
        "/repos/octo-org/octo-repo/actions/runs?per_page=100",
        TOKEN_OCTOCAT,
    )
    .await;
    assert_eq!(header(&all, "link"), "", "one page needs no Link");
    assert_eq!(json_of(all).await["total_count"], 41);
}

#[tokio::test]
async fn an_unknown_or_missing_token_is_401_bad_credentials() {
    let gh = FakeGithub::start();
    let expected = json!({
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    });
    let wrong = get(&gh, "/user", "ghp_notatoken").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(wrong).await, expected);
    let missing = client()
        .get(format!("{}/user", gh.url()))
        .send()
        .await
        .expect("a response");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(missing).await, expected);
    let user = client()
        .get(format!("{}/user", gh.url()))
        .header("authorization", format!("token {TOKEN_MONALISA}"))
        .send()
        .await
        .expect("a response");
    assert_eq!(json_of(user).await["login"], "monalisa");
}

#[tokio::test]
async fn an_exhausted_rate_limit_is_403_until_the_reset() {
    let gh = FakeGithub::start();
    gh.set_rate_limit(1, Duration::from_secs(2));
    let last = get(&gh, "/user", TOKEN_OCTOCAT).await;
    assert_eq!(last.status(), StatusCode::OK);
    assert_eq!(header(&last, "x-ratelimit-remaining"), "0");
    let refused = get(&gh, &run_path(""), TOKEN_OCTOCAT).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    let reset: i64 = header(&refused, "x-ratelimit-reset").parse().unwrap_or(0);
    assert!(reset <= jiff::Timestamp::now().as_second() + 2);
    let body = json_of(refused).await;
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("API rate limit exceeded for user ID 1."),
        "{message}"
    );
    assert_eq!(
        body["documentation_url"],
        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = get(&gh, &run_path(""), TOKEN_OCTOCAT).await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(header(&after, "x-ratelimit-remaining"), "4999");
}

#[tokio::test]
async fn an_injected_secondary_limit_says_retry_after() {
    let gh = FakeGithub::start();
    gh.secondary_limit(2, 7);
    for _ in 0..2 {
        let refused = get(&gh, &run_path("/jobs"), TOKEN_OCTOCAT).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(header(&refused, "retry-after"), "7");
        let body = json_of(refused).await;
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("You have exceeded a secondary rate limit."),
            "{message}"
        );
    }
    let allowed = get(&gh, &run_path("/jobs"), TOKEN_OCTOCAT).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(header(&allowed, "retry-after"), "");
}

#[tokio::test]
async fn a_completed_jobs_log_redirects_to_plain_text_and_a_waiting_ones_is_404() {
    let gh = FakeGithub::start();
    let build = gh.job_id(RUN_ID, "build").expect("a build job");
    let path = format!("/repos/octo-org/octo-repo/actions/jobs/{build}/logs");
    let redirect = get(&gh, &path, TOKEN_OCTOCAT).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = header(&redirect, "location");
    assert!(
        location.starts_with(&format!("{}/_logs/", gh.url())) && location.contains("sig="),
        "{location}"
    );
    let log = client().get(&location).send().await.expect("a response");
    assert_eq!(log.status(), StatusCode::OK);
    assert_eq!(header(&log, "content-type"), "text/plain; charset=utf-8");
    let text = log.text().await.expect("a log");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines.len() > 10);
    for line in &lines {
        let (stamp, _) = line.split_once(' ').expect("a stamp and text");
        // 2020-01-20T17:42:40.1234567Z
        assert_eq!(stamp.len(), 28, "{line}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.',
            "{line}"
        );
        assert!(jiff::Timestamp::from_str_stamp(stamp), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains(" ##[group]")));
    assert!(lines.iter().any(|l| l.contains(" ##[endgroup]")));
    let download = gh
        .requests()
        .into_iter()
        .find(|r| r.is_log_download())
        .expect("the download was recorded");
    assert_eq!(download.header("authorization"), None);
    let tampered = client()
        .get(location.replace("sig=", "sig=0"))
        .send()
        .await
        .expect("a response");
    assert_eq!(tampered.status(), StatusCode::FORBIDDEN);
    let staging = gh.job_id(RUN_ID, "deploy-staging").expect("a staging job");
    let path = format!("/repos/octo-org/octo-repo/actions/jobs/{staging}/logs");
    let waiting = get(&gh, &path, TOKEN_OCTOCAT).await;
    assert_eq!(waiting.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(waiting).await["message"], "Not Found");
}

trait StampCheck {
    fn from_str_stamp(stamp: &str) -> bool;
}

impl StampCheck for jiff::Timestamp {
    fn from_str_stamp(stamp: &str) -> bool {
        stamp.parse::<jiff::Timestamp>().is_ok()
    }
}

#[tokio::test]
async fn approving_staging_moves_its_job_to_success_and_leaves_production_pending() {
    let gh = fast();
    let staging = gh.environment_id("staging").expect("staging");
    let body = json!({"environment_ids": [staging], "state": "approved", "comment": "Ship it!"});
    let approved = post(
        &gh,
        &run_path("/pending_deployments"),
        TOKEN_OCTOCAT,
        body.clone(),
    )
    .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let deployments = json_of(approved).await;
    assert_eq!(deployments[0]["environment"], "staging");
    assert_eq!(deployments[0]["creator"]["login"], "octocat");
    let pending = json_of(get(&gh, &run_path("/pending_deployments"), TOKEN_OCTOCAT).await).await;
    assert_eq!(pending_names(&pending), [("production".to_string(), false)]);
    let jobs = until_jobs(&gh, |jobs| {
        job(jobs, "deploy-staging")["conclusion"] == "success"
    })
    .await;
    let deployed = job(&jobs, "deploy-staging");
    assert_eq!(deployed["status"], "completed");
    assert!(deployed["started_at"].is_string() && deployed["completed_at"].is_string());
    let steps = deployed["steps"].as_array().cloned().unwrap_or_default();
    assert!(
        steps
            .iter()
            .all(|s| s["conclusion"] == "success" && s["completed_at"].is_string())
    );
    assert_eq!(job(&jobs, "deploy-production")["status"], "waiting");
    let approvals = json_of(get(&gh, &run_path("/approvals"), TOKEN_OCTOCAT).await).await;
    assert_eq!(approvals[0]["state"], "approved");
    assert_eq!(approvals[0]["comment"], "Ship it!");
    assert_eq!(approvals[0]["user"]["login"], "octocat");
    assert_eq!(approvals[0]["environments"][0]["name"], "staging");
    let again = post(&gh, &run_path("/pending_deployments"), TOKEN_OCTOCAT, body).await;
    assert_eq!(
        again.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no longer pending"
    );
    let run = json_of(get(&gh, &run_path(""), TOKEN_OCTOCAT).await).await;
    assert_eq!(run["status"], "waiting");
}

#[tokio::test]
async fn an_approval_from_someone_else_shows_and_the_run_completes() {
    let gh = fast();
    gh.review(RUN_ID, "octocat", "staging", true, "staging ok")
        .expect("octocat reviews staging");
    gh.review(RUN_ID, "monalisa", "production", true, "from the web")
        .expect("monalisa reviews production through sre");
    assert!(
        gh.review(RUN_ID, "outsider", "production", true, "x")
            .is_err()
    );
    let jobs = until_jobs(&gh, |jobs| {
        job(jobs, "deploy-production")["conclusion"] == "success"
    })
    .await;
    assert_eq!(job(&jobs, "deploy-production")["status"], "completed");
    let run = json_of(get(&gh, &run_path(""), TOKEN_OCTOCAT).await).await;
    assert_eq!(
        (run["status"].clone(), run["conclusion"].clone()),
        (json!("completed"), json!("success"))
    );
    let approvals = json_of(get(&gh, &run_path("/approvals"), TOKEN_OCTOCAT).await).await;
    assert_eq!(approvals[1]["user"]["login"], "monalisa");
}

#[tokio::test]
async fn an_installation_token_may_not_review() {
    let gh = FakeGithub::start();
    let staging = gh.environment_id("staging").expect("staging");
    let body = json!({"environment_ids": [staging], "state": "approved", "comment": "bot"});
    let refused = post(
        &gh,
        &run_path("/pending_deployments"),
        TOKEN_INSTALLATION,
        body,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json_of(refused).await["message"],
        "Resource not accessible by integration"
    );
    let pending =
        json_of(get(&gh, &run_path("/pending_deployments"), TOKEN_INSTALLATION).await).await;
    assert_eq!(
        pending_names(&pending),
        [
            ("staging".to_string(), false),
            ("production".to_string(), false)
        ]
    );
}

#[tokio::test]
async fn current_user_can_approve_follows_users_and_team_members() {
    let gh = FakeGithub::start();
    let as_ = |token: &'static str| {
        let gh = &gh;
        async move {
            pending_names(&json_of(get(gh, &run_path("/pending_deployments"), token).await).await)
        }
    };
    let both = |s: bool, p: bool| vec![("staging".to_string(), s), ("production".to_string(), p)];
    assert_eq!(
        as_(TOKEN_OCTOCAT).await,
        both(true, false),
        "octocat: a user reviewer of staging"
    );
    assert_eq!(
        as_(TOKEN_HUBOT).await,
        both(false, true),
        "hubot: a user reviewer of production"
    );
    assert_eq!(
        as_(TOKEN_MONALISA).await,
        both(false, true),
        "monalisa: through team sre"
    );
    assert_eq!(
        as_(TOKEN_OUTSIDER).await,
        both(false, false),
        "outsider: neither"
    );
    let production = gh.environment_id("production").expect("production");
    let body = json!({"environment_ids": [production], "state": "approved", "comment": "me?"});
    let refused = post(&gh, &run_path("/pending_deployments"), TOKEN_OCTOCAT, body).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let pending = json_of(get(&gh, &run_path("/pending_deployments"), TOKEN_HUBOT).await).await;
    let reviewers: Vec<(&str, &str)> = pending[1]["reviewers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let who = r["reviewer"]["login"]
                .as_str()
                .or(r["reviewer"]["slug"].as_str());
            (r["type"].as_str().unwrap_or(""), who.unwrap_or(""))
        })
        .collect();
    assert_eq!(reviewers, [("User", "hubot"), ("Team", "sre")]);
    assert_eq!(pending[1]["wait_timer"], 2);
    assert!(pending[1]["wait_timer_started_at"].is_string());
}

#[tokio::test]
async fn a_bad_review_body_is_422() {
    let gh = FakeGithub::start();
    let staging = gh.environment_id("staging").expect("staging");
    for body in [
        json!({"environment_ids": [staging], "state": "maybe", "comment": "?"}),
        json!({"environment_ids": [], "state": "approved", "comment": "?"}),
        json!({"environment_ids": [staging], "state": "approved"}),
        json!({"environment_ids": [1], "state": "approved", "comment": "?"}),
    ] {
        let refused = post(
            &gh,
            &run_path("/pending_deployments"),
            TOKEN_OCTOCAT,
            body.clone(),
        )
        .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

#[tokio::test]
async fn a_rejection_fails_the_run_and_a_rerun_of_failed_jobs_is_attempt_two() {
    let gh = fast();
    let early = post(
        &gh,
        &run_path("/rerun-failed-jobs"),
        TOKEN_OCTOCAT,
        json!({}),
    )
    .await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN, "not completed yet");
    gh.review(RUN_ID, "octocat", "staging", false, "not today")
        .expect("octocat rejects staging");
    gh.review(RUN_ID, "hubot", "production", true, "fine")
        .expect("hubot approves production");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut run = Value::Null;
    while Instant::now() < deadline {
        run = json_of(get(&gh, &run_path(""), TOKEN_OCTOCAT).await).await;
        if run["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(run["conclusion"], "failure");
    let rerun = post(
        &gh,
        &run_path("/rerun-failed-jobs"),
        TOKEN_OCTOCAT,
        json!({}),
    )
    .await;
    assert_eq!(rerun.status(), StatusCode::CREATED);
    assert_eq!(json_of(rerun).await, json!({}));
    let run = json_of(get(&gh, &run_path(""), TOKEN_OCTOCAT).await).await;
    assert_eq!(run["run_attempt"], 2);
    let jobs = until_jobs(&gh, |jobs| {
        job(jobs, "deploy-staging")["status"] == "waiting"
    })
    .await;
    assert_eq!(job(&jobs, "deploy-staging")["run_attempt"], 2);
    assert_eq!(
        job(&jobs, "deploy-production")["conclusion"],
        "success",
        "kept"
    );
    let all = json_of(get(&gh, &run_path("/jobs?filter=all"), TOKEN_OCTOCAT).await).await;
    assert_eq!(all["total_count"], 8);
    let first = json_of(get(&gh, &run_path("/attempts/1/jobs"), TOKEN_OCTOCAT).await).await;
    assert_eq!(
        job(
            first["jobs"].as_array().map_or(&[], Vec::as_slice),
            "deploy-staging"
        )["conclusion"],
        "failure"
    );
    assert_eq!(
        get(&gh, &run_path("/attempts/3/jobs"), TOKEN_OCTOCAT)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cancel_concludes_cancelled_and_a_second_cancel_is_409() {
    let gh = fast();
    let cancel = post(&gh, &run_path("/cancel"), TOKEN_OCTOCAT, json!({})).await;
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    let run = json_of(get(&gh, &run_path(""), TOKEN_OCTOCAT).await).await;
    assert_eq!(
        (run["status"].clone(), run["conclusion"].clone()),
        (json!("completed"), json!("cancelled"))
    );
    let jobs = until_jobs(&gh, |_| true).await;
    assert_eq!(job(&jobs, "deploy-production")["conclusion"], "cancelled");
    let again = post(&gh, &run_path("/cancel"), TOKEN_OCTOCAT, json!({})).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_dispatch_creates_a_run_that_keeps_its_inputs_and_succeeds() {
    let gh = fast();
    let path = "/repos/octo-org/octo-repo/actions/workflows/rollback.yml/dispatches";
    let missing = post(&gh, path, TOKEN_OCTOCAT, json!({"inputs": {}})).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let plain = post(&gh, path, TOKEN_OCTOCAT, json!({"ref": "main"})).await;
    assert_eq!(plain.status(), StatusCode::NO_CONTENT);
    let body = json!({"ref": "main", "inputs": {"to": "v1.4.2"}, "return_run_details": true});
    let detailed = post(&gh, path, TOKEN_HUBOT, body).await;
    assert_eq!(detailed.status(), StatusCode::OK);
    let id = json_of(detailed).await["workflow_run_id"]
        .as_u64()
        .expect("a run id");
    assert_eq!(gh.latest_run_id(), Some(id));
    assert_eq!(gh.run_inputs(id), Some(json!({"to": "v1.4.2"})));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut run = Value::Null;
    while Instant::now() < deadline {
        run = json_of(
            get(
                &gh,
                &format!("/repos/octo-org/octo-repo/actions/runs/{id}"),
                TOKEN_OCTOCAT,
            )
            .await,
        )
        .await;
        if run["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(run["event"], "workflow_dispatch");
    assert_eq!(run["actor"]["login"], "hubot");
    assert_eq!(run["name"], "Rollback");
    assert_eq!(run["conclusion"], "success");
}

#[tokio::test]
async fn requests_are_recorded_with_lowercased_headers_and_bodies() {
    let gh = FakeGithub::start();
    let staging = gh.environment_id("staging").expect("staging");
    let body = json!({"environment_ids": [staging], "state": "approved", "comment": "ok"});
    post(
        &gh,
        &run_path("/pending_deployments"),
        TOKEN_OCTOCAT,
        body.clone(),
    )
    .await;
    get(
        &gh,
        "/repos/octo-org/octo-repo/actions/runs?per_page=2&page=3",
        TOKEN_OCTOCAT,
    )
    .await;
    let requests = gh.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, run_path("/pending_deployments"));
    assert_eq!(
        requests[0].header("Authorization"),
        Some(format!("token {TOKEN_OCTOCAT}").as_str())
    );
    assert!(
        requests[0]
            .headers
            .iter()
            .all(|(k, _)| *k == k.to_ascii_lowercase())
    );
    assert_eq!(requests[0].body_json(), Some(body));
    assert_eq!(requests[1].param("page").as_deref(), Some("3"));
    assert_eq!(
        requests[1].path_only(),
        "/repos/octo-org/octo-repo/actions/runs"
    );
}

#[tokio::test]
async fn unknown_paths_and_injected_failures_answer_github_bodies() {
    let gh = FakeGithub::start();
    let unknown = get(
        &gh,
        "/repos/octo-org/octo-repo/actions/nothing",
        TOKEN_OCTOCAT,
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        json_of(unknown).await,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
    );
    let workflow = get(
        &gh,
        "/repos/octo-org/octo-repo/actions/workflows/rollback.yml",
        TOKEN_OCTOCAT,
    )
    .await;
    let workflow = json_of(workflow).await;
    assert_eq!(
        (workflow["id"].clone(), workflow["path"].clone()),
        (json!(269289), json!(".github/workflows/rollback.yml"))
    );
    gh.fail_next("GET", &run_path(""), 502);
    assert_eq!(
        get(&gh, &run_path(""), TOKEN_OCTOCAT).await.status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        get(&gh, &run_path(""), TOKEN_OCTOCAT).await.status(),
        StatusCode::OK
    );
    gh.add_token(
        "ghs_another",
        "another-app[bot]",
        fake_github::TokenKind::Installation,
    );
    let user = get(&gh, "/user", "ghs_another").await;
    assert_eq!(user.status(), StatusCode::FORBIDDEN);
}
