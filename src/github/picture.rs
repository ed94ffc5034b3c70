//! The workflow run as GitHub's run page shows it, for the console's side
//! pane: the run, each job with its steps, each environment waiting for a
//! review with its reviewers and wait timer, and the review record. Not
//! release events (nothing here is journaled): the backend's own picture of
//! what it runs, sent again whenever it changes.

use jiff::Timestamp;

use super::translate::{Observed, step_icon};
use super::types::{Job, PendingDeployment};
use crate::backend::{Detail, Tone};
use crate::model::text::clip;
use crate::model::units::format_duration;

/// Lines the pane shows at most.
const MOST: usize = 200;

/// The picture of the run as seen now.
pub fn picture(seen: &Observed, now: Timestamp) -> Vec<Detail> {
    let run = &seen.run;
    let mut lines = Vec::new();
    let state = match run.conclusion() {
        Some(c) if run.completed() => c,
        _ => run.status(),
    };
    let (icon, tone) = looks(run.status(), run.conclusion());
    lines.push(Detail::new(
        format!(
            "{icon} {} · {} · run #{} attempt {}",
            clip(&run.title(), 80),
            clip(state, 30),
            run.run_number,
            run.attempt()
        ),
        tone,
    ));
    let actor = run
        .triggering_actor
        .as_ref()
        .or(run.actor.as_ref())
        .map(|u| clip(&u.login, 40))
        .unwrap_or_else(|| "?".into());
    lines.push(Detail::new(
        format!(
            "{} on {} · by {actor} · {}",
            clip(run.short_sha(), 12),
            clip(run.head_branch.as_deref().unwrap_or("?"), 60),
            clip(&run.event, 30)
        ),
        Tone::Muted,
    ));
    for p in &seen.pending {
        environment_lines(p, now, &mut lines);
    }
    if !seen.jobs.is_empty() {
        lines.push(Detail::new(String::new(), Tone::Muted));
        lines.push(Detail::new("jobs".into(), Tone::Title));
    }
    for job in &seen.jobs {
        job_lines(job, now, &mut lines);
        if lines.len() >= MOST {
            lines.truncate(MOST);
            return lines;
        }
    }
    review_lines(seen, &mut lines);
    lines.truncate(MOST);
    lines
}

/// An environment waiting for a review: who may give it, whether I may,
/// and its wait timer.
fn environment_lines(p: &PendingDeployment, now: Timestamp, lines: &mut Vec<Detail>) {
    lines.push(Detail::new(String::new(), Tone::Muted));
    let you = if p.current_user_can_approve {
        "you may review"
    } else {
        "you may not review"
    };
    lines.push(Detail::new(
        format!(
            "◆ {} waits for review · {you}",
            clip(&p.environment.name, 60)
        ),
        Tone::Busy,
    ));
    let reviewers: Vec<String> = p
        .reviewers
        .iter()
        .take(20)
        .map(|r| clip(&r.handle(), 60))
        .collect();
    let reviewers = if reviewers.is_empty() {
        "anyone with write access".into()
    } else {
        reviewers.join(", ")
    };
    lines.push(Detail::new(
        format!("  reviewers: {reviewers}"),
        Tone::Muted,
    ));
    if let Some(ends) = p.timer_ends() {
        let left = ends.duration_since(now);
        let text = if left.is_positive() {
            let secs = left.as_secs();
            format!("  wait timer {}:{:02} left", secs / 60, secs % 60)
        } else {
            "  wait timer done".into()
        };
        lines.push(Detail::new(text, Tone::Muted));
    }
}

/// A job with its icon and duration, and the steps of a running or failed
/// job under it.
fn job_lines(job: &Job, now: Timestamp, lines: &mut Vec<Detail>) {
    let (icon, tone) = looks(job.status(), job.conclusion());
    let took = match (job.started_at, job.completed_at) {
        (Some(from), Some(to)) => format!(" · {}", format_duration(to.duration_since(from))),
        (Some(from), None) if job.running() => {
            format!(" · {}", format_duration(now.duration_since(from)))
        }
        _ => String::new(),
    };
    let state = job.conclusion().unwrap_or(job.status());
    lines.push(Detail::new(
        format!("{icon} {} · {}{took}", clip(&job.name, 60), clip(state, 30)),
        tone,
    ));
    let failed = tone == Tone::Bad;
    if !(job.running() || failed) {
        return;
    }
    for step in job.steps.iter().take(100) {
        let (icon, tone) = looks(
            step.status.as_deref().unwrap_or("queued"),
            step.conclusion.as_deref(),
        );
        let took = match (step.started_at, step.completed_at) {
            (Some(from), Some(to)) => format!(" · {}", format_duration(to.duration_since(from))),
            _ => String::new(),
        };
        lines.push(Detail::new(
            format!("    {icon} {}. {}{took}", step.number, clip(&step.name, 80)),
            tone,
        ));
    }
}

