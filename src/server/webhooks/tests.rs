//! What a webhook is told as a release goes, and the Slack body's
//! escaping.

use super::body;
use super::notice::{Kind, Notice, Place, Watch};
use crate::config::HookFormat;
use crate::model::{Action, Command, Event, Person, Release};
use crate::sim::{SimOptions, Simulator, scenario};

const TWO_PERSON: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol, environment: production }
strategy:
  canary:
    steps: [ { set_weight: 50 }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: approval, kind: approval, gate: production }
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 10m }
gates:
  - { id: production, name: Production deploy approval, required: 2, approvers: [dave, erin] }
";

/// Follows a release as a hub does: each batch folded, then looked at.
struct Follower {
    sim: Simulator,
    release: Release,
    watch: Watch,
    told: Vec<Notice>,
}

impl Follower {
    fn new(text: &str) -> Follower {
        let sim = Simulator::new(scenario::parse(text).unwrap(), SimOptions::default());
        let release = Release::new("", 1000);
        let watch = Watch::new(&release);
        Follower {
            sim,
            release,
            watch,
            told: Vec::new(),
        }
    }

    fn fold(&mut self, events: Vec<Event>) {
        for event in &events {
            self.release.apply(event);
        }
        let place = Place {
            server: "http://127.0.0.1:7878".into(),
        };
        self.told
            .extend(self.watch.look(&self.release, &events, &place));
    }

    fn start(&mut self) {
        let events = self.sim.start();
        self.fold(events);
    }

    /// Plays on until the simulator stalls (waits on a person) or ends.
    fn play(&mut self) {
        for n in 0..10_000 {
            if n > 0 && self.sim.stalled() || self.sim.is_finished() {
                return;
            }
            let Some(due) = self.sim.next_due() else {
                return;
            };
            let events = self.sim.advance_to(due);
            self.fold(events);
        }
    }

    fn act(&mut self, who: &str, action: Action) {
        let id = format!("c-{who}-{}", self.told.len());
        let command = Command::new(id, Person::new(who).unwrap(), action);
        let (verdict, events) = self.sim.submit(command);
        assert!(verdict.refusal().is_none(), "{verdict:?}");
        self.fold(events);
    }

    fn kinds(&self) -> Vec<(Kind, String)> {
        self.told.iter().map(|n| (n.kind, n.what.clone())).collect()
    }
}

fn approve() -> Action {
    Action::Approve {
        gate: Some("production".into()),
        comment: None,
    }
}

#[test]
fn a_webhook_is_told_what_starts_and_stops_waiting_and_the_end_once_each() {
    let mut f = Follower::new(TWO_PERSON);
    f.start();
    f.play();
    let gate = "Production deploy approval".to_string();
    assert_eq!(f.kinds(), [(Kind::Waiting, gate.clone())]);
    let waiting = &f.told[0];
    assert_eq!(waiting.who_may.as_deref(), Some("dave or erin"));
    assert_eq!(waiting.ask, Some("approve"));
    assert_eq!(waiting.service, "ledger-api");
    assert_eq!(
        waiting.act.as_deref(),
        Some(format!(
            "shipdeck do approve --backend http://127.0.0.1:7878 --release {} --gate production",
            waiting.release
        ).as_str())
    );
    assert!(
        waiting
            .text
            .starts_with("ledger-api to production waits for Production deploy approval"),
        "{}",
        waiting.text
    );
    // One sign-off of two: it still waits, and is not told again.
    f.act("dave", approve());
    assert_eq!(f.told.len(), 1, "{:?}", f.kinds());
    f.act("erin", approve());
    f.play();
    let done = &f.told[1];
    assert_eq!(
        (done.kind, done.by.as_deref()),
        (Kind::Done, Some("dave and erin"))
    );
    assert!(
        done.text.ends_with("approved by dave and erin"),
        "{}",
        done.text
    );
    assert_eq!(f.told[2].kind, Kind::Waiting);
    assert_eq!(f.told[2].ask, Some("advance"));
    assert_eq!(f.told[2].who_may, None, "anyone who may act");
    f.act("erin", Action::Advance);
    f.play();
    let kinds: Vec<Kind> = f.told.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Waiting,
            Kind::Done,
            Kind::Waiting,
            Kind::Done,
            Kind::Finished
        ],
        "{:?}",
        f.kinds()
    );
    assert_eq!(f.told[4].what, "succeeded");
}

