//! shipdeck where operators already are, each through the program they
//! would use: bash sourcing `shipdeck completions bash` and pressing Tab,
//! man-db reading the pages `shipdeck man` wrote, kubectl finding
//! `kubectl-shipdeck` on $PATH, and gh running the `gh-shipdeck` extension
//! it installed, with the token `gh auth token` gives. The cluster and
//! GitHub are the fakes on loopback; `.ci/test` installs bash's peers (gh,
//! kubectl, man-db) when they are missing.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::terminal::Pty;
use common::{BIN, PATIENCE, Server, isolate, scratch};
use fake_github::{FakeGithub, Options, RUN_ID, TOKEN_OCTOCAT};
use fake_kube::FakeKube;
use serde_json::Value;

const GH_EXTENSION: &str = env!("CARGO_BIN_EXE_gh-shipdeck");
const KUBECTL_PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-shipdeck");

/// $PATH with the built binaries first, as after `cargo install`.
fn path() -> String {
    let bins = Path::new(BIN).parent().unwrap();
    assert_eq!(Path::new(KUBECTL_PLUGIN).parent().unwrap(), bins);
    format!("{}:/usr/local/bin:/usr/bin:/bin", bins.display())
}

/// `program ARGS` in `dir`'s world: its files there, the built binaries on
/// $PATH, nothing of the test runner's GitHub or Kubernetes settings.
fn run_in(dir: &Path, program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    isolate(&mut command, dir);
    command
        .env("PATH", path())
        .env("HOME", dir)
        .env("SHIPDECK_OPERATOR", "frank")
        .env("GH_NO_UPDATE_NOTIFIER", "1")
        .env("GH_PROMPT_DISABLED", "1")
        .env("GH_CONFIG_DIR", dir.join("gh"))
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_ENTERPRISE_TOKEN")
        .env_remove("GITHUB_ENTERPRISE_TOKEN")
        .env_remove("GH_REPO")
        .env_remove("GH_HOST")
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        // A scratch folder is in no checkout, whatever is above it.
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap_or(dir))
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .args(args);
    command
}

fn said(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A refusal: exit status 2 and `text` in what it said on stderr.
fn refused(output: &Output, text: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", said(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(text), "{text:?} is said: {}", said(output));
}

/// A refusal whose first words on stderr are `text`.
fn refused_starting(output: &Output, text: &str) {
    refused(output, text);
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with(text),
        "{}",
        said(output)
    );
}

/// What bash offers when Tab is pressed after `words` (the last one is
/// the word being completed), having sourced `shipdeck completions bash`.
fn tab(dir: &Path, words: &[&str]) -> Vec<String> {
    tab_at(dir, words, words.len() - 1)
}

/// What bash offers for the word at `at` of `words`, with the cursor at
/// its end and the rest of the line after it.
fn tab_at(dir: &Path, words: &[&str], at: usize) -> Vec<String> {
    let script = r#"
        source <(shipdeck completions bash) || exit 9
        COMP_WORDS=("$@")
        COMP_CWORD=$CWORD
        COMP_LINE="$*"
        before=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
        COMP_POINT=$(( $(printf '%s ' "${before[@]}" | wc -c) - 1 ))
        COMP_TYPE=9
        prev=""
        [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"
        _clap_complete_shipdeck shipdeck "${COMP_WORDS[COMP_CWORD]}" "$prev"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let output = run_in(
        dir,
        "bash",
        &["--norc", "--noprofile", "-c", script, "bash"],
    )
    .args(words)
    .env("CWORD", at.to_string())
    .current_dir(dir)
    .output()
    .expect("bash runs");
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        output.stderr.is_empty(),
        "completing writes nothing over the command line: {}",
        said(&output)
    );
    let mut offered: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    offered.sort();
    offered
}

