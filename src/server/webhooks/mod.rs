//! `serve`'s webhooks (docs/webhooks.md): a notice when something starts
//! waiting on someone, when it is done, when a rule rolls the release back
//! and when the release finishes; signed, queued, retried and journaled.

pub mod body;
pub mod deliver;
pub mod notice;
pub mod sign;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use tokio::sync::mpsc;

pub use deliver::Hook;
pub use notice::{Kind, Notice, Place, Watch};
pub use sign::{Secret, Why, verify};

use crate::journal::{HookState, WebhookDelivery};
use crate::model::{Event, Release};

/// The hub's end of its webhooks: what it tells them, and what became of
/// each try, to journal.
pub struct Outbox {
    queues: Vec<Arc<deliver::Queue>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    outcomes: mpsc::UnboundedReceiver<WebhookDelivery>,
    place: Place,
    watch: Option<Watch>,
}

impl Outbox {
    /// Starts a task for each webhook. Call within the runtime.
    pub fn start(hooks: Vec<Hook>, place: Place) -> Result<Outbox, String> {
        let client = crate::backend::http::client(
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()),
        )?;
        let (sender, outcomes) = mpsc::unbounded_channel();
        let queues: Vec<Arc<deliver::Queue>> = hooks.into_iter().map(deliver::Queue::new).collect();
        let tasks = queues
            .iter()
            .map(|q| tokio::spawn(deliver::run(Arc::clone(q), client.clone(), sender.clone())))
            .collect();
        Ok(Outbox {
            queues,
            tasks,
            outcomes,
            place,
            watch: None,
        })
    }

    /// The release as it stands when the hub starts: what waits already is
    /// not news.
    pub fn begin(&mut self, release: &Release) {
        self.watch = Some(Watch::new(release));
    }

    /// A new window: what waits in it is all news.
    pub fn reset(&mut self) {
        if let Some(watch) = &mut self.watch {
            watch.reset();
        }
    }

    /// After `events` were folded into `release`: queues a notice for each
    /// change for every webhook; what a full queue let go, to journal.
    pub fn look(&mut self, release: &Release, events: &[Event]) -> Vec<WebhookDelivery> {
        let watch = self.watch.get_or_insert_with(|| Watch::new(release));
        let notices = watch.look(release, events, &self.place);
        let mut dropped = Vec::new();
        for notice in notices {
            for queue in &self.queues {
                let mut notice = notice.clone();
                notice.delivery = format!("{:016x}", fastrand::u64(..));
                let item = deliver::Item {
                    id: notice.delivery.clone(),
                    kind: notice.kind.name(),
                    body: body::render(&notice, queue.hook.format),
                };
                if let Some(lost) = queue.push(item) {
                    tracing::warn!(hook = %queue.hook.shown, delivery = %lost.id, "webhook queue full: the oldest notice is dropped");
                    dropped.push(unsent(&queue.hook, &lost, "its queue was full"));
                }
            }
        }
        dropped
    }

    /// The next outcome of a try; never, when there are no webhooks.
    pub async fn outcome(outbox: &mut Option<Outbox>) -> WebhookDelivery {
        match outbox {
            Some(outbox) => match outbox.outcomes.recv().await {
                Some(outcome) => outcome,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// Stops the tasks; what they had not sent and what they said but the
    /// hub had not yet journaled.
    pub async fn close(mut self) -> Vec<WebhookDelivery> {
        for task in &self.tasks {
            task.abort();
        }
        // Stopped for sure: none says anything after this.
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        let mut left = Vec::new();
        while let Ok(outcome) = self.outcomes.try_recv() {
            left.push(outcome);
        }
        for queue in &self.queues {
            for item in queue.drain() {
                left.push(unsent(&queue.hook, &item, "the server stopped"));
            }
        }
        left
    }
}

fn unsent(hook: &Hook, item: &deliver::Item, why: &str) -> WebhookDelivery {
    WebhookDelivery {
        id: item.id.clone(),
        hook: hook.shown.clone(),
        notice: item.kind.to_string(),
        state: HookState::Dropped,
        status: None,
        attempt: 0,
        why: Some(why.to_string()),
    }
}

/// The most a secret file may hold.
const MAX_SECRET: u64 = 4096;

/// The shared secret from a file only its owner can read.
pub fn read_secret(path: &std::path::Path) -> Result<Secret, String> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|err| format!("cannot read the webhook secret file {shown}: {err}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|err| format!("cannot read the webhook secret file {shown}: {err}"))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the webhook secret file {shown} can be read by others (mode {mode:03o}); make it yours alone: chmod 600 {shown}"
            ));
        }
    }
    let mut text = String::new();
    file.take(MAX_SECRET)
        .read_to_string(&mut text)
        .map_err(|err| format!("cannot read the webhook secret file {shown}: {err}"))?;
    match text.trim() {
        "" => Err(format!("the webhook secret file {shown} is empty")),
        secret => Ok(Secret::new(secret.as_bytes())),
    }
}