#[test]
fn a_rule_rolling_back_is_told_and_an_operator_rolling_back_is_not() {
    let mut f = Follower::new(TWO_PERSON);
    f.start();
    f.play();
    f.act(
        "dave",
        Action::Rollback {
            reason: Some("by hand".into()),
        },
    );
    f.play();
    assert!(
        !f.told.iter().any(|n| n.kind == Kind::RolledBack),
        "{:?}",
        f.kinds()
    );
    assert_eq!(f.told.last().map(|n| n.kind), Some(Kind::Finished));

    // A rule's rollback, as its event says.
    let mut release = f.release.clone();
    let mut watch = Watch::new(&release);
    let last = release.last_seq();
    let event: Event = serde_json::from_value(serde_json::json!({
        "seq": last + 1, "at": "2026-11-24T14:00:00Z", "release": release.id(),
        "type": "rollback_started", "by": "rule:error-rate", "reason": "error rate 7% > 5% for 2m"
    }))
    .unwrap();
    release.apply(&event);
    let place = Place {
        server: "http://x".into(),
    };
    let told = watch.look(&release, &[event], &place);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].kind, Kind::RolledBack);
    assert_eq!(told[0].by.as_deref(), Some("rule:error-rate"));
    assert_eq!(told[0].what, "error rate 7% > 5% for 2m");
}

#[test]
fn a_hostile_gate_name_is_cleaned_and_escaped_for_slack() {
    let hostile = TWO_PERSON.replace(
        "name: Production deploy approval",
        "name: \"<!channel> & <https://evil.example|click> `rm -rf` \\e]0;x\\a*bold*\"",
    );
    let mut f = Follower::new(&hostile);
    f.start();
    f.play();
    let mut notice = f.told[0].clone();
    notice.delivery = "d-1".into();
    assert!(!notice.what.contains('\u{1b}'), "{:?}", notice.what);
    let slack = body::slack(&notice);
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; `rm -rf` *bold*"),
        "{text}"
    );
    let all = slack.to_string();
    assert!(
        !all.contains("<!channel>") && !all.contains("<https://evil"),
        "{all}"
    );
    // The command in its code span, whole: no backtick of the gate's ends it.
    let act = slack["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| {
            b["text"]["text"]
                .as_str()
                .filter(|t| t.starts_with("To act:"))
        })
        .unwrap()
        .to_string();
    assert_eq!(act.matches('`').count(), 2, "{act}");
    assert!(act.contains("--gate production"), "{act}");
    let who = slack["blocks"][1]["fields"][0]["text"].as_str().unwrap();
    assert_eq!(who, "*Who may act*\ndave or erin");
    // The generic body reads back as the notice.
    let json: serde_json::Value =
        serde_json::from_slice(&body::render(&notice, HookFormat::Json)).unwrap();
    assert_eq!(json["type"], "waiting");
    assert_eq!(json["delivery"], "d-1");
    assert_eq!(json["who_may"], "dave or erin");
    assert_eq!(json["what"], notice.what.as_str());
}

/// Two pauses back to back: advancing past the first starts the second in
/// the same batch, and the receiver is told both — the first done, the
/// second waiting — not nothing.
#[test]
fn a_pause_that_follows_a_pause_is_a_notice_of_its_own() {
    let text = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 25 }, { pause: until advanced }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: canary, kind: rollout }
";
    let mut f = Follower::new(text);
    f.start();
    f.play();
    let first = "the rollout at step 2/4".to_string();
    assert_eq!(f.kinds(), [(Kind::Waiting, first.clone())]);
    f.act("dave", Action::Advance);
    f.play();
    let second = "the rollout at step 3/4".to_string();
    assert_eq!(
        f.kinds(),
        [
            (Kind::Waiting, first.clone()),
            (Kind::Done, first),
            (Kind::Waiting, second)
        ]
    );
}
