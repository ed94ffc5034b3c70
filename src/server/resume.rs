//! Taking up a served window after the server stopped: the simulator is
//! rebuilt from its journal by replaying each recorded command at the moment
//! it was applied, and must reproduce every recorded event exactly before it
//! goes on. Clients then resume from their last seq as if nothing happened.

use std::path::{Path, PathBuf};

use crate::engine::Verdict;
use crate::journal::{self, Journal, Record};
use crate::model::{Command, EventKind};
use crate::sim::{Scenario, SimOptions, Simulator};

use super::hub::{Answer, Answered, reply};

/// The journal mode of a served window.
pub const MODE: &str = "serve";

/// The newest served window of `backend` in `dir` whose release has not
/// finished, if any.
pub fn find(dir: &Path, backend: &str) -> Option<(PathBuf, Journal)> {
    let (summaries, _) = journal::list(dir).ok()?;
    summaries
        .into_iter()
        // A window another server is serving now is not taken up.
        .filter(|s| s.in_flight && !journal::in_use(&s.path))
        .find_map(|summary| {
            let journal = Journal::read(&summary.path).ok()?;
            match &journal.window {
                Some(Record::Window {
                    mode, backend: b, ..
                }) if mode == MODE && b == backend => Some((summary.path, journal)),
                _ => None,
            }
        })
}

/// What a rebuilt window starts from.
pub struct Rebuilt {
    pub sim: Simulator,
    pub answered: Answered,
    /// Events due at the journal's last moment that it had not recorded yet
    /// (the server stopped mid-way through them): record them, then serve.
    pub unrecorded: Vec<crate::model::Event>,
}

/// A simulator brought to where the journal ends, and the commands it had
/// answered. Fails, saying where, when the journal does not match the
/// scenario and seed given now.
pub fn rebuild(
    scenario: Scenario,
    mut options: SimOptions,
    journal: &Journal,
) -> Result<Rebuilt, String> {
    let Some(first) = journal.events.first() else {
        return Err("the journal holds no events".into());
    };
    options.origin = Some(first.at);
    let mut sim = Simulator::new(scenario, options);
    let mut events = sim.start();
    let mut answered = Answered::new();
    // The moment each command was applied is its answering event's time.
    for (_, recorded) in &journal.commands {
        let applied = journal.events.iter().find_map(|e| match &e.kind {
            EventKind::CommandAccepted { command, .. }
            | EventKind::CommandRejected { command, .. }
                if command.id == recorded.id =>
            {
                Some((e.at, command.clone()))
            }
            _ => None,
        });
        // Recorded but never applied (the server stopped first): the client
        // will send it again, and it is applied then.
        let Some((at, command)) = applied else {
            continue;
        };
        if answered.contains_key(&command.id) {
            continue;
        }
        events.extend(sim.advance_to(at));
        let (verdict, more) = sim.submit(command.clone());
        events.extend(more);
        answered.insert(command.id.clone(), answer(&command, &verdict));
    }
    if let Some(last) = journal.events.last() {
        events.extend(sim.advance_to(last.at));
    }
    // Every recorded event must come out again, the same.
    for (n, recorded) in journal.events.iter().enumerate() {
        match events.get(n) {
            Some(again) if again == recorded => {}
            Some(again) => {
                return Err(format!(
                    "the journal differs from this scenario and seed at seq {} (recorded {}, now {})",
                    recorded.seq,
                    recorded.kind.name(),
                    again.kind.name()
                ));
            }
            None => {
                return Err(format!(
                    "this scenario and seed end at seq {} but the journal goes on to seq {}",
                    events.last().map_or(0, |e| e.seq),
                    recorded.seq
                ));
            }
        }
    }
    let unrecorded = events.split_off(journal.events.len());
    Ok(Rebuilt {
        sim,
        answered,
        unrecorded,
    })
}

fn answer(command: &Command, verdict: &Verdict) -> (Command, Answer) {
    (
        command.clone(),
        Answer::Done {
            reply: reply(command, verdict),
            // Which refusals were about the person is not recorded; a
            // repeated request gets the verdict, as 409.
            for_who: false,
        },
    )
}
