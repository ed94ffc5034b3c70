//! The client against a small GitHub on loopback that records every request
//! and answers as each test scripts it.

use super::*;
use crate::github::testing::{SECRET, fixture, json, reply, serve, taken};

fn repo() -> Repo {
    "octo-org/octo-repo".parse().unwrap()
}

fn run_json(id: u64, status: &str) -> String {
    format!(
        r#"{{"id":{id},"name":"Deploy","status":"{status}","event":"push",
        "created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:05:00Z"}}"#
    )
}

#[test]
fn repos_read_as_owner_slash_name_and_nothing_else() {
    let repo: Repo = "octo-org/octo.repo_2".parse().unwrap();
    assert_eq!(
        (repo.owner.as_str(), repo.name.as_str()),
        ("octo-org", "octo.repo_2")
    );
    assert_eq!(repo.to_string(), "octo-org/octo.repo_2");
    assert_eq!(
        "octo-org".parse::<Repo>().unwrap_err(),
        r#"the repository "octo-org" is not OWNER/REPO"#
    );
    for bad in ["octo org/repo", "octo/re/po", "-octo/repo"] {
        let err = bad.parse::<Repo>().unwrap_err();
        assert!(err.contains("is not one GitHub could have"), "{err}");
    }
    assert!("octo/..".parse::<Repo>().is_err());
    assert!("-octo/repo".parse::<Repo>().is_err());
}

#[test]
fn the_api_is_https_or_loopback_http() {
    let token = || Token::new(SECRET).unwrap();
    assert!(Api::new(GITHUB_API, token()).is_ok());
    let ghes = Api::new("https://ghe.example.com/api/v3", token()).unwrap();
    assert_eq!(ghes.address(), "https://ghe.example.com/api/v3");
    assert_eq!(ghes.host(), "ghe.example.com");
    assert!(Api::new("http://127.0.0.1:9999", token()).is_ok());
    assert!(Api::new("http://[::1]:9999", token()).is_ok());
    let err = Api::new("http://ghe.example.com/api/v3", token()).unwrap_err();
    assert!(err.contains("over https"), "{err}");
    assert!(Api::new("ftp://x", token()).is_err());
    assert!(!format!("{ghes:?}").contains(SECRET));
}

