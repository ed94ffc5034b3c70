//! The repository a git checkout belongs to, found as `gh` finds it: `-R`
//! or `$GH_REPO` first, else the checkout's remotes on a host gh knows
//! (github.com, `$GH_HOST`, the hosts of gh's `hosts.yml`): the one `gh repo
//! set-default` chose (`remote.NAME.gh-resolved`), else `upstream`, then
//! `github`, then `origin`, then the others, keeping to `$GH_HOST` when it
//! is set.

use std::path::Path;
use std::process::{Command, Stdio};

use super::client::{GITHUB_API, Repo};
use crate::model::text::Clean;

/// A repository on a GitHub host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `github.com`, or an Enterprise Server's host.
    pub host: String,
    pub repo: String,
    /// Where it was found: `-R`, `$GH_REPO`, or `the git remote origin`.
    pub from: String,
}

impl Found {
    /// The REST API's address for the host: GitHub's own, or an
    /// Enterprise Server's `https://HOST/api/v3`.
    pub fn api_url(&self) -> String {
        match self.host.as_str() {
            "github.com" => GITHUB_API.to_string(),
            // GitHub Enterprise Cloud with data residency.
            host if host.ends_with(".ghe.com") => format!("https://api.{host}"),
            host => format!("https://{host}/api/v3"),
        }
    }
}

/// A remote of the checkout: its name, its fetch URL, and what `gh repo
/// set-default` wrote for it (`base`, or `OWNER/REPO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    pub url: String,
    pub resolved: Option<String>,
}

/// The repository `-R` (`given`), `$GH_REPO` or the checkout at `dir`
/// names, or a sentence saying why none.
pub fn find(given: Option<&str>, dir: &Path) -> Result<Found, String> {
    if let Some(text) = given {
        return named(text, "-R");
    }
    if let Some(text) = std::env::var("GH_REPO")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return named(&text, "$GH_REPO");
    }
    let remotes = remotes(dir)?;
    let host = std::env::var("GH_HOST")
        .ok()
        .map(|h| normal_host(&h))
        .filter(|h| !h.is_empty());
    let mut known = gh_hosts();
    known.extend(host.clone());
    choose(&remotes, host.as_deref(), &known)
}

/// The hosts gh knows: github.com, and those of its `hosts.yml` (in
/// `$GH_CONFIG_DIR`, else `$XDG_CONFIG_HOME/gh`, else `~/.config/gh`),
/// where `gh auth login` writes each host it logs in to.
fn gh_hosts() -> Vec<String> {
    let dir = std::env::var_os("GH_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CONFIG_HOME")
                .filter(|d| !d.is_empty())
                .map(|d| std::path::PathBuf::from(d).join("gh"))
        })
        .or_else(|| std::env::home_dir().map(|h| h.join(".config").join("gh")));
    let text = dir
        .and_then(|d| crate::files::read_text(&d.join("hosts.yml")).ok())
        .unwrap_or_default();
    let mut hosts = vec!["github.com".to_string()];
    hosts.extend(hosts_of(&text));
    hosts
}

/// The top-level keys of a `hosts.yml`: one host each.
fn hosts_of(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with([' ', '\t', '#', '-']))
        .filter_map(|l| l.trim_end().strip_suffix(':'))
        .map(|h| normal_host(h.trim_matches(['"', '\''])))
        .filter(|h| !h.is_empty())
        .collect()
}

/// `[HOST/]OWNER/REPO`, or a repository's URL, as `-R` and `$GH_REPO` take.
fn named(text: &str, from: &str) -> Result<Found, String> {
    let text = text.trim();
    let parsed = if text.contains("://") || text.contains('@') {
        parse_url(text)
    } else {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [owner, name] => Some((default_host(), format!("{owner}/{name}"))),
            [host, owner, name] => Some((normal_host(host), format!("{owner}/{name}"))),
            _ => None,
        }
    };
    let (host, repo) = parsed
        .filter(|(_, repo)| repo.parse::<Repo>().is_ok())
        .ok_or_else(|| {
            format!(
                "{from} `{}` is not [HOST/]OWNER/REPO or a repository's URL",
                Clean(text)
            )
        })?;
    Ok(Found {
        host,
        repo,
        from: from.to_string(),
    })
}

