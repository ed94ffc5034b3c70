//! The inbox's own parts: the list's order and its JSON, a feed sent only
//! when it changes, the `shipdeck do` lines, GitHub's deadlines, and a
//! source that never answers.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn item(release: &str, mine: bool, since: &str, deadline: Option<&str>) -> Item {
    Item {
        place: Place::Server {
            url: "http://127.0.0.1:7070".into(),
            release: release.into(),
        },
        release: release.into(),
        what: "sign Production approval".into(),
        stage: "Approval".into(),
        since: Some(at(since)),
        deadline: deadline.map(|d| Deadline {
            at: at(d),
            what: "the window closes".into(),
        }),
        mine,
        others: (!mine).then(|| "dave or erin".into()),
        act: Some("shipdeck do approve --gate production".into()),
    }
}

fn feed(source: &str, items: Vec<Item>, trouble: Option<&str>) -> Feed {
    Feed {
        source: source.into(),
        items,
        trouble: trouble.map(str::to_string),
    }
}

#[test]
fn the_json_lists_mine_first_by_deadline_then_wait_and_says_each_trouble() {
    let mut inbox = Inbox::default();
    inbox.take(feed(
        "a",
        vec![
            item("old-not-mine", false, "2026-12-01T09:00:00Z", None),
            item(
                "mine-late",
                true,
                "2026-12-01T09:30:00Z",
                Some("2026-12-01T12:00:00Z"),
            ),
        ],
        None,
    ));
    inbox.take(feed(
        "b",
        vec![
            item("mine-no-deadline", true, "2026-12-01T08:00:00Z", None),
            item(
                "mine-soon",
                true,
                "2026-12-01T09:50:00Z",
                Some("2026-12-01T10:30:00Z"),
            ),
        ],
        None,
    ));
    inbox.take(feed("c", Vec::new(), Some("cannot reach c\u{1b}[2J")));
    let now = at("2026-12-01T10:00:00Z");
    let json: Value = serde_json::from_str(&json(&inbox, now)).unwrap();
    let order: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["release"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["mine-soon", "mine-late", "mine-no-deadline", "old-not-mine"]
    );
    let first = &json["items"][0];
    assert_eq!(first["source"], "b");
    assert_eq!(first["waited_seconds"], 600);
    assert_eq!(first["deadline"]["in_seconds"], 1800);
    assert_eq!(first["deadline"]["what"], "the window closes");
    assert_eq!(first["place"]["kind"], "server");
    assert_eq!(json["items"][3]["others"], "dave or erin");
    assert_eq!(json["mine"], 3);
    assert_eq!(json["troubles"][0]["source"], "c");
    assert_eq!(inbox.mine(), 3);
}

#[tokio::test]
async fn a_feed_is_sent_only_when_it_changes_and_a_trouble_keeps_the_items() {
    let (tx, mut rx) = mpsc::channel(8);
    let mut feeder = Feeder::new("s".into(), tx);
    let one = vec![item("r", true, "2026-12-01T09:00:00Z", None)];
    assert!(feeder.items(one.clone()).await.is_ok());
    assert!(feeder.items(one.clone()).await.is_ok());
    assert!(feeder.trouble("down\nand out").await.is_ok());
    assert!(feeder.trouble("down\nand out").await.is_ok());
    assert!(feeder.items(Vec::new()).await.is_ok());
    let mut got = Vec::new();
    while let Ok(feed) = rx.try_recv() {
        got.push(feed);
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].items, one);
    assert_eq!(got[1].items, one, "the trouble keeps what was said");
    assert_eq!(got[1].trouble.as_deref(), Some("down and out"));
    assert!(got[2].items.is_empty() && got[2].trouble.is_none());
}

#[test]
fn a_do_line_quotes_what_a_shell_would_split() {
    let line = do_line(
        "approve",
        &[("--github", "octo-org/api"), ("--gate", "prod east's")],
    );
    assert_eq!(
        line,
        "shipdeck do approve --github octo-org/api --gate 'prod east'\\''s'"
    );
    assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
}

#[test]
fn a_waiting_deployment_is_due_when_its_timer_ends_else_thirty_days_on() {
    use crate::github::types::{Environment, PendingDeployment, Run};
    let updated = Timestamp::now() - SignedDuration::from_hours(2);
    let run: Run = serde_json::from_value(serde_json::json!({
        "id": 7, "created_at": updated.to_string(), "updated_at": updated.to_string()
    }))
    .unwrap();
    let mut pending = PendingDeployment {
        environment: Environment {
            id: 1,
            name: "production".into(),
            html_url: None,
        },
        wait_timer: 0,
        wait_timer_started_at: None,
        current_user_can_approve: true,
        reviewers: Vec::new(),
    };
    let expiry = github::deadline(&run, &pending);
    assert_eq!(expiry.at, updated + github::EXPIRY);
    assert!(expiry.what.contains("30 days"), "{expiry:?}");
    let started = Timestamp::now() - SignedDuration::from_mins(5);
    pending.wait_timer = 60;
    pending.wait_timer_started_at = Some(started);
    let timer = github::deadline(&run, &pending);
    assert_eq!(timer.at, started + SignedDuration::from_mins(60));
    assert_eq!(timer.what, "the wait timer ends");
}

#[tokio::test]
async fn a_source_that_never_answers_is_trouble_after_the_patience() {
    // It takes the connection and says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let operator = Person::new("dave").unwrap();
    let server = servers::Server::new(
        &crate::settings::InboxServer {
            url: url.clone(),
            token_file: None,
        },
        &operator,
        true,
    );
    let sources = Sources {
        servers: vec![server],
        rollouts: Vec::new(),
        github: Vec::new(),
    };
    let started = std::time::Instant::now();
    let inbox = gather(sources, operator, Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(inbox.troubles(), [(url.as_str(), "no answer in 1 s")]);
    assert_eq!(inbox.mine(), 0);
}
