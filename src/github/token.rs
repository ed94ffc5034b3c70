//! The GitHub token, found where `gh` looks for one: the environment, a
//! token file readable only by its owner, or `gh auth token`. It is never
//! shown: not in `Debug`, not in an error, not in a log.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::text::clip;

/// How long `gh auth token` may take (less in tests, which wait it out).
const GH_TIMEOUT: Duration = Duration::from_secs(if cfg!(test) { 1 } else { 5 });
/// A token file longer than this is not a token.
const MAX_TOKEN_FILE: u64 = 16 * 1024;

/// A GitHub token. Its secret is read only by the client that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// Whose token it is, as far as its prefix tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A person's token (`ghp_`, `gho_`, `ghu_`, `github_pat_`).
    User,
    /// A GitHub App installation's token (`ghs_`): GitHub lets it do less
    /// (it may not review deployments).
    Installation,
    /// A token whose prefix says nothing (an old or an Enterprise one).
    Other,
}

impl Token {
    /// A token from its text, trimmed; an empty one, or one a header cannot
    /// carry, is refused (without quoting it).
    pub fn new(text: &str) -> Result<Token, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the token is empty".to_string());
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the token holds characters a token cannot have".to_string());
        }
        Ok(Token(text.to_string()))
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> TokenKind {
        let t = self.0.as_str();
        if t.starts_with("ghs_") {
            TokenKind::Installation
        } else if ["ghp_", "gho_", "ghu_", "github_pat_"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            TokenKind::User
        } else {
            TokenKind::Other
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Where the token was found, for `shipdeck config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable, by name.
    Env(&'static str),
    File(PathBuf),
    GhAuthToken,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(name) => f.write_str(name),
            TokenSource::File(path) => write!(f, "token file {}", path.display()),
            TokenSource::GhAuthToken => f.write_str("gh auth token"),
        }
    }
}

/// `github.com` for GitHub's own API host, else the host as given.
pub fn gh_host(host: &str) -> &str {
    match host {
        "api.github.com" | "github.com" => "github.com",
        other => other,
    }
}

/// The variables `gh` reads for `host`, in its order.
fn env_names(host: &str) -> [&'static str; 2] {
    if gh_host(host) == "github.com" {
        ["GH_TOKEN", "GITHUB_TOKEN"]
    } else {
        ["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"]
    }
}

/// The token for `host` (`github.com`, `api.github.com` or a GitHub
/// Enterprise Server's host), looked for in order: the environment, the
/// token file, `gh auth token --hostname HOST`.
pub fn find(token_file: Option<&Path>, host: &str) -> Result<(Token, TokenSource), String> {
    find_with(|name| std::env::var(name).ok(), token_file, host, "gh")
}

/// [`find`] with the environment and the `gh` program given.
pub(crate) fn find_with(
    env: impl Fn(&str) -> Option<String>,
    token_file: Option<&Path>,
    host: &str,
    gh: &str,
) -> Result<(Token, TokenSource), String> {
    let names = env_names(host);
    for name in names {
        if let Some(value) = env(name).filter(|v| !v.trim().is_empty()) {
            let token = Token::new(&value).map_err(|why| format!("{name}: {why}"))?;
            return Ok((token, TokenSource::Env(name)));
        }
    }
    if let Some(path) = token_file {
        let token = read_token_file(path)?;
        return Ok((token, TokenSource::File(path.to_path_buf())));
    }
    let host = gh_host(host);
    match gh_auth_token(gh, host) {
        Ok(token) => Ok((token, TokenSource::GhAuthToken)),
        Err(why) => Err(format!(
            "no GitHub token for {host}: set {} (or {}), give a token_file readable only by you, \
             or log in with `gh auth login --hostname {host}` ({why})",
            names[0], names[1]
        )),
    }
}

/// A token file: readable by its owner alone, one token, trimmed.
fn read_token_file(path: &Path) -> Result<Token, String> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the token file {shown}: {}", io_cause(&e)))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the token file {shown}: {}", io_cause(&e)))?;
    if !meta.is_file() {
        return Err(format!("the token file {shown} is not a file"));
    }
    refuse_readable_by_others(path, &meta)?;
    let mut text = String::new();
    file.take(MAX_TOKEN_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the token file {shown}: {}", io_cause(&e)))?;
    Token::new(&text).map_err(|why| format!("the token file {shown}: {why}"))
}

#[cfg(unix)]
fn refuse_readable_by_others(path: &Path, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o044 == 0 {
        return Ok(());
    }
    let who = match (mode & 0o040 != 0, mode & 0o004 != 0) {
        (true, true) => "its group and everyone else",
        (true, false) => "its group",
        _ => "everyone else",
    };
    Err(format!(
        "the token file {0} can be read by {who} (mode {mode:03o}), so it is not used: \
         chmod 600 {0}",
        path.display()
    ))
}

#[cfg(not(unix))]
fn refuse_readable_by_others(_: &Path, _: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

fn io_cause(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase()
}

/// `gh auth token --hostname HOST`, run without a shell, given
/// [`GH_TIMEOUT`].
fn gh_auth_token(gh: &str, host: &str) -> Result<Token, String> {
    let mut child = Command::new(gh)
        .args(["auth", "token", "--hostname", host])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "gh is not installed".to_string(),
            _ => format!("gh cannot be run: {}", io_cause(&e)),
        })?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < GH_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "gh auth token gave no answer in {} s",
                    GH_TIMEOUT.as_secs()
                ));
            }
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = stdout.take(MAX_TOKEN_FILE).read_to_string(&mut out);
    }
    if let Some(stderr) = child.stderr.take() {
        let _ = stderr.take(4096).read_to_string(&mut err);
    }
    if !status.success() {
        let said = clip(err.lines().next().unwrap_or("").trim(), 160);
        return Err(match said.is_empty() {
            true => "gh auth token failed: not logged in".to_string(),
            false => format!("gh auth token: {said}"),
        });
    }
    Token::new(&out).map_err(|why| format!("gh auth token: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    /// A `gh` that prints `out` and exits with `code`.
    fn fake_gh(dir: &Path, body: &str) -> String {
        let path = dir.join("gh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn a_token_is_never_shown() {
        let token = Token::new("  ghp_secret123\n").unwrap();
        assert_eq!(token.secret(), "ghp_secret123");
        assert_eq!(format!("{token:?}"), "Token(…)");
        assert_eq!(format!("{:?}", (token, 1)), "(Token(…), 1)");
        let err = Token::new("ghp_bad token").unwrap_err();
        assert!(!err.contains("ghp_bad"), "{err}");
    }

    #[test]
    fn kinds_by_prefix() {
        let kind = |t: &str| Token::new(t).unwrap().kind();
        assert_eq!(kind("ghs_abc"), TokenKind::Installation);
        assert_eq!(kind("ghp_abc"), TokenKind::User);
        assert_eq!(kind("github_pat_abc"), TokenKind::User);
        assert_eq!(kind("gho_abc"), TokenKind::User);
        assert_eq!(kind("0123abcd"), TokenKind::Other);
    }

    #[test]
    fn the_environment_comes_first_gh_token_before_github_token() {
        let dir = tempfile::tempdir().unwrap();
        let gh = fake_gh(dir.path(), "echo gho_from_gh");
        let both = env(&[("GH_TOKEN", "ghp_one"), ("GITHUB_TOKEN", "ghp_two")]);
        let (token, source) = find_with(both, None, "api.github.com", &gh).unwrap();
        assert_eq!(
            (token.secret(), source.to_string().as_str()),
            ("ghp_one", "GH_TOKEN")
        );
        let second = env(&[("GH_TOKEN", " "), ("GITHUB_TOKEN", "ghp_two")]);
        let (token, source) = find_with(second, None, "github.com", &gh).unwrap();
        assert_eq!(
            (token.secret(), source),
            ("ghp_two", TokenSource::Env("GITHUB_TOKEN"))
        );
        // An Enterprise host reads the Enterprise variables, as gh does.
        let ghes = env(&[
            ("GH_TOKEN", "ghp_one"),
            ("GITHUB_ENTERPRISE_TOKEN", "ghp_e"),
        ]);
        let (token, source) = find_with(ghes, None, "ghe.example.com", &gh).unwrap();
        assert_eq!(
            (token.secret(), source),
            ("ghp_e", TokenSource::Env("GITHUB_ENTERPRISE_TOKEN"))
        );
        // Nothing in the environment or a file: gh, asked for the host.
        let gh = fake_gh(dir.path(), r#"[ "$4" = github.com ] && echo gho_from_gh"#);
        let (token, source) = find_with(env(&[]), None, "api.github.com", &gh).unwrap();
        assert_eq!(
            (token.secret(), source.to_string().as_str()),
            ("gho_from_gh", "gh auth token")
        );
    }

    #[test]
    fn a_token_file_is_used_only_when_its_owner_alone_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let gh = fake_gh(dir.path(), "echo gho_from_gh");
        let path = dir.path().join("token");
        std::fs::write(&path, "ghp_filed\n\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
        let err = find_with(env(&[]), Some(&path), "github.com", &gh).unwrap_err();
        let shown = path.display().to_string();
        assert_eq!(
            err,
            format!(
                "the token file {shown} can be read by everyone else (mode 604), so it is not \
                 used: chmod 600 {shown}"
            )
        );
        assert!(!err.contains("ghp_filed"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = find_with(env(&[]), Some(&path), "github.com", &gh).unwrap_err();
        assert!(err.contains("can be read by its group (mode 640)"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = find_with(env(&[]), Some(&path), "github.com", &gh).unwrap_err();
        assert!(
            err.contains("by its group and everyone else (mode 644)"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (token, source) = find_with(env(&[]), Some(&path), "github.com", &gh).unwrap();
        assert_eq!(
            (token.secret(), source.to_string()),
            ("ghp_filed", format!("token file {shown}"))
        );
        std::fs::write(&path, "  \n").unwrap();
        let err = find_with(env(&[]), Some(&path), "github.com", &gh).unwrap_err();
        assert_eq!(err, format!("the token file {shown}: the token is empty"));
    }

    #[test]
    fn no_token_anywhere_names_all_three_ways() {
        let dir = tempfile::tempdir().unwrap();
        let gh = fake_gh(
            dir.path(),
            "echo 'no oauth token found for github.com' >&2; exit 1",
        );
        let err = find_with(env(&[]), None, "api.github.com", &gh).unwrap_err();
        assert_eq!(
            err,
            "no GitHub token for github.com: set GH_TOKEN (or GITHUB_TOKEN), give a token_file \
             readable only by you, or log in with `gh auth login --hostname github.com` \
             (gh auth token: no oauth token found for github.com)"
        );
        let missing = dir.path().join("no-such-gh").to_string_lossy().into_owned();
        let err = find_with(env(&[]), None, "ghe.example.com", &missing).unwrap_err();
        assert!(err.starts_with("no GitHub token for ghe.example.com: set GH_ENTERPRISE_TOKEN"));
        assert!(err.ends_with("(gh is not installed)"), "{err}");
    }

    #[test]
    fn a_gh_that_hangs_is_given_up_on() {
        let dir = tempfile::tempdir().unwrap();
        let gh = fake_gh(dir.path(), "exec sleep 30");
        let started = Instant::now();
        let err = find_with(env(&[]), None, "github.com", &gh).unwrap_err();
        assert!(
            err.ends_with("(gh auth token gave no answer in 1 s)"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
