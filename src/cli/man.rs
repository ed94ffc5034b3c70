//! `shipdeck man`: the manual pages, from the same clap definition as
//! `--help`, so they cannot drift from the build they come with.
//! `shipdeck.1` is the console and the index of the rest; each subcommand
//! has a page of its own (`shipdeck-serve.1`, `shipdeck-journal-list.1`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use super::EXIT_BAD_INPUT;
use crate::model::text::Clean;

/// Options of `shipdeck man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// The page of one subcommand (`serve`, `journal list`) instead of
    /// shipdeck.1. On a terminal, the page is shown by `man`; piped, it is
    /// printed as roff.
    #[arg(value_name = "SUBCOMMAND")]
    pub page: Vec<String>,

    /// Write every page (shipdeck.1, one per subcommand, and the kubectl
    /// plugin's and gh extension's) into this folder, instead of printing
    /// one.
    #[arg(long, value_name = "DIR", conflicts_with = "page")]
    pub dir: Option<PathBuf>,

    /// Write every page where `man` looks for this shipdeck's: share/man/man1
    /// beside the folder it runs from (~/.cargo/share/man/man1 for
    /// ~/.cargo/bin/shipdeck), which man-db searches for every folder of
    /// $PATH.
    #[arg(long, conflicts_with_all = ["page", "dir"])]
    pub install: bool,
}

/// Whether `man` searches `dir`, as `manpath` says; `None` when there is
/// no `manpath` to ask.
fn man_looks_in(dir: &Path) -> Option<bool> {
    let out = std::process::Command::new("manpath")
        .arg("-q")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let wanted = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let listed = String::from_utf8_lossy(&out.stdout);
    Some(listed.trim().split(':').any(|p| {
        let p = Path::new(p);
        std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()) == wanted
    }))
}

/// `share/man/man1` beside the folder the running binary is in.
fn beside_the_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .map_err(|err| format!("cannot tell where this shipdeck is: {err}"))?;
    let prefix = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is in no folder with a parent", exe.display()))?;
    Ok(prefix.join("share").join("man").join("man1"))
}

/// What the console's page says besides the options: the sections every
/// Unix manual has.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Done (for events: the release reached a final state)."),
    (
        "1",
        "Something failed that is not your input (inbox --json: a source could not be read, and nothing that could waits on you).",
    ),
    (
        "2",
        "Bad input: a malformed file, an unknown scenario, bad usage, no terminal for the console, a server that cannot be reached or refuses the token.",
    ),
    (
        "3",
        "events: the release waits for a person; do: the command was refused; inbox --json: something waits on you.",
    ),
    (
        "129, 130, 143",
        "The console was stopped by SIGHUP, SIGINT or SIGTERM (the terminal is restored).",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "SHIPDECK_OPERATOR",
        "Who you are, when --operator is not given.",
    ),
    (
        "SHIPDECK_CONFIG",
        "The config file, when --config is not given.",
    ),
    (
        "SHIPDECK_BACKEND",
        "A server to follow instead of the simulator.",
    ),
    (
        "SHIPDECK_TOKEN, SHIPDECK_TOKEN_FILE",
        "The bearer token for a server, or the file holding it.",
    ),
    ("SHIPDECK_JOURNAL_DIR", "Where journals are written."),
    (
        "SHIPDECK_THEME, SHIPDECK_FRAME_CAP, SHIPDECK_LOG_RING, SHIPDECK_BELL, SHIPDECK_NOTIFY, SHIPDECK_COMMAND_EXPIRY",
        "The console's settings, as their flags and config keys.",
    ),
    (
        "KUBECONFIG",
        "The kubeconfig files for --rollout and rollouts, as kubectl reads them (--kubeconfig wins).",
    ),
    (
        "GH_TOKEN, GITHUB_TOKEN",
        "The GitHub token for --github, runs and gh shipdeck; else the config's token_file, else gh auth token.",
    ),
    (
        "GH_ENTERPRISE_TOKEN, GITHUB_ENTERPRISE_TOKEN",
        "The same for a GitHub Enterprise Server (--github-api, or its api_url).",
    ),
    (
        "GH_REPO, GH_HOST",
        "gh shipdeck: the repository, and the host whose git remotes count, as for gh.",
    ),
    ("NO_COLOR", "Draw the console without colour."),
    (
        "SHIPDECK_COMPLETE",
        "Set by the shell's completion function (shipdeck completions); not for people.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "$XDG_CONFIG_HOME/shipdeck/config.yaml",
        "The config file (shipdeck config prints what it sets; shipdeck check checks it).",
    ),
    (
        "$XDG_DATA_HOME/shipdeck/journal/",
        "One journal per window: every event and every command, with who and why.",
    ),
    (
        "$XDG_STATE_HOME/shipdeck/shipdeck.log, serve.log",
        "shipdeck's own diagnostics; never written to the screen.",
    ),
];