/// `$GH_HOST`, else github.com: the host an unqualified OWNER/REPO is on.
fn default_host() -> String {
    std::env::var("GH_HOST")
        .ok()
        .map(|h| normal_host(&h))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "github.com".into())
}

/// The remote a repository is taken from, in gh's order, among those on a
/// host gh knows (`known`).
pub fn choose(remotes: &[Remote], host: Option<&str>, known: &[String]) -> Result<Found, String> {
    let rank = |r: &Remote| match r.name.as_str() {
        _ if r.resolved.is_some() => 0,
        "upstream" => 1,
        "github" => 2,
        "origin" => 3,
        _ => 4,
    };
    let mut parsed: Vec<(&Remote, String, String)> = remotes
        .iter()
        .filter_map(|r| parse_url(&r.url).map(|(h, repo)| (r, h, repo)))
        .collect();
    if parsed.is_empty() {
        return Err(match remotes.is_empty() {
            true => {
                "this checkout has no git remote: give the repository with -R OWNER/REPO".into()
            }
            false => format!(
                "no git remote of this checkout names a GitHub repository ({}): give -R OWNER/REPO",
                Clean(
                    &remotes
                        .iter()
                        .map(|r| format!("{} {}", r.name, r.url))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            ),
        });
    }
    if let Some(host) = host {
        parsed.retain(|(_, h, _)| h == host);
        if parsed.is_empty() {
            return Err(format!(
                "no git remote of this checkout is on $GH_HOST ({}): give -R OWNER/REPO",
                Clean(host)
            ));
        }
    }
    let on: Vec<String> = parsed.iter().map(|(_, h, _)| h.clone()).collect();
    parsed.retain(|(_, h, _)| known.contains(h));
    if parsed.is_empty() {
        let mut on = on;
        on.dedup();
        return Err(format!(
            "no git remote of this checkout is on a GitHub host gh knows (they are on {}): \
             log in to one with `gh auth login --hostname HOST`, or give -R OWNER/REPO",
            Clean(&on.join(", "))
        ));
    }
    parsed.sort_by_key(|(r, _, _)| rank(r));
    let (remote, host, repo) = parsed.swap_remove(0);
    let repo = match remote.resolved.as_deref() {
        Some(other) if other != "base" && other.parse::<Repo>().is_ok() => other.to_string(),
        _ => repo,
    };
    Ok(Found {
        host,
        repo,
        from: format!("the git remote {}", remote.name),
    })
}

/// The checkout's remotes, read with git as gh reads them (`git remote
/// -v`, whose URLs have `insteadOf` applied, and the `gh-resolved` marks).
pub fn remotes(dir: &Path) -> Result<Vec<Remote>, String> {
    let listed = git(dir, &["remote", "-v"])?;
    let mut remotes: Vec<Remote> = Vec::new();
    for line in listed.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(url), kind) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if let Some(known) = remotes.iter_mut().find(|r| r.name == name) {
            // The fetch URL, else the push URL.
            if kind == Some("(fetch)") {
                known.url = url.to_string();
            }
            continue;
        }
        remotes.push(Remote {
            name: name.to_string(),
            url: url.to_string(),
            resolved: None,
        });
    }
    // No mark at all is git's exit status 1: not an error.
    let marks = git(
        dir,
        &["config", "--get-regexp", r"^remote\..*\.gh-resolved$"],
    )
    .unwrap_or_default();
    for line in marks.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let name = key
            .strip_prefix("remote.")
            .and_then(|k| k.strip_suffix(".gh-resolved"));
        if let Some(remote) = remotes.iter_mut().find(|r| Some(r.name.as_str()) == name) {
            remote.resolved = Some(value.trim().to_string());
        }
    }
    Ok(remotes)
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|err| format!("cannot run git to read this checkout's remotes: {err}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.lines().next().unwrap_or("").trim();
        return Err(match said.contains("not a git repository") {
            true => "this is not a git checkout: run it in one, or give -R OWNER/REPO".into(),
            false => format!("git {}: {}", args.join(" "), Clean(said)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host and OWNER/REPO of a remote's URL: `https://HOST/OWNER/REPO`,
/// `ssh://git@HOST/OWNER/REPO.git`, `git@HOST:OWNER/REPO.git` and the
/// `git://`, `git+ssh://` and `git+https://` forms.
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (host, path) = match url.split_once("://") {
        Some((scheme, rest)) => {
            if !matches!(
                scheme,
                "https" | "http" | "ssh" | "git" | "git+ssh" | "git+https" | "ssh+git"
            ) {
                return None;
            }
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            // A port is not part of the host gh knows the repository by.
            let host = host.split_once(':').map_or(host, |(h, _)| h);
            (host, path)
        }
        None => {
            // scp-like: [user@]host:path, with no slash before the colon.
            let (authority, path) = url.split_once(':')?;
            if authority.contains('/') || path.starts_with("//") {
                return None;
            }
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            (host, path)
        }
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    if owner.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    let host = normal_host(host);
    if host.is_empty() {
        return None;
    }
    let repo = format!("{owner}/{name}");
    repo.parse::<Repo>().ok()?;
    Some((host, repo))
}

/// A host as gh compares them: lower case, without `www.`; GitHub's SSH
/// over port 443 is GitHub.
fn normal_host(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    match host.strip_prefix("www.").unwrap_or(&host) {
        "ssh.github.com" => "github.com".to_string(),
        host => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> Vec<String> {
        vec!["github.com".to_string()]
    }

    fn remote(name: &str, url: &str) -> Remote {
        Remote {
            name: name.into(),
            url: url.into(),
            resolved: None,
        }
    }

    #[test]
    fn every_url_form_git_writes_names_the_repository() {
        let want = Some(("github.com".to_string(), "octo-org/octo-repo".to_string()));
        for url in [
            "https://github.com/octo-org/octo-repo.git",
            "https://github.com/octo-org/octo-repo",
            "https://www.GitHub.com/octo-org/octo-repo/",
            "git@github.com:octo-org/octo-repo.git",
            "github.com:octo-org/octo-repo",
            "ssh://git@github.com/octo-org/octo-repo.git",
            "ssh://git@github.com:22/octo-org/octo-repo",
            "git+ssh://git@github.com/octo-org/octo-repo.git",
            "git://github.com/octo-org/octo-repo.git",
        ] {
            assert_eq!(parse_url(url), want, "{url}");
        }
        assert_eq!(
            parse_url("git@ghe.example.com:platform/api.git"),
            Some(("ghe.example.com".into(), "platform/api".into()))
        );
        for not in [
            "/srv/git/octo-repo.git",
            "../octo-repo",
            "https://github.com/octo-org",
            "https://github.com/octo-org/octo-repo/tree/main",
            "ftp://github.com/octo-org/octo-repo",
            "file:///srv/octo-org/octo-repo",
        ] {
            assert_eq!(parse_url(not), None, "{not}");
        }
    }

    #[test]
    fn upstream_before_github_before_origin_and_set_default_before_all() {
        let remotes = vec![
            remote("fork", "git@github.com:me/octo-repo.git"),
            remote("origin", "https://github.com/me/octo-repo.git"),
            remote("upstream", "https://github.com/octo-org/octo-repo.git"),
        ];
        let found = choose(&remotes, None, &github()).unwrap();
        assert_eq!(found.repo, "octo-org/octo-repo");
        assert_eq!(found.from, "the git remote upstream");
        assert_eq!(
            choose(&remotes[..2], None, &github()).unwrap().from,
            "the git remote origin"
        );

        let mut marked = remotes.clone();
        marked[0].resolved = Some("base".into());
        assert_eq!(
            choose(&marked, None, &github()).unwrap().repo,
            "me/octo-repo"
        );
        marked[0].resolved = Some("octo-org/elsewhere".into());
        assert_eq!(
            choose(&marked, None, &github()).unwrap().repo,
            "octo-org/elsewhere"
        );
    }

    #[test]
    fn a_remote_counts_on_a_host_gh_knows_in_gh_s_order_and_gh_host_filters() {
        let remotes = vec![
            remote("origin", "git@ghe.example.com:platform/api.git"),
            remote("mirror", "https://gitlab.example.com/platform/api.git"),
        ];
        let err = choose(&remotes, None, &github()).unwrap_err();
        assert!(
            err.contains("gh knows (they are on ghe.example.com, gitlab.example.com)")
                && err.contains("gh auth login --hostname HOST"),
            "{err}"
        );
        let known = vec!["github.com".to_string(), "ghe.example.com".to_string()];
        let found = choose(&remotes, None, &known).unwrap();
        assert_eq!(found.api_url(), "https://ghe.example.com/api/v3");
        let err = choose(&remotes, Some("github.com"), &known).unwrap_err();
        assert!(err.contains("$GH_HOST (github.com)"), "{err}");

        // Among known hosts, the name decides, as in gh: origin before
        // a remote of any other name.
        let both = vec![
            remote("other", "https://github.com/octo-org/octo-repo"),
            remote("origin", "git@ghe.example.com:platform/api.git"),
        ];
        let found = choose(&both, None, &known).unwrap();
        assert_eq!(
            (found.host.as_str(), found.repo.as_str()),
            ("ghe.example.com", "platform/api")
        );
        let found = choose(&both, None, &github()).unwrap();
        assert_eq!(found.api_url(), GITHUB_API);
        let cloud = Found {
            host: "octo.ghe.com".into(),
            repo: "a/b".into(),
            from: String::new(),
        };
        assert_eq!(cloud.api_url(), "https://api.octo.ghe.com");
        assert_eq!(
            parse_url("ssh://git@ssh.github.com:443/octo-org/octo-repo.git")
                .unwrap()
                .0,
            "github.com"
        );
    }

    #[test]
    fn gh_s_hosts_file_names_its_hosts() {
        let text = "github.com:\n    oauth_token: x\n    user: octocat\nghe.example.com:\n    user: me\n\"127.0.0.1\":\n    git_protocol: https\n";
        assert_eq!(
            hosts_of(text),
            ["github.com", "ghe.example.com", "127.0.0.1"]
        );
    }

    #[test]
    fn no_github_remote_says_so_and_how_to_name_one() {
        let err = choose(&[], None, &github()).unwrap_err();
        assert!(err.contains("-R OWNER/REPO"), "{err}");
        let err = choose(&[remote("origin", "/srv/git/x.git")], None, &github()).unwrap_err();
        assert!(err.contains("origin /srv/git/x.git"), "{err}");
    }

    #[test]
    fn dash_r_takes_owner_repo_host_owner_repo_or_a_url() {
        assert_eq!(
            named("octo-org/octo-repo", "-R").unwrap().host,
            "github.com"
        );
        let found = named("ghe.example.com/platform/api", "-R").unwrap();
        assert_eq!(
            (found.host.as_str(), found.repo.as_str()),
            ("ghe.example.com", "platform/api")
        );
        assert_eq!(
            named("https://github.com/octo-org/octo-repo", "$GH_REPO")
                .unwrap()
                .repo,
            "octo-org/octo-repo"
        );
        let err = named("octo-repo", "-R").unwrap_err();
        assert!(err.contains("[HOST/]OWNER/REPO"), "{err}");
    }
}
