//! What a webhook is told: something started to wait on someone, is done,
//! a rule rolled the release back, or the release finished. Worked out by
//! comparing what waits (the core's `waiting::of`) after each batch of
//! events with what waited before.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::engine::waiting::{self, Ask, Wait};
use crate::model::text::clean;
use crate::model::{Event, EventKind, GateState, Person, Release, names};

/// A notice's type (`Shipdeck-Event`, and `type` in the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    Waiting,
    Done,
    RolledBack,
    Finished,
}

impl Kind {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// A deadline, in a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub at: Timestamp,
    /// `the window closes`.
    pub what: String,
}

/// One notice, as the JSON body carries it (docs/webhooks.md). Every text
/// from outside is cleaned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The delivery's id, the same on every try (one per notice and hook).
    pub delivery: String,
    /// The release's time of the change.
    pub at: Timestamp,
    pub release: String,
    pub service: String,
    pub environment: String,
    /// The whole notice in one sentence, for people.
    pub text: String,
    /// What waits (or waited): a gate's name, an item's text, a step; the
    /// rollback's reason; the outcome.
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The command that answers it: approve, check, advance, promote, retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask: Option<&'static str>,
    /// Who may act (`dave or erin`); absent: anyone who may act on the
    /// server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who_may: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Due>,
    /// The `shipdeck do …` line that acts on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<String>,
    /// Who did it (a done gate's signers, a rolled-back release's
    /// `rule:NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What is known of where the release is served, for the `act` line.
#[derive(Debug, Clone)]
pub struct Place {
    /// The server's address, as a client gives it to `--backend`.
    pub server: String,
}

/// What waited after the last batch, by what it asks and where.
pub struct Watch {
    /// Who `waiting::of` is asked for: a name nobody may take, so that
    /// `others` names everyone who may.
    nobody: Person,
    waits: BTreeMap<(Ask, String, String), Wait>,
    finished: bool,
}

impl Watch {
    /// What waits now is known, not news: a window taken up again does not
    /// announce it a second time.
    pub fn new(release: &Release) -> Watch {
        let mut watch = Watch {
            nobody: Person::own(names::SHIPDECK),
            waits: BTreeMap::new(),
            finished: release.outcome().is_some(),
        };
        watch.waits = watch.now_waiting(release);
        watch
    }

    /// A new window: nothing waits yet.
    pub fn reset(&mut self) {
        self.waits.clear();
        self.finished = false;
    }

    /// What waits, each by what is asked, where and of what (a pause at
    /// step 4 is not the pause at step 2 that was advanced).
    fn now_waiting(&self, release: &Release) -> BTreeMap<(Ask, String, String), Wait> {
        let now = release.last_at().unwrap_or_else(Timestamp::now);
        waiting::of(release, &self.nobody, now)
            .into_iter()
            .map(|w| ((w.ask.clone(), w.stage.clone(), w.what.clone()), w))
            .collect()
    }

    /// The notices after `events` were folded into `release`: rollbacks a
    /// rule started, what is done, what started to wait, and the end.
    pub fn look(&mut self, release: &Release, events: &[Event], place: &Place) -> Vec<Notice> {
        let mut notices = Vec::new();
        let base = Base::of(release, place);
        for event in events {
            if let EventKind::RollbackStarted { by, reason } = &event.kind
                && by.rule_name().is_some()
            {
                notices.push(base.rolled_back(release, by, reason, event.at));
            }
        }
        let now = self.now_waiting(release);
        let at = release.last_at().unwrap_or_else(Timestamp::now);
        for (key, wait) in &self.waits {
            if !now.contains_key(key) {
                notices.push(base.done(release, wait, at));
            }
        }
        for (key, wait) in &now {
            if !self.waits.contains_key(key) {
                notices.push(base.waiting(wait, at));
            }
        }
        self.waits = now;
        if let (false, Some(outcome)) = (self.finished, release.outcome()) {
            self.finished = true;
            notices.push(base.finished(outcome.name(), release.finished_at().unwrap_or(at)));
        }
        notices
    }
}

/// What every notice of a release says.
struct Base {
    release: String,
    service: String,
    environment: String,
    server: String,
}

impl Base {
    fn of(release: &Release, place: &Place) -> Base {
        let plan = release.plan();
        let of_plan = |f: fn(&crate::model::ReleasePlan) -> &str| {
            plan.map(|p| clean(f(p)).into_owned()).unwrap_or_default()
        };
        Base {
            release: clean(release.id()).into_owned(),
            service: of_plan(|p| &p.service),
            environment: of_plan(|p| &p.environment),
            server: place.server.clone(),
        }
    }

    /// `ledger-api to production`.
    fn subject(&self) -> String {
        match (self.service.is_empty(), self.environment.is_empty()) {
            (true, _) => format!("release {}", self.release),
            (false, true) => self.service.clone(),
            (false, false) => format!("{} to {}", self.service, self.environment),
        }
    }

