//! The controls, shared by [`crate::FakeGithub`]'s methods and the
//! `/_fake/` routes.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::model::Injected;
use crate::{Shared, TokenKind};

/// `login` reviews `environment` on run `run` as if from the web UI.
pub(crate) fn review(
    shared: &Shared,
    run: u64,
    login: &str,
    environment: &str,
    approve: bool,
    comment: &str,
) -> Result<(), String> {
    let mut state = shared.lock();
    let pending = state
        .run(run)
        .ok_or_else(|| format!("no run {run}"))?
        .pending();
    if !pending.iter().any(|e| e == environment) {
        return Err(format!(
            "{environment} is not waiting for a review on run {run}"
        ));
    }
    let may = state
        .environment(environment)
        .is_some_and(|env| state.may_review(login, env));
    if !may {
        return Err(format!("{login} may not review {environment}"));
    }
    state.review(run, login, &[environment.to_string()], approve, comment);
    Ok(())
}

pub(crate) fn set_rate_limit(shared: &Shared, remaining: u64, reset_in: Duration) {
    let mut state = shared.lock();
    let budget = &mut state.budget;
    budget.remaining = remaining.min(budget.limit);
    let reset = SignedDuration::try_from(reset_in).unwrap_or(SignedDuration::ZERO);
    budget.reset = Timestamp::now().checked_add(reset).unwrap_or(budget.reset);
}

pub(crate) fn secondary_limit(shared: &Shared, count: u32, retry_after: u64) {
    let mut state = shared.lock();
    state.budget.secondary = count;
    state.budget.retry_after = retry_after;
}

pub(crate) fn fail_next(shared: &Shared, method: &str, path: &str, status: u16) {
    shared.lock().injected.push(Injected {
        method: method.to_ascii_uppercase(),
        path: path.to_string(),
        status,
    });
}

pub(crate) fn add_token(shared: &Shared, token: &str, login: &str, kind: TokenKind) {
    shared
        .lock()
        .tokens
        .insert(token.to_string(), (login.to_string(), kind));
}