/// `shipdeck man`: `root` is shipdeck's command line, `plugins` those of
/// `kubectl shipdeck` and `gh shipdeck`, whose pages are written too.
pub fn run(args: &ManArgs, root: clap::Command, plugins: Vec<clap::Command>) -> ExitCode {
    let built = |command: clap::Command| {
        let mut command = command.disable_help_subcommand(true);
        command.build();
        command
    };
    let root = built(root);
    let plugins: Vec<clap::Command> = plugins.into_iter().map(built).collect();
    let dir = match (&args.dir, args.install) {
        (Some(dir), _) => Some(dir.clone()),
        (None, true) => match beside_the_binary() {
            Ok(dir) => Some(dir),
            Err(why) => {
                crate::errln!("shipdeck: {}", Clean(&why));
                return ExitCode::FAILURE;
            }
        },
        (None, false) => None,
    };
    if let Some(dir) = &dir {
        let mut all = vec![&root];
        all.extend(plugins.iter());
        return match write_all(&all, dir) {
            Ok(written) => {
                let man_dir = dir.parent().unwrap_or(dir);
                let then = match man_looks_in(man_dir) {
                    Some(true) => "man shipdeck reads them".to_string(),
                    Some(false) => format!(
                        "man does not look there: add {} to $MANPATH (man shipdeck then reads them)",
                        Clean(man_dir.display())
                    ),
                    None => format!(
                        "man shipdeck reads them when `manpath` lists {}",
                        Clean(man_dir.display())
                    ),
                };
                crate::outln!(
                    "wrote {} pages to {}; {then}",
                    written.len(),
                    Clean(dir.display())
                );
                ExitCode::SUCCESS
            }
            Err(why) => {
                crate::errln!("shipdeck: {}", Clean(&why));
                ExitCode::from(EXIT_BAD_INPUT)
            }
        };
    }
    let mut command = &root;
    for word in &args.page {
        match command.find_subcommand(word) {
            Some(sub) if !sub.is_hide_set() => command = sub,
            _ => {
                let names: Vec<String> = pages(&root)
                    .iter()
                    .skip(1)
                    .map(|c| c.get_display_name().unwrap_or(c.get_name()))
                    .map(|n| n.strip_prefix("shipdeck-").unwrap_or(n).replace('-', " "))
                    .collect();
                crate::errln!(
                    "shipdeck: no page for `{}`; there is one for: {}",
                    Clean(&args.page.join(" ")),
                    names.join(", ")
                );
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let page = render(command, &root);
    // On a terminal the page is for reading: man lays it out and pages
    // it. Piped, it is the page itself, for `man -l -` or a file.
    if std::io::stdout().is_terminal()
        && let Some(code) = read_with_man(&page)
    {
        return code;
    }
    crate::out!("{}", String::from_utf8_lossy(&page));
    ExitCode::SUCCESS
}

/// Shows `page` with `man -l -`; `None` when there is no man to run.
fn read_with_man(page: &[u8]) -> Option<ExitCode> {
    use std::io::Write;
    let mut man = std::process::Command::new("man")
        .args(["-l", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(mut stdin) = man.stdin.take() {
        // A reader who quits early closes the pipe: not an error.
        let _ = stdin.write_all(page);
    }
    let status = man.wait().ok()?;
    // A man that cannot read a page from standard input (BSD's has no
    // -l) fails: the page is printed instead.
    status.success().then_some(ExitCode::SUCCESS)
}

/// The command and every subcommand under it that is not hidden, the
/// command first.
fn pages(root: &clap::Command) -> Vec<&clap::Command> {
    let mut out = vec![root];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.extend(pages(sub));
    }
    out
}

fn file_name(command: &clap::Command) -> String {
    format!(
        "{}.1",
        command.get_display_name().unwrap_or(command.get_name())
    )
}

fn write_all(roots: &[&clap::Command], dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("cannot make {}: {err}", dir.display()))?;
    let mut written = Vec::new();
    for root in roots {
        for command in pages(root) {
            let path = dir.join(file_name(command));
            let page = render(command, root);
            std::fs::write(&path, page)
                .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// One page, roff: clap's sections, then what a manual adds. The
/// console's page closes with the keys, the exit statuses, the
/// environment, the files and every other page; a subcommand's with its
/// examples and the way back to shipdeck(1).
fn render(command: &clap::Command, root: &clap::Command) -> Vec<u8> {
    let is_root = std::ptr::eq(command, root);
    let name = command.get_display_name().unwrap_or(command.get_name());
    // The footer's middle is the version: a page is the build's, and a
    // date of the build would make no two builds' pages the same (an empty
    // one is lost by roff, moving the other fields over).
    let man = Man::new(command.clone())
        .title(name.to_uppercase())
        .date(format!("version {}", env!("CARGO_PKG_VERSION")))
        .source("shipdeck")
        .manual("shipdeck manual");
    let mut page = Vec::new();
    // Writing into memory cannot fail.
    let _ = man.render_title(&mut page);
    // Names are not to be broken at a hyphen (shipdeck-con-fig(1)), nor
    // spaced out to a justified edge.
    page.extend_from_slice(b".nh\n.ad l\n");
    let _ = man.render_name_section(&mut page);
    let _ = man.render_synopsis_section(&mut page);
    let _ = man.render_description_section(&mut page);
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut page);
    }
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        let _ = man.render_subcommands_section(&mut page);
    }
    let mut roff = Roff::new();
    if let Some(after) = command.get_after_help() {
        let text = after.to_string();
        let (heading, body) = match text.strip_prefix("Examples:") {
            Some(body) => ("EXAMPLES", body.to_string()),
            None if is_root => ("KEYS", text.clone()),
            None => ("NOTES", text.clone()),
        };
        roff.control("SH", [heading]);
        preformatted(&mut roff, body.trim_matches('\n'));
    }
    let shipdeck = root.get_name() == "shipdeck";
    if is_root {
        listed(&mut roff, "EXIT STATUS", EXIT_STATUS);
        listed(&mut roff, "ENVIRONMENT", ENVIRONMENT);
        listed(&mut roff, "FILES", FILES);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut others: Vec<String> = match is_root {
        true => pages(root)
            .iter()
            .skip(1)
            .map(|c| format!("{}(1)", c.get_display_name().unwrap_or(c.get_name())))
            .collect(),
        false => vec![format!("{}(1)", root.get_name())],
    };
    if is_root && shipdeck {
        others.extend(["kubectl-shipdeck(1)".into(), "gh-shipdeck(1)".into()]);
    } else if is_root {
        others.push("shipdeck(1)".into());
    }
    let mut words = Vec::new();
    for (i, other) in others.iter().enumerate() {
        if i > 0 {
            words.push(roman(", "));
        }
        words.push(bold(other.as_str()));
    }
    roff.text(words);
    roff.control("SH", ["VERSION"]);
    roff.text([roman(format!("shipdeck {}", env!("CARGO_PKG_VERSION")))]);
    let _ = roff.to_writer(&mut page);
    page
}

/// Text kept as it is laid out: examples and the key table.
fn preformatted(roff: &mut Roff, text: &str) {
    roff.control("RS", []);
    roff.control("nf", []);
    for line in text.lines() {
        roff.text([roman(line.trim_start())]);
    }
    roff.control("fi", []);
    roff.control("RE", []);
}

/// A section of tagged paragraphs: the term in bold, then what it means.
fn listed(roff: &mut Roff, heading: &str, items: &[(&str, &str)]) {
    roff.control("SH", [heading]);
    for (term, meaning) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*meaning)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Vec<clap::Command> {
        vec![
            super::super::args::command(),
            super::super::kubectl::command(),
            super::super::gh::command(),
        ]
    }

    #[test]
    fn every_command_has_a_page_and_shipdeck_1_names_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let roots: Vec<clap::Command> = roots()
            .into_iter()
            .map(|c| {
                let mut c = c.disable_help_subcommand(true);
                c.build();
                c
            })
            .collect();
        let written = write_all(&roots.iter().collect::<Vec<_>>(), dir.path()).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for page in [
            "shipdeck.1",
            "shipdeck-serve.1",
            "shipdeck-journal-list.1",
            "shipdeck-completions.1",
            "kubectl-shipdeck.1",
            "kubectl-shipdeck-rollout.1",
            "gh-shipdeck.1",
            "gh-shipdeck-run.1",
        ] {
            assert!(names.contains(&page.to_string()), "{page} not in {names:?}");
        }
        let main = std::fs::read_to_string(dir.path().join("shipdeck.1")).unwrap();
        assert!(
            main.starts_with(".ie") || main.starts_with(".TH"),
            "{main:.80}"
        );
        assert!(main.contains(".TH SHIPDECK 1"), "{main:.200}");
        for section in [
            "SYNOPSIS",
            "OPTIONS",
            "SUBCOMMANDS",
            "KEYS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ] {
            assert!(
                main.contains(&format!(".SH \"{section}\""))
                    || main.contains(&format!(".SH {section}")),
                "{section}"
            );
        }
        for named in written.iter().skip(1) {
            let stem = named
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace('-', "\\-");
            assert!(
                main.contains(&stem) || !stem.starts_with("shipdeck"),
                "shipdeck.1 does not name {stem}"
            );
        }
        let serve = std::fs::read_to_string(dir.path().join("shipdeck-serve.1")).unwrap();
        assert!(
            serve.contains("\\-\\-listen"),
            "serve's page has its options"
        );
        assert!(serve.contains(".SH EXAMPLES"), "and its examples");
    }
}