    fn notice(&self, kind: Kind, at: Timestamp, what: String, text: String) -> Notice {
        Notice {
            kind,
            delivery: String::new(),
            at,
            release: self.release.clone(),
            service: self.service.clone(),
            environment: self.environment.clone(),
            text,
            what,
            stage: None,
            ask: None,
            who_may: None,
            since: None,
            deadline: None,
            act: None,
            by: None,
        }
    }

    fn waiting(&self, wait: &Wait, at: Timestamp) -> Notice {
        let what = clean(&wait.what).into_owned();
        let stage = clean(&wait.stage).into_owned();
        let who_may = wait.others.as_deref().map(|o| clean(o).into_owned());
        let who = match &who_may {
            Some(names) => format!("{names} may {}", wait.ask.doing()),
            None => format!("anyone who may act here may {}", wait.ask.doing()),
        };
        let deadline = wait.deadline.as_ref().map(|d| Due {
            at: d.at,
            what: clean(&d.what).into_owned(),
        });
        let due = match &deadline {
            Some(d) => format!(", by {} ({})", d.at.strftime("%Y-%m-%d %H:%M UTC"), d.what),
            None => String::new(),
        };
        let text = format!("{} waits for {what} ({stage}): {who}{due}", self.subject());
        let mut notice = self.notice(Kind::Waiting, at, what, text);
        notice.stage = Some(stage);
        notice.ask = Some(wait.ask.verb());
        notice.who_may = who_may;
        notice.since = wait.since;
        notice.deadline = deadline;
        notice.act = Some(self.act(&wait.ask));
        notice
    }

    fn done(&self, release: &Release, wait: &Wait, at: Timestamp) -> Notice {
        let what = clean(&wait.what).into_owned();
        let stage = clean(&wait.stage).into_owned();
        let (how, by) = how_done(release, &wait.ask);
        let text = format!(
            "{} no longer waits for {what} ({stage}): {how}",
            self.subject()
        );
        let mut notice = self.notice(Kind::Done, at, what, text);
        notice.stage = Some(stage);
        notice.ask = Some(wait.ask.verb());
        notice.since = wait.since;
        notice.by = by;
        notice
    }

    fn rolled_back(&self, release: &Release, by: &Person, reason: &str, at: Timestamp) -> Notice {
        let by = clean(by.as_str()).into_owned();
        let reason = clean(reason).into_owned();
        let text = format!("{} is rolling back: {by} fired ({reason})", self.subject());
        let mut notice = self.notice(Kind::RolledBack, at, reason, text);
        notice.stage = release
            .current_stage()
            .map(|s| clean(&s.plan.name).into_owned());
        notice.by = Some(by);
        notice
    }

    fn finished(&self, outcome: &str, at: Timestamp) -> Notice {
        let words = outcome.replace('_', " ");
        let text = format!("{} finished: {words}", self.subject());
        self.notice(Kind::Finished, at, outcome.to_string(), text)
    }

    /// `shipdeck do approve --backend URL --release ID --gate G`, each
    /// value quoted for a shell where it needs it.
    fn act(&self, ask: &Ask) -> String {
        let quote = |v: &str| {
            let v = clean(v);
            shlex::try_quote(&v)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| "'…'".into())
        };
        let mut line = format!(
            "shipdeck do {} --backend {} --release {}",
            ask.verb(),
            quote(&self.server),
            quote(&self.release)
        );
        match ask {
            Ask::Sign { gate } => line.push_str(&format!(" --gate {}", quote(gate))),
            Ask::Tick { list, item } => {
                line.push_str(&format!(" --list {} --item {}", quote(list), quote(item)))
            }
            Ask::Retry { stage } => line.push_str(&format!(" --stage {}", quote(stage))),
            Ask::Advance | Ask::Decide => {}
        }
        line
    }
}

/// How something that waited was done, and by whom where the release says.
fn how_done(release: &Release, ask: &Ask) -> (String, Option<String>) {
    let names = |people: Vec<&Person>| {
        let names: Vec<String> = people
            .iter()
            .map(|p| clean(p.as_str()).into_owned())
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        waiting::or_list(&names).replacen(" or ", " and ", 1)
    };
    match ask {
        Ask::Sign { gate } => match release.gate(gate) {
            Some(g) if g.state == GateState::Approved => {
                let by = names(g.signoffs.iter().map(|s| &s.operator).collect());
                (format!("approved by {by}"), Some(by))
            }
            Some(g) if g.state == GateState::Rejected => {
                let by = g.rejection.as_ref().map(|r| names(vec![&r.operator]));
                let how = by
                    .as_deref()
                    .map_or("rejected".into(), |b| format!("rejected by {b}"));
                (how, by)
            }
            _ => ("no longer waited for".into(), None),
        },
        Ask::Tick { list, item } => {
            let ticked = release
                .checklist(list)
                .and_then(|l| l.items.iter().find(|i| i.plan.id == *item))
                .and_then(|i| i.ticked.as_ref());
            match ticked {
                Some(tick) => {
                    let by = names(vec![&tick.by]);
                    (format!("ticked by {by}"), Some(by))
                }
                None => ("no longer waited for".into(), None),
            }
        }
        Ask::Advance | Ask::Decide | Ask::Retry { .. } => ("done".into(), None),
    }
}