#[tokio::test]
async fn every_request_says_what_gh_says() {
    let (api, seen) = serve(|_, _| json(r#"{"login":"octocat","id":1}"#)).await;
    let user = api.user().await.unwrap();
    assert_eq!(user.login, "octocat");
    let seen = taken(&seen);
    let r = &seen[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/user"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("token {SECRET}").as_str())
    );
    assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
    let ua = r.header("user-agent").unwrap();
    assert!(
        ua.starts_with(&format!("shipdeck/{} (", env!("CARGO_PKG_VERSION"))),
        "{ua}"
    );
    assert!(ua.contains(std::env::consts::OS), "{ua}");
    assert_eq!(r.header("if-none-match"), None);
}

#[tokio::test]
async fn reads_go_to_githubs_paths() {
    let (api, seen) = serve(|r, _| {
        let path = r.target.split('?').next().unwrap();
        match path {
            p if p.ends_with("/pending_deployments") => {
                json(&fixture("pending-deployment-items.json"))
            }
            p if p.ends_with("/approvals") => json(&fixture("environment-approvals-items.json")),
            p if p.ends_with("/jobs") => json(&fixture("job-paginated.json")),
            p if p.ends_with("/runs") => json(&fixture("workflow-run-paginated.json")),
            _ => json(&fixture("workflow-run.json")),
        }
    })
    .await;
    let repo = repo();
    let filter = RunFilter {
        workflow: Some("deploy.yml".into()),
        branch: Some("main".into()),
        per_page: 30,
    };
    let runs = api.runs(&repo, &filter, 1).await.unwrap();
    assert!(runs.changed && !runs.value.is_empty());
    api.runs(&repo, &RunFilter::default(), 1).await.unwrap();
    assert_eq!(api.run(&repo, 30433642).await.unwrap().value.id, 30433642);
    let jobs = api.jobs(&repo, 30433642, 2).await.unwrap();
    assert_eq!(jobs.value[0].name, "build");
    let pending = api.pending(&repo, 30433642).await.unwrap();
    assert_eq!(pending.value[0].environment.name, "staging");
    let approvals = api.approvals(&repo, 30433642).await.unwrap();
    assert_eq!(approvals.value[0].comment.as_deref(), Some("Ship it!"));
    let targets: Vec<String> = taken(&seen)
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        targets,
        [
            "GET /repos/octo-org/octo-repo/actions/workflows/deploy.yml/runs?branch=main&per_page=30",
            "GET /repos/octo-org/octo-repo/actions/runs?per_page=30",
            "GET /repos/octo-org/octo-repo/actions/runs/30433642",
            "GET /repos/octo-org/octo-repo/actions/runs/30433642/attempts/2/jobs?per_page=100",
            "GET /repos/octo-org/octo-repo/actions/runs/30433642/pending_deployments",
            "GET /repos/octo-org/octo-repo/actions/runs/30433642/approvals",
        ]
    );
}

#[tokio::test]
async fn commands_send_exactly_githubs_bodies() {
    let (api, seen) = serve(|r, _| match r.target.as_str() {
        t if t.ends_with("/pending_deployments") => json("[]"),
        t if t.ends_with("/rerun-failed-jobs") => reply(201, &[], "{}"),
        t if t.ends_with("/cancel") => reply(202, &[], "{}"),
        t if t.contains("/rollback.yml/") => json(&fixture("workflow-dispatch-response.json")),
        _ => reply(204, &[], ""),
    })
    .await;
    let repo = repo();
    api.review(&repo, 7, &[161171787, 42], Review::Approved, "Ship it!")
        .await
        .unwrap();
    api.review(&repo, 7, &[42], Review::Rejected, "not now \"really\"")
        .await
        .unwrap();
    api.rerun_failed(&repo, 7).await.unwrap();
    api.cancel(&repo, 7).await.unwrap();
    let inputs = BTreeMap::from([("version".to_string(), "1.4.2".to_string())]);
    assert_eq!(
        api.dispatch(&repo, "deploy.yml", "main", &inputs)
            .await
            .unwrap(),
        None
    );
    let id = api
        .dispatch(&repo, "rollback.yml", "v1", &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(id, Some(1));
    let seen = taken(&seen);
    let sent: Vec<(String, &str)> = seen
        .iter()
        .map(|r| (format!("{} {}", r.method, r.target), r.body.as_str()))
        .collect();
    let runs = "/repos/octo-org/octo-repo/actions/runs/7";
    let wfs = "/repos/octo-org/octo-repo/actions/workflows";
    assert_eq!(
        sent,
        [
            (
                format!("POST {runs}/pending_deployments"),
                r#"{"comment":"Ship it!","environment_ids":[161171787,42],"state":"approved"}"#
            ),
            (
                format!("POST {runs}/pending_deployments"),
                r#"{"comment":"not now \"really\"","environment_ids":[42],"state":"rejected"}"#
            ),
            (
                format!("POST {runs}/rerun-failed-jobs"),
                r#"{"enable_debug_logging":false}"#
            ),
            (format!("POST {runs}/cancel"), ""),
            (
                format!("POST {wfs}/deploy.yml/dispatches"),
                r#"{"inputs":{"version":"1.4.2"},"ref":"main"}"#
            ),
            (
                format!("POST {wfs}/rollback.yml/dispatches"),
                r#"{"inputs":{},"ref":"v1"}"#
            ),
        ]
    );
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(seen[3].header("content-type"), None);
    assert!(
        seen.iter()
            .all(|r| r.header("authorization") == Some("token ghp_s3cr3tvalue"))
    );
}

#[tokio::test]
async fn an_unchanged_answer_is_the_cached_one_flagged_unchanged() {
    let (api, seen) = serve(|r, _| match r.header("if-none-match") {
        Some("\"v1\"") => reply(304, &[("etag", "\"v1\"")], ""),
        _ => reply(200, &[("etag", "\"v1\"")], run_json(9, "in_progress")),
    })
    .await;
    let first = api.run(&repo(), 9).await.unwrap();
    assert!(first.changed);
    let second = api.run(&repo(), 9).await.unwrap();
    assert!(!second.changed);
    assert_eq!(second.value, first.value);
    let seen = taken(&seen);
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[1].header("if-none-match"), Some("\"v1\""));
}

#[tokio::test]
async fn pages_are_followed_by_link_and_each_is_conditional() {
    let (api, seen) = serve(|r, base| {
        let page: u32 = r.target.rsplit("page=").next().and_then(|p| p.parse().ok()).unwrap_or(1);
        let page = if r.target.contains("&page=") { page } else { 1 };
        let etag = format!("\"p{page}\"");
        if r.header("if-none-match") == Some(etag.as_str()) {
            return reply(304, &[("etag", &etag)], "");
        }
        let jobs = format!(
            r#"{{"total_count":3,"jobs":[{{"id":{page},"name":"job {page}","status":"completed"}}]}}"#
        );
        let path = "/repos/octo-org/octo-repo/actions/runs/5/attempts/1/jobs?per_page=100";
        let link = format!(
            "<{base}{path}&page={}>; rel=\"next\", <{base}{path}&page=3>; rel=\"last\"",
            page + 1
        );
        match page {
            3 => reply(200, &[("etag", &etag)], jobs),
            _ => reply(200, &[("etag", &etag), ("link", &link)], jobs),
        }
    })
    .await;
    let got = api.jobs(&repo(), 5, 1).await.unwrap();
    let names: Vec<&str> = got.value.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["job 1", "job 2", "job 3"]);
    assert!(got.changed);
    let again = api.jobs(&repo(), 5, 1).await.unwrap();
    assert_eq!(again.value, got.value);
    assert!(!again.changed);
    let seen = taken(&seen);
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    let path = "/repos/octo-org/octo-repo/actions/runs/5/attempts/1/jobs?per_page=100";
    let pages = [
        path.to_string(),
        format!("{path}&page=2"),
        format!("{path}&page=3"),
    ];
    assert_eq!(
        targets[..3],
        pages.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    assert_eq!(targets[3..], targets[..3]);
    let etags: Vec<Option<&str>> = seen.iter().map(|r| r.header("if-none-match")).collect();
    assert_eq!(
        etags,
        [
            None,
            None,
            None,
            Some("\"p1\""),
            Some("\"p2\""),
            Some("\"p3\"")
        ]
    );
}

#[tokio::test]
async fn a_page_cap_stops_and_a_foreign_next_link_is_not_followed() {
    let (api, seen) = serve(|r, base| {
        let link = match r.target.contains("page=2") {
            true => "<https://elsewhere.example/steal>; rel=\"next\"".to_string(),
            false => format!(
                "<{base}/repos/octo-org/octo-repo/actions/runs?per_page=1&page=2>; rel=\"next\""
            ),
        };
        reply(
            200,
            &[("link", &link)],
            format!(r#"{{"workflow_runs":[{}]}}"#, run_json(1, "queued")),
        )
    })
    .await;
    let filter = RunFilter {
        per_page: 1,
        ..RunFilter::default()
    };
    assert_eq!(api.runs(&repo(), &filter, 1).await.unwrap().value.len(), 1);
    assert_eq!(taken(&seen).len(), 1);
    assert_eq!(api.runs(&repo(), &filter, 5).await.unwrap().value.len(), 2);
    assert_eq!(taken(&seen).len(), 2);
}

#[tokio::test]
async fn a_spent_rate_limit_holds_every_request_until_it_resets() {
    let reset = Timestamp::now().as_second() + 600;
    let reset_text = reset.to_string();
    let (api, seen) = serve(move |r, _| {
        let headers = [
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-used", "5000"),
            ("x-ratelimit-reset", reset_text.as_str()),
            ("content-type", "application/json"),
        ];
        match r.target.as_str() {
            "/user" => reply(200, &headers[..1], r#"{"login":"octocat"}"#),
            _ => reply(
                403,
                &headers,
                r#"{"message":"API rate limit exceeded for user ID 1."}"#,
            ),
        }
    })
    .await;
    api.user().await.unwrap();
    let until = Timestamp::from_second(reset).unwrap();
    let err = api.run(&repo(), 1).await.unwrap_err();
    assert_eq!(err, ApiError::RateLimited { until });
    let limits = api.limits();
    assert_eq!(
        (limits.limit, limits.remaining, limits.used),
        (Some(5000), Some(0), Some(5000))
    );
    assert_eq!(
        (limits.reset, limits.hold_until),
        (Some(until), Some(until))
    );
    assert_eq!(taken(&seen).len(), 2);
    // Held: nothing is sent, the same error comes back.
    assert_eq!(
        api.user().await.unwrap_err(),
        ApiError::RateLimited { until }
    );
    assert_eq!(
        api.cancel(&repo(), 1).await.unwrap_err(),
        ApiError::RateLimited { until }
    );
    assert!(taken(&seen).is_empty());
    let now = Timestamp::from_second(reset - 100).unwrap();
    assert_eq!(
        limits.slowing(now).unwrap(),
        format!("rate limit: 0 of 5000 left, resets {}", clock(until))
    );
}

#[tokio::test]
async fn a_secondary_limit_holds_for_its_retry_after() {
    let (api, seen) = serve(|_, _| {
        reply(
            403,
            &[("retry-after", "60"), ("x-ratelimit-remaining", "4000"), ("x-ratelimit-limit", "5000")],
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        )
    })
    .await;
    let before = Timestamp::now();
    let ApiError::SecondaryLimit { until } = api.user().await.unwrap_err() else {
        panic!("not a secondary limit");
    };
    let wait = until.as_second() - before.as_second();
    assert!((59..=61).contains(&wait), "{wait}");
    assert!(matches!(
        api.run(&repo(), 1).await,
        Err(ApiError::SecondaryLimit { .. })
    ));
    assert_eq!(taken(&seen).len(), 1);
    let limits = api.limits();
    assert_eq!(
        limits.slowing(before).unwrap(),
        format!("secondary rate limit: waiting {wait} s")
    );
    // Plenty left and no hold: nothing slows shipdeck.
    let fine = Limits {
        limit: Some(5000),
        remaining: Some(4000),
        ..Limits::default()
    };
    assert_eq!(fine.slowing(before), None);
}

#[test]
fn a_secondary_limit_said_only_in_words_waits_a_minute() {
    let now = Timestamp::from_second(1_000_000).unwrap();
    let message = "You have exceeded a secondary rate limit.".to_string();
    let err = classify(StatusCode::FORBIDDEN, &HeaderMap::new(), message, now);
    assert_eq!(
        err,
        ApiError::SecondaryLimit {
            until: after(now, 60)
        }
    );
    let err = classify(
        StatusCode::FORBIDDEN,
        &HeaderMap::new(),
        "Must have admin rights".into(),
        now,
    );
    assert_eq!(
        err,
        ApiError::Forbidden {
            message: "Must have admin rights".into()
        }
    );
}

#[tokio::test]
async fn errors_carry_githubs_message_cleaned() {
    let (api, _) = serve(|r, _| {
        let body = r#"{"message":"Bad \u001b[31mcredentials","documentation_url":"https://docs.github.com"}"#;
        match r.target.as_str() {
            "/user" => reply(401, &[], body),
            t if t.ends_with("/1") => reply(404, &[], r#"{"message":"Not Found"}"#),
            t if t.ends_with("/2") => reply(422, &[], r#"{"message":"No pending deployments"}"#),
            t if t.ends_with("/3") => reply(409, &[], r#"{"message":"Conflict"}"#),
            t if t.ends_with("/4") => reply(502, &[], "<html>Bad gateway</html>"),
            _ => reply(403, &[], r#"{"message":"Resource not accessible by integration"}"#),
        }
    })
    .await;
    let r = repo();
    assert_eq!(
        api.user().await.unwrap_err(),
        ApiError::Unauthorized {
            message: "Bad credentials".into()
        }
    );
    assert_eq!(
        api.run(&r, 1).await.unwrap_err(),
        ApiError::NotFound {
            message: "Not Found".into()
        }
    );
    assert_eq!(
        api.run(&r, 2).await.unwrap_err(),
        ApiError::Invalid {
            message: "No pending deployments".into()
        }
    );
    assert_eq!(
        api.run(&r, 3).await.unwrap_err(),
        ApiError::Conflict {
            message: "Conflict".into()
        }
    );
    assert_eq!(
        api.run(&r, 4).await.unwrap_err(),
        ApiError::Server {
            status: 502,
            message: "Bad Gateway".into()
        }
    );
    assert_eq!(
        api.run(&r, 5).await.unwrap_err(),
        ApiError::Forbidden {
            message: "Resource not accessible by integration".into()
        }
    );
}

#[tokio::test]
async fn a_garbage_or_oversize_answer_is_garbage() {
    let (api, _) = serve(|r, _| match r.target.as_str() {
        "/user" => json("<html>surprise</html>"),
        _ => json(&format!("[\"{}\"]", "x".repeat(MAX_JSON + 10))),
    })
    .await;
    let err = api.user().await.unwrap_err();
    assert!(
        matches!(err, ApiError::Garbage(ref w) if w.starts_with("not the JSON GitHub sends")),
        "{err:?}"
    );
    let err = api.approvals(&repo(), 1).await.unwrap_err();
    assert_eq!(
        err,
        ApiError::Garbage("an answer larger than 8 MiB, not read".into())
    );
}

#[tokio::test]
async fn unreachable_says_why_without_the_token() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let api = Api::new(&base, Token::new(SECRET).unwrap()).unwrap();
    let err = api.user().await.unwrap_err();
    assert!(matches!(err, ApiError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn a_log_is_fetched_from_its_redirect_without_the_token() {
    let (api, seen) = serve(|r, base| match r.target.as_str() {
        "/repos/octo-org/octo-repo/actions/jobs/11/logs" => reply(
            302,
            &[("location", &format!("{base}/blob/job-11.txt?sig=abc"))],
            "",
        ),
        "/repos/octo-org/octo-repo/actions/jobs/12/logs" => {
            reply(404, &[], r#"{"message":"Not Found"}"#)
        }
        "/blob/job-11.txt?sig=abc" => {
            reply(200, &[], "line one\r\n\u{1b}[32mgreen\u{1b}[0m done\r\n")
        }
        _ => reply(500, &[], ""),
    })
    .await;
    let log = api.job_log(&repo(), 11).await.unwrap();
    assert_eq!(log, JobLog::Text("line one\ngreen done\n".into()));
    assert_eq!(api.job_log(&repo(), 12).await.unwrap(), JobLog::NotYet);
    let seen = taken(&seen);
    let blob = &seen[1];
    assert_eq!(blob.target, "/blob/job-11.txt?sig=abc");
    assert_eq!(blob.header("authorization"), None);
    assert_eq!(
        seen[0].header("authorization"),
        Some("token ghp_s3cr3tvalue")
    );
}

#[tokio::test]
async fn a_long_log_keeps_its_end() {
    let (api, _) = serve(|r, base| match r.target.as_str() {
        "/blob" => {
            let mut text = String::new();
            let mut n = 0;
            while text.len() < MAX_LOG + 100_000 {
                text.push_str(&format!("line {n}\n"));
                n += 1;
            }
            reply(200, &[], text)
        }
        _ => reply(302, &[("location", &format!("{base}/blob"))], ""),
    })
    .await;
    let JobLog::Text(text) = api.job_log(&repo(), 1).await.unwrap() else {
        panic!()
    };
    assert!(text.len() <= MAX_LOG);
    assert!(
        text.starts_with("line "),
        "starts mid-line: {:?}",
        &text[..20]
    );
    assert!(!text.starts_with("line 0\n"));
    let last = text.lines().last().unwrap();
    let first_n: u64 = text.lines().next().unwrap()[5..].parse().unwrap();
    let last_n: u64 = last[5..].parse().unwrap();
    assert!(last_n > first_n);
}

#[tokio::test]
async fn no_error_shows_the_token() {
    let (api, _) = serve(|_, _| reply(401, &[], format!(r#"{{"message":"bad {SECRET}"}}"#))).await;
    let err = api.user().await.unwrap_err();
    // GitHub's own words are quoted, but never the token, even echoed.
    assert_eq!(
        err,
        ApiError::Unauthorized {
            message: "bad …".into()
        }
    );
    let shown = format!("{err} {err:?} {api:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let unreachable = ApiError::Unreachable("connection refused".into());
    for e in [unreachable, ApiError::Garbage("x".into())] {
        assert!(!format!("{e} {e:?}").contains(SECRET));
    }
}
