//! What GitHub said when it did not do what shipdeck asked, as one sentence
//! for an operator that names the cause and what to do: a refused token, a
//! token that may not do it (an installation's may not review), who may not
//! review what where, a spent rate limit and when it resets, an API that
//! cannot be reached and where it is. GitHub's words are already cleaned
//! and clipped by the client; no sentence holds the token.

use super::client::{ApiError, Repo, clock};
use super::token::TokenKind;

/// What was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked<'a> {
    /// A read: "the run 42", "the runs", "the jobs of run 42".
    Read(&'a str),
    /// An approval (`approve`) or a rejection of these environments.
    Review {
        environments: &'a [String],
        approve: bool,
    },
    Rerun(u64),
    Cancel(u64),
    Dispatch {
        workflow: &'a str,
    },
    Log(u64),
}

impl Asked<'_> {
    /// The request as a verb phrase: "review production", "cancel run 42".
    fn doing(&self) -> String {
        match self {
            Asked::Read(what) => format!("read {what}"),
            Asked::Review { environments, .. } => format!("review {}", environments.join(", ")),
            Asked::Rerun(run) => format!("re-run the failed jobs of run {run}"),
            Asked::Cancel(run) => format!("cancel run {run}"),
            Asked::Dispatch { workflow } => format!("start the workflow {workflow}"),
            Asked::Log(job) => format!("read the log of job {job}"),
        }
    }
}

/// Where it was asked, and by whom.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub repo: &'a Repo,
    /// The token's user, when known.
    pub login: Option<&'a str>,
    pub token: TokenKind,
    /// The API's address (`https://api.github.com`).
    pub api_url: &'a str,
    /// The rate limit, when an answer gave it.
    pub limit: Option<u64>,
}

/// GitHub's word for what an installation token may not touch.
const NOT_ACCESSIBLE: &str = "resource not accessible by integration";

/// The variable gh reads a token from for this API: `GH_TOKEN` for
/// GitHub's own, `GH_ENTERPRISE_TOKEN` for an Enterprise Server.
fn token_variable(api_url: &str) -> &'static str {
    match api_url.trim_end_matches('/') == super::client::GITHUB_API {
        true => "GH_TOKEN",
        false => "GH_ENTERPRISE_TOKEN",
    }
}

/// `err` as one sentence, for `asked` in `ctx`.
pub fn sentence(err: &ApiError, asked: &Asked<'_>, ctx: &Context<'_>) -> String {
    let doing = asked.doing();
    let repo = ctx.repo;
    match err {
        ApiError::Unauthorized { message } => format!(
            "GitHub refused the token (401 {message}): set {}, a token_file, or log in \
             again with `gh auth login`",
            token_variable(ctx.api_url)
        ),
        ApiError::Forbidden { message } => forbidden(message, asked, ctx),
        ApiError::NotFound { message } => format!(
            "GitHub shows this token nothing to {doing} on {repo} (404 {message}): check the \
             repository and the id, and that the token can see the repository"
        ),
        ApiError::Conflict { message } => {
            format!("GitHub would not {doing} on {repo}: the run changed meanwhile (409 {message})")
        }
        ApiError::Invalid { message } => invalid(message, asked, ctx),
        ApiError::RateLimited { until } => {
            let of = ctx.limit.map(|l| format!(" of {l}")).unwrap_or_default();
            format!("rate limit spent: 0{of} left until {}", clock(*until))
        }
        ApiError::SecondaryLimit { until } => format!(
            "secondary rate limit: GitHub asks shipdeck to send nothing until {}, so it did not \
             {doing}",
            clock(*until)
        ),
        ApiError::Server { status, message } => {
            format!("GitHub failed to {doing} on {repo} ({status} {message}); try again")
        }
        ApiError::Unreachable(why) => {
            format!("GitHub cannot be reached at {} ({why})", ctx.api_url)
        }
        ApiError::Garbage(why) => {
            format!("GitHub's answer to {doing} on {repo} could not be read ({why})")
        }
    }
}

fn forbidden(message: &str, asked: &Asked<'_>, ctx: &Context<'_>) -> String {
    let integration = message.to_lowercase().contains(NOT_ACCESSIBLE);
    let who = ctx.login.unwrap_or("this token's user");
    let repo = ctx.repo;
    match asked {
        Asked::Review { .. } if integration || ctx.token == TokenKind::Installation => format!(
            "GitHub does not let a GitHub App installation token review deployments (403 \
             {message}): use a person's token"
        ),
        Asked::Review { environments, .. } => format!(
            "{who} may not review {} on {repo}: GitHub says {message}",
            environments.join(", ")
        ),
        _ if integration => format!(
            "the token may not {} on {repo} (403 {message}): it needs the Actions permission \
             (read, or write to act)",
            asked.doing()
        ),
        _ => format!(
            "{who} may not {} on {repo}: GitHub says {message}",
            asked.doing()
        ),
    }
}

fn invalid(message: &str, asked: &Asked<'_>, ctx: &Context<'_>) -> String {
    match asked {
        Asked::Review {
            environments,
            approve,
        } => format!(
            "GitHub would not {} {} on {}: {message} (it may no longer wait for a review)",
            if *approve { "approve" } else { "reject" },
            environments.join(", "),
            ctx.repo
        ),
        _ => format!(
            "GitHub found the request to {} on {} invalid (422 {message})",
            asked.doing(),
            ctx.repo
        ),
    }
}

