use super::*;
use crate::github::testing::{SECRET, json, reply, serve, taken};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn run(id: u64, status: &str, conclusion: Option<&str>, created: &str) -> Run {
    let conclusion = conclusion.map_or("null".to_string(), |c| format!("\"{c}\""));
    serde_json::from_str(&format!(
        r#"{{"id":{id},"name":"Deploy","display_title":"Ship \u001b[31mv{id}","status":"{status}",
        "conclusion":{conclusion},"event":"push","head_branch":"main",
        "actor":{{"login":"mona"}},"created_at":"{created}","updated_at":"{created}"}}"#
    ))
    .unwrap()
}

fn pending(name: &str, id: u64, mine: bool, started: &str) -> PendingDeployment {
    serde_json::from_str(&format!(
        r#"{{"environment":{{"id":{id},"name":"{name}"}},"wait_timer":0,
        "wait_timer_started_at":"{started}","current_user_can_approve":{mine},
        "reviewers":[{{"type":"User","reviewer":{{"login":"hubot","id":2}}}},
        {{"type":"Team","reviewer":{{"id":3,"name":"SRE","slug":"sre",
        "html_url":"https://github.com/orgs/octo-org/teams/sre"}}}}]}}"#
    ))
    .unwrap()
}

fn rows() -> Vec<Row> {
    let done = run(1, "completed", Some("success"), "2026-12-01T09:00:00Z");
    let failed = run(2, "completed", Some("failure"), "2026-12-01T09:30:00Z");
    let others = run(3, "waiting", None, "2026-12-01T09:10:00Z");
    let mine_late = run(4, "waiting", None, "2026-12-01T09:50:00Z");
    let mine_early = run(5, "waiting", None, "2026-12-01T09:20:00Z");
    let going = run(6, "in_progress", None, "2026-12-01T09:55:00Z");
    let p = |name, mine, started| vec![pending(name, 7, mine, started)];
    vec![
        Row::new(&going, None),
        Row::new(
            &mine_late,
            Some(Waiting::new(
                &mine_late,
                &p("production", true, "2026-12-01T09:52:00Z"),
            )),
        ),
        Row::new(&failed, None),
        Row::new(
            &mine_early,
            Some(Waiting::new(
                &mine_early,
                &[
                    pending("staging", 8, false, "2026-12-01T09:25:00Z"),
                    pending("production", 7, true, "2026-12-01T09:30:00Z"),
                ],
            )),
        ),
        Row::new(
            &others,
            Some(Waiting::new(
                &others,
                &p("production", false, "2026-12-01T09:15:00Z"),
            )),
        ),
        Row::new(&done, None),
    ]
}

#[test]
fn runs_i_may_review_come_first_longest_waiting_first() {
    let text = table(&rows(), at("2026-12-01T10:00:00Z"));
    assert_eq!(
        text,
        "\
STATUS         WORKFLOW  BRANCH  EVENT  ID  AGE    ACTOR  TITLE    WAITING
! waiting      Deploy    main    push   5   40m    mona   Ship v5  production — you may review; staging — reviewers: hubot, @octo-org/sre · 35m
! waiting      Deploy    main    push   4   10m    mona   Ship v4  production — you may review · 8m
! waiting      Deploy    main    push   3   50m    mona   Ship v3  production — reviewers: hubot, @octo-org/sre · 45m
* in_progress  Deploy    main    push   6   5m     mona   Ship v6  -
X failure      Deploy    main    push   2   30m    mona   Ship v2  -
✓ success      Deploy    main    push   1   1h 0m  mona   Ship v1  -
"
    );
}

#[test]
fn json_is_the_same_list_as_objects() {
    let text = to_json(&rows(), at("2026-12-01T10:00:00Z"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<u64> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [5, 4, 3, 6, 2, 1]);
    let first = &value[0];
    assert_eq!(first["title"], "Ship v5");
    assert_eq!(first["waiting"]["seconds"], 35 * 60);
    assert_eq!(first["waiting"]["environments"][0]["name"], "production");
    assert_eq!(first["waiting"]["environments"][0]["you_may_review"], true);
    assert_eq!(
        first["waiting"]["environments"][1]["reviewers"],
        serde_json::json!(["hubot", "@octo-org/sre"])
    );
    assert!(value[3]["waiting"].is_null());
    assert!(!text.contains('\u{1b}'));
}

#[tokio::test]
async fn the_list_reads_runs_then_the_waiting_ones_gates() {
    let (api, seen) = serve(|r, _| match r.target.as_str() {
        "/repos/octo-org/octo-repo/actions/runs/3/pending_deployments" => json(&format!(
            "[{}]",
            serde_json::to_string(&pending("production", 7, true, "2026-12-01T09:15:00Z")).unwrap()
        )),
        t if t.starts_with("/repos/octo-org/octo-repo/actions/runs?") => {
            let runs = [
                run(1, "completed", Some("success"), "2026-12-01T09:00:00Z"),
                run(3, "waiting", None, "2026-12-01T09:10:00Z"),
            ];
            json(&serde_json::json!({ "total_count": 2, "workflow_runs": runs }).to_string())
        }
        _ => reply(404, &[], r#"{"message":"Not Found"}"#),
    })
    .await;
    let repo: Repo = "octo-org/octo-repo".parse().unwrap();
    let filter = RunFilter {
        branch: Some("main".into()),
        ..RunFilter::default()
    };
    let text = runs_table(&api, &repo, &filter, false).await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("! waiting"), "{text}");
    assert!(
        lines[1].contains("production — you may review · "),
        "{text}"
    );
    assert!(lines[2].starts_with("✓ success"), "{text}");
    let targets: Vec<String> = taken(&seen).into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/repos/octo-org/octo-repo/actions/runs?branch=main&per_page=30",
            "/repos/octo-org/octo-repo/actions/runs/3/pending_deployments",
        ]
    );
}

#[tokio::test]
async fn a_refused_list_is_one_sentence_without_the_token() {
    let (api, _) = serve(|_, _| reply(401, &[], r#"{"message":"Bad credentials"}"#)).await;
    let repo: Repo = "octo-org/octo-repo".parse().unwrap();
    let err = runs_table(&api, &repo, &RunFilter::default(), true)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("GitHub refused the token (401 Bad credentials)"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
}
