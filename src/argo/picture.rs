//! The Rollout as `kubectl argo rollouts get` draws it, for the console's
//! side pane: its phase, then each revision with its ReplicaSets, pods and
//! analysis. Not release events (nothing here is journaled): the backend's
//! own picture of what it runs, sent again whenever it changes.

use jiff::Timestamp;

use super::info::{self, Phase};
use super::translate::Observed;
use crate::backend::{Detail, Tone};

/// Lines the pane shows at most.
const MOST: usize = 200;

/// The picture of the Rollout as seen now.
pub fn picture(seen: &Observed, now: Timestamp) -> Vec<Detail> {
    let r = &seen.rollout;
    let state = info::phase(r);
    let mut lines = Vec::new();
    let tone = phase_tone(state.phase);
    let head = if state.message.is_empty() {
        format!("{} {}", state.phase.icon(), state.phase)
    } else {
        format!("{} {}: {}", state.phase.icon(), state.phase, state.message)
    };
    lines.push(Detail::new(head, tone));
    // The step is in the header, counted from 1 as shipdeck counts.
    let mut facts = vec![info::strategy(r).to_string()];
    if r.spec.strategy.canary.is_some() {
        facts.push(format!(
            "weight {} (actual {})",
            info::set_weight(r),
            info::actual_weight(r, &seen.replicasets)
        ));
    }
    let s = &r.status;
    facts.push(format!(
        "{}/{} ready, {} updated, {} available",
        s.ready_replicas,
        r.spec.desired(),
        s.updated_replicas,
        s.available_replicas
    ));
    lines.push(Detail::new(facts.join(" · "), Tone::Muted));
    if let Some(wait) = info::waiting_on_person(r) {
        let since = wait
            .since
            .map(|t| format!(" · {}", super::list::age(t, now)))
            .unwrap_or_default();
        lines.push(Detail::new(
            format!("waits: {}{since}", wait.reason),
            Tone::Busy,
        ));
    }
    for revision in info::revisions(r, &seen.replicasets, &seen.pods, &seen.runs) {
        revision_lines(&revision, now, &mut lines);
        if lines.len() >= MOST {
            lines.truncate(MOST);
            break;
        }
    }
    lines
}

fn revision_lines(revision: &info::Revision, now: Timestamp, lines: &mut Vec<Detail>) {
    let number = revision
        .number
        .map(|n| format!("revision {n}"))
        .unwrap_or_else(|| "revision ?".into());
    let roles = if revision.roles.is_empty() {
        String::new()
    } else {
        format!(" · {}", revision.roles.join(", "))
    };
    lines.push(Detail::new(String::new(), Tone::Muted));
    lines.push(Detail::new(format!("{number}{roles}"), Tone::Title));
    for image in &revision.images {
        lines.push(Detail::new(format!("  {image}"), Tone::Muted));
    }
    for rs in &revision.replicasets {
        let tone = match rs.health {
            "Healthy" => Tone::Good,
            "ScaledDown" => Tone::Muted,
            "Progressing" => Tone::Busy,
            _ => Tone::Bad,
        };
        let text = format!(
            "  rs {} · {} · {}/{} ready",
            rs.name, rs.health, rs.ready, rs.desired
        );
        lines.push(Detail::new(text, tone));
    }
    for pod in &revision.pods {
        let age = pod
            .created
            .map(|t| format!(" · {}", super::list::age(t, now)))
            .unwrap_or_default();
        let tone = match pod.status.as_str() {
            "Running" if pod.restarts == 0 => Tone::Good,
            "Running" | "Completed" | "Succeeded" => Tone::Busy,
            "Pending" | "ContainerCreating" | "Terminating" => Tone::Busy,
            _ => Tone::Bad,
        };
        let text = format!(
            "  pod {} · {} · {} ready · {} restarts{age}",
            pod.name, pod.status, pod.ready, pod.restarts
        );
        lines.push(Detail::new(text, tone));
    }
    for run in &revision.analysis_runs {
        let text = format!(
            "  analysis {} · {} · ✔ {} ✖ {} ? {} ⚠ {}",
            run.name, run.phase, run.successful, run.failed, run.inconclusive, run.error
        );
        lines.push(Detail::new(text, analysis_tone(&run.phase)));
        for metric in &run.metrics {
            let last = metric
                .values
                .last()
                .map(|(_, value, _)| format!(" · last {value}"))
                .unwrap_or_default();
            let text = format!(
                "    {} {}: ✔ {} ✖ {}/{} ? {}/{} ⚠ {}/{}{last}",
                metric.name,
                metric.phase,
                metric.successful,
                metric.failed,
                metric.failure_limit,
                metric.inconclusive,
                metric.inconclusive_limit,
                metric.error,
                metric.consecutive_error_limit
            );
            lines.push(Detail::new(text, analysis_tone(&metric.phase)));
        }
    }
}

fn phase_tone(phase: Phase) -> Tone {
    match phase {
        Phase::Healthy => Tone::Good,
        Phase::Degraded => Tone::Bad,
        Phase::Paused | Phase::Progressing => Tone::Busy,
    }
}

fn analysis_tone(phase: &str) -> Tone {
    match phase {
        "Successful" => Tone::Good,
        "Failed" | "Error" => Tone::Bad,
        "Inconclusive" => Tone::Busy,
        _ => Tone::Muted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_says_the_phase_the_wait_and_each_revision_with_its_analysis() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/argo/rollout-aborted");
        let mut seen = Observed::default();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
            match value["kind"].as_str() {
                Some("Rollout") => seen.rollout = serde_json::from_value(value).unwrap(),
                Some("AnalysisRun") => seen.runs.push(serde_json::from_value(value).unwrap()),
                Some("Pod") => seen.pods.push(serde_json::from_value(value).unwrap()),
                Some("ReplicaSet") => {
                    let mut v = value;
                    v["apiVersion"] = "apps/v1".into();
                    seen.replicasets.push(serde_json::from_value(v).unwrap());
                }
                _ => {}
            }
        }
        let lines: Vec<String> = picture(&seen, Timestamp::now())
            .into_iter()
            .map(|d| d.text)
            .collect();
        let all = lines.join("\n");
        assert!(
            lines[0].starts_with("✖ Degraded: RolloutAborted: metric \"web\" assessed Failed"),
            "{all}"
        );
        assert!(all.contains("revision 2"), "{all}");
        assert!(
            all.contains("analysis rollout-background-analysis-db976bc44-2 · Failed · ✔ 0 ✖ 1"),
            "{all}"
        );
        assert!(all.contains("web Failed: ✔ 0 ✖ 1/0"), "{all}");
        assert!(
            !all.contains("waits:"),
            "an aborted Rollout waits on nobody: {all}"
        );
    }
}