/// `err` as one sentence, for `asked` of `repo` through `api` (its address,
/// its token's kind and the limit it last heard).
pub fn of(api: &super::client::Api, err: &ApiError, asked: &Asked<'_>, repo: &Repo) -> String {
    let address = api.address();
    let ctx = Context {
        repo,
        login: None,
        token: api.token_kind(),
        api_url: &address,
        limit: api.limits().limit,
    };
    sentence(err, asked, &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn repo() -> Repo {
        "octo-org/octo-repo".parse().unwrap()
    }

    fn say(err: ApiError, asked: Asked<'_>, token: TokenKind) -> String {
        let repo = repo();
        let ctx = Context {
            repo: &repo,
            login: Some("octocat"),
            token,
            api_url: "https://api.github.com",
            limit: Some(5000),
        };
        sentence(&err, &asked, &ctx)
    }

    fn msg(text: &str) -> String {
        text.to_string()
    }

    fn prod() -> Vec<String> {
        vec!["production".to_string()]
    }

    #[test]
    fn a_refused_token_says_where_a_token_comes_from() {
        let err = ApiError::Unauthorized {
            message: msg("Bad credentials"),
        };
        assert_eq!(
            say(err, Asked::Read("the runs"), TokenKind::User),
            "GitHub refused the token (401 Bad credentials): set GH_TOKEN, a token_file, or log \
             in again with `gh auth login`"
        );
    }

    #[test]
    fn an_installation_token_may_not_review() {
        let envs = prod();
        let review = Asked::Review {
            environments: &envs,
            approve: true,
        };
        let err = ApiError::Forbidden {
            message: msg("Resource not accessible by integration"),
        };
        let expected = "GitHub does not let a GitHub App installation token review deployments \
                        (403 Resource not accessible by integration): use a person's token";
        assert_eq!(say(err.clone(), review, TokenKind::Other), expected);
        assert_eq!(say(err.clone(), review, TokenKind::Installation), expected);
        // The same words for a read name the permission instead.
        assert_eq!(
            say(err, Asked::Read("the run 42"), TokenKind::Installation),
            "the token may not read the run 42 on octo-org/octo-repo (403 Resource not \
             accessible by integration): it needs the Actions permission (read, or write to act)"
        );
    }

    #[test]
    fn a_reviewer_who_may_not_is_named_with_the_environment() {
        let envs = prod();
        let err = ApiError::Forbidden {
            message: msg("User is not a required reviewer"),
        };
        assert_eq!(
            say(
                err.clone(),
                Asked::Review {
                    environments: &envs,
                    approve: false
                },
                TokenKind::User
            ),
            "octocat may not review production on octo-org/octo-repo: GitHub says User is not a \
             required reviewer"
        );
        assert_eq!(
            say(err, Asked::Cancel(42), TokenKind::User),
            "octocat may not cancel run 42 on octo-org/octo-repo: GitHub says User is not a \
             required reviewer"
        );
    }

    #[test]
    fn limits_say_when_they_end() {
        let until = Timestamp::from_second(1_796_133_900).unwrap();
        assert_eq!(clock(until), "14:05:00 UTC");
        assert_eq!(
            say(
                ApiError::RateLimited { until },
                Asked::Read("the runs"),
                TokenKind::User
            ),
            "rate limit spent: 0 of 5000 left until 14:05:00 UTC"
        );
        assert_eq!(
            say(
                ApiError::SecondaryLimit { until },
                Asked::Rerun(7),
                TokenKind::User
            ),
            "secondary rate limit: GitHub asks shipdeck to send nothing until 14:05:00 UTC, so \
             it did not re-run the failed jobs of run 7"
        );
    }

    #[test]
    fn the_rest_name_what_and_where() {
        let envs = prod();
        let cases = [
            (
                ApiError::Unreachable(msg("connection refused")),
                Asked::Read("the runs"),
                "GitHub cannot be reached at https://api.github.com (connection refused)",
            ),
            (
                ApiError::NotFound {
                    message: msg("Not Found"),
                },
                Asked::Read("the run 9"),
                "GitHub shows this token nothing to read the run 9 on octo-org/octo-repo (404 Not \
                 Found): check the repository and the id, and that the token can see the \
                 repository",
            ),
            (
                ApiError::Conflict {
                    message: msg("Cannot cancel a completed run"),
                },
                Asked::Cancel(9),
                "GitHub would not cancel run 9 on octo-org/octo-repo: the run changed meanwhile \
                 (409 Cannot cancel a completed run)",
            ),
            (
                ApiError::Invalid {
                    message: msg("No pending deployment requests to approve"),
                },
                Asked::Review {
                    environments: &envs,
                    approve: true,
                },
                "GitHub would not approve production on octo-org/octo-repo: No pending deployment \
                 requests to approve (it may no longer wait for a review)",
            ),
            (
                ApiError::Invalid {
                    message: msg("Unexpected inputs provided"),
                },
                Asked::Dispatch {
                    workflow: "rollback.yml",
                },
                "GitHub found the request to start the workflow rollback.yml on \
                 octo-org/octo-repo invalid (422 Unexpected inputs provided)",
            ),
            (
                ApiError::Server {
                    status: 502,
                    message: msg("Bad Gateway"),
                },
                Asked::Log(3),
                "GitHub failed to read the log of job 3 on octo-org/octo-repo (502 Bad Gateway); \
                 try again",
            ),
            (
                ApiError::Garbage(msg("not the JSON GitHub sends")),
                Asked::Read("the jobs of run 9"),
                "GitHub's answer to read the jobs of run 9 on octo-org/octo-repo could not be \
                 read (not the JSON GitHub sends)",
            ),
        ];
        for (err, asked, expected) in cases {
            assert_eq!(say(err, asked, TokenKind::User), expected);
        }
    }
}