/// Who approved or rejected which environments, with their comments.
fn review_lines(seen: &Observed, lines: &mut Vec<Detail>) {
    if seen.approvals.is_empty() {
        return;
    }
    lines.push(Detail::new(String::new(), Tone::Muted));
    lines.push(Detail::new("reviews".into(), Tone::Title));
    for a in seen.approvals.iter().take(50) {
        let environments: Vec<String> = a.environments.iter().map(|e| clip(&e.name, 60)).collect();
        let (verb, tone) = if a.approved() {
            ("✓ approved", Tone::Good)
        } else {
            ("✗ rejected", Tone::Bad)
        };
        let comment = a
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| format!(": “{}”", clip(c, 200)))
            .unwrap_or_default();
        lines.push(Detail::new(
            format!(
                "{} {verb} {}{comment}",
                clip(&a.user.login, 40),
                environments.join(", ")
            ),
            tone,
        ));
    }
}

/// The icon and tone of a status and conclusion, as GitHub's page draws
/// them: ✓ done, ✗ failed, ● running, ○ queued, ◆ waiting, ⊘ cancelled or
/// skipped.
fn looks(status: &str, conclusion: Option<&str>) -> (&'static str, Tone) {
    match status {
        "completed" => {
            let icon = step_icon(conclusion);
            let tone = match icon {
                "✓" => Tone::Good,
                "✗" => Tone::Bad,
                _ => Tone::Muted,
            };
            (icon, tone)
        }
        "in_progress" => ("●", Tone::Busy),
        "waiting" => ("◆", Tone::Busy),
        _ => ("○", Tone::Muted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::types::{Approval, Job, PendingDeployment, Run};

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_picture_counts_the_wait_timer_down_and_says_who_may_review() {
        let run: Run = fixture("workflow-run.json");
        let mut job: Job = fixture("job.json");
        job.conclusion = Some("failure".into());
        job.steps[6].conclusion = Some("failure".into());
        let mut pending: Vec<PendingDeployment> = fixture("pending-deployment-items.json");
        let mut other = pending[0].clone();
        other.environment.name = "production\u{1b}]0;owned\u{7}".into();
        other.current_user_can_approve = false;
        pending.push(other);
        let approvals: Vec<Approval> = fixture("environment-approvals-items.json");
        let seen = Observed {
            run,
            jobs: vec![job],
            pending,
            approvals,
        };
        // The timer started 22:00:40 and holds 30 minutes.
        let now: Timestamp = "2020-11-23T22:18:37Z".parse().unwrap();
        let lines: Vec<String> = picture(&seen, now).into_iter().map(|d| d.text).collect();
        let all = lines.join("\n");
        assert!(
            lines[0].starts_with("○ Build · Update README.md · queued · run #562 attempt 1"),
            "{all}"
        );
        assert!(all.contains("acb5820 on main · by octocat · push"), "{all}");
        assert!(
            all.contains("◆ staging waits for review · you may review"),
            "{all}"
        );
        assert!(
            all.contains("◆ production waits for review · you may not review"),
            "{all}"
        );
        assert!(
            all.contains("reviewers: octocat, @github/justice-league"),
            "{all}"
        );
        assert!(all.contains("wait timer 12:03 left"), "{all}");
        assert!(all.contains("✗ build · failure · 1m 59s"), "{all}");
        assert!(all.contains("    ✗ 7. Run Tests · 6s"), "{all}");
        assert!(
            all.contains("octocat ✓ approved staging: “Ship it!”"),
            "{all}"
        );
        assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
        let later: Timestamp = "2020-11-23T22:31:00Z".parse().unwrap();
        let all: Vec<String> = picture(&seen, later).into_iter().map(|d| d.text).collect();
        assert!(all.iter().any(|l| l == "  wait timer done"), "{all:?}");
    }
}