#[test]
fn bash_completes_subcommands_options_scenarios_themes_and_files() {
    let dir = scratch();
    let dir = dir.path();
    assert_eq!(tab(dir, &["shipdeck", "comp"]), ["completions"]);
    assert_eq!(
        tab(dir, &["shipdeck", "s"]),
        ["scenarios", "serve", "stats"],
        "every subcommand that starts so"
    );
    assert_eq!(tab(dir, &["shipdeck", "--spe"]), ["--speed"]);
    assert_eq!(tab(dir, &["shipdeck", "--scenario", "two"]), ["two-person"]);
    assert_eq!(
        tab(dir, &["shipdeck", "serve", "--scenario", "canary-"]),
        ["canary-regression"]
    );
    assert_eq!(tab(dir, &["shipdeck", "--theme", "hi"]), ["high-contrast"]);
    assert_eq!(tab(dir, &["shipdeck", "completions", "f"]), ["fish"]);
    // A scenario can be a file of one's own, and a subcommand's option
    // completes only where it belongs.
    std::fs::write(dir.join("my-release.yaml"), common::TWO_PERSON).unwrap();
    std::fs::write(dir.join("my-notes.txt"), "not a scenario").unwrap();
    assert_eq!(
        tab(dir, &["shipdeck", "--scenario", "my-"]),
        ["my-release.yaml"]
    );
    assert_eq!(tab(dir, &["shipdeck", "report", "lat"]), ["latest"]);
    assert!(
        tab(dir, &["shipdeck", "--lis"]).is_empty(),
        "--listen is serve's"
    );
    assert_eq!(tab(dir, &["shipdeck", "serve", "--lis"]), ["--listen"]);
}

#[test]
fn fish_completes_from_the_same_answers() {
    let dir = scratch();
    let output = run_in(
        dir.path(),
        "fish",
        &[
            "--no-config",
            "-c",
            "shipdeck completions fish | source; complete -C 'shipdeck --scenario two'; complete -C 'shipdeck comp'",
        ],
    )
    .current_dir(dir.path())
    .output()
    .expect("fish runs");
    assert!(output.status.success(), "{}", said(&output));
    let offered = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        offered.lines().collect::<Vec<_>>(),
        [
            "two-person\tpayments-api v5.4.0 → v5.5.0",
            "completions\tPrint the shell code that completes shipdeck's commands, options and values (scenarios, themes, the cluster's Rollouts, a server's releases) as you type them",
        ],
        "fish shows each candidate with its line of help"
    );
}

#[test]
fn every_shell_gets_a_script_that_calls_shipdeck_back() {
    let dir = scratch();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = run_in(dir.path(), BIN, &["completions", shell])
            .output()
            .unwrap();
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{shell}: {}", said(&output));
        assert!(
            script.contains("SHIPDECK_COMPLETE") && script.contains(BIN),
            "{shell}'s script asks this shipdeck for candidates:\n{script}"
        );
    }
    let output = run_in(dir.path(), BIN, &["completions", "tcsh"])
        .output()
        .unwrap();
    refused(
        &output,
        "possible values: bash, zsh, fish, elvish, powershell",
    );
}

/// A fake cluster with the canary and blue-green Rollouts of the Argo
/// Rollouts examples in `jesse-test`, and its kubeconfig in `dir`.
fn cluster(dir: &Path) -> (FakeKube, PathBuf) {
    let kube = FakeKube::start();
    kube.controller(false);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/argo");
    for name in ["canary-paused-step", "blue-green"] {
        kube.load_dir(fixtures.join(name))
            .expect("the fixture loads");
    }
    let config = kube.kubeconfig(dir);
    (kube, config)
}

