//! The log host: where `GET …/actions/jobs/{id}/logs` redirects. Like
//! GitHub's blob storage it serves `text/plain` to a signed URL and needs
//! no `Authorization` (the server records whether one came anyway).

use std::hash::{DefaultHasher, Hash, Hasher};

use jiff::{SignedDuration, Timestamp};

use crate::model::{Job, State, Status};

/// The log host's path prefix on the fake's own address.
pub const PREFIX: &str = "/_logs/";

fn signature(job: u64, expires: &str) -> String {
    let mut h = DefaultHasher::new();
    ("fake-github log host", job, expires).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// An absolute, signed-looking URL for job `id`'s log, valid ten minutes.
pub(crate) fn location(state: &State, id: u64) -> String {
    let expires = (Timestamp::now() + SignedDuration::from_mins(10))
        .as_second()
        .to_string();
    format!(
        "{}{PREFIX}{}/{}/jobs/{id}?sv=2021-08-06&spr=https&se={expires}&sr=b&sp=r&sig={}",
        state.url,
        state.owner,
        state.repo,
        signature(id, &expires)
    )
}

/// `GET /_logs/{owner}/{repo}/jobs/{id}?…&se=…&sig=…`: the log, or 403
/// when the signature or its expiry does not hold.
pub(crate) fn serve(state: &State, path: &str, query: &str) -> (u16, String) {
    let id = path
        .rsplit('/')
        .next()
        .and_then(|id| id.parse::<u64>().ok())
        .unwrap_or(0);
    let expires = crate::paging::param(query, "se").unwrap_or_default();
    let sig = crate::paging::param(query, "sig").unwrap_or_default();
    let fresh = expires
        .parse::<i64>()
        .is_ok_and(|se| se >= Timestamp::now().as_second());
    if sig != signature(id, &expires) || !fresh {
        return (
            403,
            "AuthenticationFailed: Signature not valid in the specified time frame\n".into(),
        );
    }
    let job = state
        .runs
        .iter()
        .flat_map(|r| r.jobs.iter())
        .find(|j| j.id == id);
    match job {
        Some(job) if job.status == Status::Completed => (200, text(state, job)),
        _ => (
            404,
            "BlobNotFound: The specified blob does not exist.\n".into(),
        ),
    }
}

/// `2020-01-20T17:42:40.1234567Z`: GitHub's seven fractional digits.
fn stamp(ts: Timestamp, tick: i64) -> String {
    let ts = ts
        .checked_add(SignedDuration::from_micros(tick * 1_234))
        .unwrap_or(ts);
    let fraction = ts.subsec_nanosecond() / 100;
    format!("{}.{fraction:07}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// The log as GitHub writes it: a byte-order mark, then one line per
/// output line, each `TIMESTAMP text`, with `##[group]`/`##[endgroup]`
/// around each step's setup and `##[warning]`/`##[error]` annotations.
pub(crate) fn text(state: &State, job: &Job) -> String {
    let start = job.started_at.unwrap_or(job.created_at);
    let mut out = String::from("\u{feff}");
    let mut tick = 0;
    let mut line = |ts: Timestamp, text: &str| {
        tick += 1;
        out.push_str(&stamp(ts, tick));
        out.push(' ');
        out.push_str(text);
        out.push('\n');
    };
    line(start, "Requested labels: ubuntu-latest");
    line(
        start,
        &format!(
            "Job defined at: {}/{}/.github/workflows/deploy.yml@refs/heads/main",
            state.owner, state.repo
        ),
    );
    for step in &job.steps {
        let at = step.started_at.unwrap_or(start);
        line(at, &format!("##[group]{}", step.name));
        line(at, &format!("  {}", step.name.to_lowercase()));
        line(at, "##[endgroup]");
        match step.conclusion {
            Some("failure") => {
                line(at, &format!("{}: 1 check failed", job.name));
                line(at, "##[error]Process completed with exit code 1.");
            }
            Some("cancelled") => line(at, "##[error]The operation was canceled."),
            _ if step.name.starts_with("Run tests") => {
                line(at, "test result: ok. 128 passed; 0 failed");
                line(at, "##[warning]2 tests were slower than 5s");
            }
            _ => line(at, &format!("{} done", step.name)),
        }
    }
    line(
        job.completed_at.unwrap_or(start),
        "Cleaning up orphan processes",
    );
    out
}