#[test]
fn rollout_names_complete_from_the_cluster_the_line_names() {
    let dir = scratch();
    let (_kube, config) = cluster(dir.path());
    let config = config.to_str().unwrap();
    assert_eq!(
        tab(
            dir.path(),
            &[
                "shipdeck",
                "--kubeconfig",
                config,
                "-n",
                "jesse-test",
                "--rollout",
                "can"
            ]
        ),
        ["canary-demo"]
    );
    assert_eq!(
        tab_at(
            dir.path(),
            // `--namespace=jesse-test` as bash splits it (at `=`).
            &[
                "shipdeck",
                "--rollout",
                "",
                "--namespace",
                "=",
                "jesse-test",
                "--kubeconfig",
                config
            ],
            2
        ),
        ["bluegreen-demo", "canary-demo"],
        "the words after the cursor count too, as bash splits them"
    );
    // No cluster there: no names, and no word on the screen about it.
    let dead = dir.path().join("dead.kubeconfig");
    let text = std::fs::read_to_string(config).unwrap();
    let port = common::free_port();
    let url = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    std::fs::write(
        &dead,
        text.replace(&url, &format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    assert!(
        tab(
            dir.path(),
            &[
                "shipdeck",
                "--kubeconfig",
                dead.to_str().unwrap(),
                "--rollout",
                ""
            ]
        )
        .is_empty()
    );
}

/// The releases a server holds, as its contract lists them.
fn release_ids(server: &Server) -> Vec<String> {
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /api/v1/releases HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let list: Value = serde_json::from_str(body).expect("a JSON list");
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn release_ids_complete_from_the_server_the_line_names() {
    let dir = scratch();
    let server = Server::start(&dir.path().join("server"), &["--scenario", "two-person"]);
    let ids = release_ids(&server);
    assert_eq!(ids.len(), 1);
    let first = &ids[0][..3];
    assert_eq!(
        tab(
            dir.path(),
            &["shipdeck", "--backend", &server.url, "--release", first]
        ),
        ids
    );
    assert_eq!(
        tab_at(
            dir.path(),
            &[
                "shipdeck",
                "do",
                "approve",
                "--release",
                "",
                "--backend",
                &server.url
            ],
            4
        ),
        ids,
        "the words after the cursor count too"
    );
}

#[test]
fn man_reads_every_page_shipdeck_writes() {
    let dir = scratch();
    let pages = dir.path().join("share/man/man1");
    let output = run_in(dir.path(), BIN, &["man", "--dir", pages.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", said(&output));
    for page in [
        "shipdeck.1",
        "shipdeck-serve.1",
        "kubectl-shipdeck.1",
        "gh-shipdeck-run.1",
    ] {
        assert!(pages.join(page).is_file(), "{page}: {}", said(&output));
    }
    let man_with = |path: &str, manpath: Option<&Path>, args: &[&str]| {
        let mut man = run_in(dir.path(), "man", args);
        man.env("PATH", path);
        match manpath {
            Some(manpath) => man.env("MANPATH", manpath),
            None => man.env_remove("MANPATH"),
        };
        let output = man
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "0")
            .env_remove("MANPAGER")
            .env("PAGER", "cat")
            .output()
            .expect("man runs");
        assert!(output.status.success(), "man {args:?}: {}", said(&output));
        // What grotty emboldens and underlines, by overstriking, as plain
        // text.
        let mut plain = Vec::new();
        for &byte in &output.stdout {
            match byte {
                0x08 => {
                    plain.pop();
                }
                other => plain.push(other),
            }
        }
        assert!(
            output.stderr.is_empty(),
            "groff has nothing to warn of in man {args:?}: {}",
            said(&output)
        );
        String::from_utf8_lossy(&plain).into_owned()
    };
    let man = |args: &[&str]| man_with(&path(), Some(&dir.path().join("share/man")), args);
    let main = man(&["--warnings", "shipdeck"]);
    for text in [
        "SHIPDECK(1)",
        "--scenario <NAME|PATH>",
        "EXIT STATUS",
        "SHIPDECK_OPERATOR",
        "a advance",
        "shipdeck-serve(1)",
        "kubectl-shipdeck(1)",
    ] {
        assert!(main.contains(text), "man shipdeck shows {text:?}:\n{main}");
    }
    let serve = man(&["--warnings", "shipdeck-serve"]);
    assert!(serve.contains("--listen"), "{serve}");
    assert!(serve.contains("EXAMPLES") && serve.contains("shipdeck serve --scenario two-person"));
    // `shipdeck man serve` prints the page it wrote.
    let printed = run_in(dir.path(), BIN, &["man", "serve"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        std::fs::read_to_string(pages.join("shipdeck-serve.1")).unwrap()
    );

    // As after `cargo install`: the binary in a folder on $PATH, the pages
    // written beside it, and man finding them with no $MANPATH.
    let bin = dir.path().join("cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let installed = bin.join("shipdeck");
    std::fs::hard_link(BIN, &installed)
        .or_else(|_| std::fs::copy(BIN, &installed).map(|_| ()))
        .unwrap();
    let their_path = format!("{}:/usr/bin:/bin", bin.display());
    let output = run_in(
        dir.path(),
        installed.to_str().unwrap(),
        &["man", "--install"],
    )
    .env("PATH", &their_path)
    .env_remove("MANPATH")
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", said(&output));
    let told = String::from_utf8_lossy(&output.stdout);
    let beside = dir.path().join("cargo/share/man/man1");
    assert!(
        told.contains(&format!(
            "pages to {}; man shipdeck reads them",
            beside.display()
        )),
        "{told}"
    );
    let page = man_with(&their_path, None, &["shipdeck-completions"]);
    assert!(page.contains("SHIPDECK-COMPLETIONS(1)"), "{page}");
    // Told plainly when man would not look where the pages went.
    let output = run_in(
        dir.path(),
        BIN,
        &[
            "man",
            "--dir",
            dir.path().join("elsewhere").to_str().unwrap(),
        ],
    )
    .env("PATH", &their_path)
    .env_remove("MANPATH")
    .output()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("man does not look there: add"),
        "{}",
        said(&output)
    );

    // On a terminal, shipdeck man is for reading: the page laid out by man,
    // not its roff.
    let mut command = run_in(dir.path(), BIN, &["man", "serve"]);
    command
        .env("TERM", "xterm-256color")
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100");
    let mut pty = Pty::spawn(command, 110, 40);
    let shown = pty.wait_for("SHIPDECK-SERVE(1)", PATIENCE);
    assert!(shown.is_some(), "{}", pty.text());
    assert!(!pty.text().contains(".TH"), "{}", pty.text());
    assert_eq!(pty.wait_exit(PATIENCE).and_then(|s| s.code()), Some(0));

    let wrong = run_in(dir.path(), BIN, &["man", "srve"]).output().unwrap();
    refused(
        &wrong,
        "no page for `srve`; there is one for: events, serve",
    );
}

#[test]
fn kubectl_runs_the_plugin_with_its_flags_anywhere_and_refuses_the_rest() {
    let dir = scratch();
    let (kube, config) = cluster(dir.path());
    let config = config.to_str().unwrap();
    let kubectl = |args: &[&str]| {
        run_in(dir.path(), "kubectl", args)
            .output()
            .expect("kubectl runs")
    };

    let listed = kubectl(&["shipdeck", "list", "-A", "--kubeconfig", config]);
    assert!(listed.status.success(), "{}", said(&listed));
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.starts_with("NAMESPACE"), "{table}");
    assert!(
        table.contains("canary-demo") && table.contains("bluegreen-demo"),
        "{table}"
    );
    assert!(table.contains("pause step — promote or abort"), "{table}");

    kube.clear_requests();
    let promoted = kubectl(&[
        "shipdeck",
        "--kubeconfig",
        config,
        "-n",
        "jesse-test",
        "promote",
        "canary-demo",
    ]);
    assert!(promoted.status.success(), "{}", said(&promoted));
    assert!(
        String::from_utf8_lossy(&promoted.stdout)
            .contains("rollout 'canary-demo' in jesse-test: promote (as frank): promoted"),
        "{}",
        said(&promoted)
    );
    let patched: Vec<String> = kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path)
        .collect();
    assert!(
        patched
            .iter()
            .any(|p| p.ends_with("/namespaces/jesse-test/rollouts/canary-demo/status")),
        "promote patches the Rollout's status, as the Argo Rollouts plugin does: {patched:?}"
    );
    let journal = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .count();
    assert_eq!(journal, 1, "the command is journaled");

    let foreign = kubectl(&["shipdeck", "rollout", "canary-demo", "--as=admin"]);
    refused_starting(
        &foreign,
        "kubectl shipdeck: --as is kubectl's, and not taken here",
    );
    let wrong = kubectl(&[
        "shipdeck",
        "rollout",
        "canary",
        "-n",
        "jesse-test",
        "--kubeconfig",
        config,
    ]);
    assert_eq!(wrong.status.code(), Some(2), "{}", said(&wrong));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains(
            "no Rollout \"canary\" in namespace jesse-test (it has bluegreen-demo, canary-demo); see kubectl shipdeck list -A"
        ),
        "the plugin's own command is the one suggested: {}",
        said(&wrong)
    );
    // shipdeck's own --kubeconfig says where a Rollout is, so it wants one.
    let stray = run_in(dir.path(), BIN, &["--kubeconfig", config])
        .output()
        .unwrap();
    refused(&stray, "say where a Rollout is: give --rollout NAME too");

    let missing = kubectl(&[
        "shipdeck",
        "rollout",
        "canary-demo",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    refused(
        &missing,
        "--kubeconfig /nonexistent/kubeconfig: No such file or directory",
    );
}

#[test]
fn kubectl_completes_the_plugins_verbs_and_rollouts_through_its_completer() {
    let dir = scratch();
    let (_kube, config) = cluster(dir.path());
    let config = config.to_str().unwrap();
    // kubectl looks for `kubectl_complete-shipdeck` on $PATH: a link to the
    // plugin, made as the README says.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(KUBECTL_PLUGIN, bin.join("kubectl_complete-shipdeck")).unwrap();
    let completer = bin.join("kubectl_complete-shipdeck");
    // As kubectl runs it: the words after `shipdeck`, the one being
    // completed last.
    let ask = |words: &[&str]| {
        let output = run_in(dir.path(), completer.to_str().unwrap(), words)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", said(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let verbs = ask(&["pro"]);
    assert_eq!(
        verbs.lines().collect::<Vec<_>>(),
        [
            "promote\tPromote a paused Rollout to its next step (--full: past every step)",
            ":4"
        ]
    );
    let names = ask(&["rollout", "--kubeconfig", config, "-n", "jesse-test", "c"]);
    assert!(
        names.starts_with("canary-demo\t") && names.ends_with(":4\n"),
        "{names}"
    );

    // And through kubectl itself, where it asks plugins (1.26 and later).
    let path = format!("{}:{}", bin.display(), path());
    let through = run_in(
        dir.path(),
        "kubectl",
        &[
            "__complete",
            "shipdeck",
            "rollout",
            "--kubeconfig",
            config,
            "-n",
            "jesse-test",
            "",
        ],
    )
    .env("PATH", &path)
    .output()
    .unwrap();
    let version = run_in(
        dir.path(),
        "kubectl",
        &["version", "--client", "-o", "json"],
    )
    .output()
    .unwrap();
    let version: Value = serde_json::from_slice(&version.stdout).unwrap_or(Value::Null);
    let minor: u32 = version["clientVersion"]["minor"]
        .as_str()
        .and_then(|m| m.trim_end_matches('+').parse().ok())
        .unwrap_or(0);
    assert!(minor > 0, "kubectl says its version: {version}");
    // Debian's kubernetes-client (1.20) asks no plugin: only the completer,
    // as above, can be checked with it.
    if minor >= 26 {
        let text = String::from_utf8_lossy(&through.stdout);
        assert!(
            text.contains("bluegreen-demo") && text.contains("canary-demo"),
            "kubectl __complete: {}",
            said(&through)
        );
    }
}

/// `program ARGS` in a terminal of its own, with `env` on top.
fn in_terminal(dir: &Path, cwd: &Path, program: &str, args: &[&str]) -> Pty {
    let mut command = run_in(dir, program, args);
    command.env("TERM", "xterm-256color").current_dir(cwd);
    Pty::spawn(command, 140, 40)
}

fn quits_clean(pty: &mut Pty) {
    pty.keys(b"q");
    let status = pty.wait_exit(PATIENCE).expect("it quits on q");
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        pty.line_settings(),
        pty.line_settings_before(),
        "the terminal is as it was"
    );
}

#[test]
fn kubectl_shipdeck_rollout_opens_the_console_on_the_rollout() {
    let dir = scratch();
    let (_kube, config) = cluster(dir.path());
    let mut pty = in_terminal(
        dir.path(),
        dir.path(),
        "kubectl",
        &[
            "shipdeck",
            "rollout",
            "canary-demo",
            "-n",
            "jesse-test",
            "--kubeconfig",
            config.to_str().unwrap(),
        ],
    );
    let shown = pty.wait_for("CanaryPauseStep", PATIENCE);
    assert!(
        shown.is_some(),
        "the console shows the Rollout:\n{}",
        pty.text()
    );
    // The step board comes in the frames after.
    let step = pty.wait_for("step 2/8: waiting for an operator", PATIENCE);
    let screen = pty.text();
    assert!(step.is_some(), "{screen}");
    assert!(
        screen.contains("canary-demo") && screen.contains("jesse-test"),
        "{screen}"
    );
    quits_clean(&mut pty);
}

/// A checkout of octo-org/octo-repo whose remote is GitHub's, gh logged in
/// as octocat (for the loopback API the config names), the extension
/// installed from a folder as `gh extension install .` does, and the fake
/// GitHub.
struct Checkout {
    fake: FakeGithub,
    home: tempfile::TempDir,
    repo: PathBuf,
    config: PathBuf,
}

fn checkout() -> Checkout {
    let fake = FakeGithub::start_with(Options {
        time_scale: 0.01,
        ..Options::default()
    })
    .expect("the fake starts");
    let home = scratch();
    let dir = home.path();
    let config = dir.join("shipdeck.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  pipeline:\n    kind: github-actions\n    repo: octo-org/octo-repo\n    api_url: {}\n",
            fake.url()
        ),
    )
    .unwrap();
    // gh's own file of logins: the token `gh auth token --hostname` prints.
    std::fs::create_dir_all(dir.join("gh")).unwrap();
    std::fs::write(
        dir.join("gh/hosts.yml"),
        format!("127.0.0.1:\n    oauth_token: {TOKEN_OCTOCAT}\n    user: octocat\n    git_protocol: https\n"),
    )
    .unwrap();
    let extension = dir.join("gh-shipdeck");
    std::fs::create_dir_all(&extension).unwrap();
    std::os::unix::fs::symlink(GH_EXTENSION, extension.join("gh-shipdeck")).unwrap();
    let installed = run_in(dir, "gh", &["extension", "install", "."])
        .current_dir(&extension)
        .output()
        .expect("gh runs");
    assert!(installed.status.success(), "{}", said(&installed));
    let repo = dir.join("octo-repo");
    std::fs::create_dir_all(&repo).unwrap();
    for args in [
        &["init", "-q"][..],
        &[
            "remote",
            "add",
            "fork",
            "git@github.com:frank/octo-repo.git",
        ],
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/octo-org/octo-repo.git",
        ],
    ] {
        let done = run_in(dir, "git", args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(done.status.success(), "git {args:?}: {}", said(&done));
    }
    fake.clear_requests();
    Checkout {
        fake,
        home,
        repo,
        config,
    }
}

#[test]
fn gh_runs_the_extension_on_the_checkouts_repository_with_gh_s_token() {
    let c = checkout();
    let listed = run_in(c.home.path(), "gh", &["extension", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("gh shipdeck"),
        "{}",
        said(&listed)
    );
    let runs = run_in(
        c.home.path(),
        "gh",
        &[
            "shipdeck",
            "runs",
            "--format",
            "json",
            "--config",
            c.config.to_str().unwrap(),
        ],
    )
    .current_dir(&c.repo)
    .output()
    .unwrap();
    assert!(runs.status.success(), "{}", said(&runs));
    let list: Value = serde_json::from_slice(&runs.stdout).expect("JSON");
    let first = &list.as_array().expect("a list of runs")[0];
    assert_eq!(first["id"], RUN_ID, "the waiting run first: {first}");
    let asked = c.fake.requests();
    assert!(
        asked
            .iter()
            .any(|r| r.path_only() == "/repos/octo-org/octo-repo/actions/runs"),
        "origin's repository, not the fork's"
    );
    assert!(
        asked.iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.ends_with(TOKEN_OCTOCAT))),
        "every request carries the token gh auth token gave"
    );
    let text = String::from_utf8_lossy(&runs.stdout) + String::from_utf8_lossy(&runs.stderr);
    assert!(!text.contains(TOKEN_OCTOCAT), "the token is never shown");

    // Outside a checkout, the config's repository.
    let configured = run_in(
        c.home.path(),
        "gh",
        &[
            "shipdeck",
            "runs",
            "--format",
            "json",
            "--config",
            c.config.to_str().unwrap(),
        ],
    )
    .current_dir(c.home.path())
    .output()
    .unwrap();
    assert!(configured.status.success(), "{}", said(&configured));

    // Outside a checkout, and with nothing to say which repository.
    let lost = run_in(c.home.path(), "gh", &["shipdeck", "run"])
        .current_dir(c.home.path())
        .output()
        .unwrap();
    refused(
        &lost,
        "not a git checkout: run it in one, or give -R OWNER/REPO",
    );
}

#[test]
fn gh_shipdeck_run_opens_the_console_on_the_run_waiting_for_a_review() {
    let c = checkout();
    let mut pty = in_terminal(
        c.home.path(),
        &c.repo,
        "gh",
        &["shipdeck", "run", "--config", c.config.to_str().unwrap()],
    );
    let shown = pty.wait_for("gh:octo-org/octo-repo#562", PATIENCE);
    assert!(
        shown.is_some(),
        "the console shows the run:\n{}",
        pty.text()
    );
    let gate = pty.wait_for("you may sign it (s)", PATIENCE);
    assert!(gate.is_some(), "octocat's gate:\n{}", pty.text());
    assert!(pty.text().contains("deploy-staging"), "{}", pty.text());
    quits_clean(&mut pty);
}

/// What krew's index checks of a manifest, on docs/krew/shipdeck.yaml.
#[test]
fn the_krew_manifest_is_one_krew_takes_for_this_version() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/krew/shipdeck.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let manifest: Value = serde_saphyr::from_str(&text).expect("YAML");
    assert_eq!(
        manifest["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(manifest["kind"], "Plugin");
    assert_eq!(
        manifest["metadata"]["name"], "shipdeck",
        "the name is the file's"
    );
    let spec = &manifest["spec"];
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        spec["version"],
        version.as_str(),
        "the manifest is this version's"
    );
    let short = spec["shortDescription"].as_str().unwrap();
    assert!(!short.contains('\n') && short.len() <= 60, "{short}");
    assert!(spec["homepage"].as_str().unwrap().starts_with("https://"));
    let platforms = spec["platforms"].as_array().unwrap();
    let mut seen = Vec::new();
    for platform in platforms {
        let labels = platform["selector"]["matchLabels"].as_object().unwrap();
        let mut keys: Vec<&String> = labels.keys().collect();
        keys.sort();
        assert_eq!(keys, ["arch", "os"], "krew selects by os and arch only");
        let (os, arch) = (
            labels["os"].as_str().unwrap(),
            labels["arch"].as_str().unwrap(),
        );
        seen.push(format!("{os}-{arch}"));
        let uri = platform["uri"].as_str().unwrap();
        assert!(
            uri.ends_with(&format!("kubectl-shipdeck-{version}-{os}-{arch}.tar.gz")),
            "{uri}: the archive package.sh builds"
        );
        assert!(uri.contains(&format!("/download/{version}/")), "{uri}");
        assert_eq!(
            platform["sha256"],
            format!("SHA256_{os}_{arch}").as_str(),
            "the digest is package.sh's to fill in"
        );
        assert_eq!(platform["bin"], "kubectl-shipdeck");
        let files: Vec<&str> = platform["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["from"].as_str().unwrap())
            .collect();
        assert!(files.contains(&"kubectl-shipdeck"), "{files:?}");
    }
    assert!(seen.contains(&"linux-amd64".to_string()), "{seen:?}");
    let script = std::fs::read_to_string(path.with_file_name("package.sh")).unwrap();
    for platform in &seen {
        assert!(
            script.contains(&format!("echo {platform}")),
            "package.sh builds {platform}"
        );
    }
}
