//! `fake-github [--port P] [--time-scale X]`: a fake GitHub REST API on
//! loopback serving the default scenario, for trying shipdeck by hand. It
//! prints its base URL and the test tokens, logs each request to stderr,
//! and serves until killed.

use std::io::Write;
use std::process::ExitCode;

use fake_github::{FakeGithub, Options, Scenario, printable};

const USAGE: &str = "usage: fake-github [--port P] [--time-scale X]";

fn err(line: &str) {
    let _ = writeln!(std::io::stderr(), "{}", printable(line));
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        log_requests: true,
        ..Options::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                options.port = value("--port")?
                    .parse()
                    .map_err(|_| "--port needs a number")?
            }
            "--time-scale" => {
                options.time_scale = value("--time-scale")?
                    .parse()
                    .map_err(|_| "--time-scale needs a number")?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            err(&message);
            return ExitCode::from(2);
        }
    };
    let port = options.port;
    let github = match FakeGithub::start_with(options) {
        Ok(github) => github,
        Err(e) => {
            err(&format!(
                "fake-github: cannot listen on 127.0.0.1:{port}: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", github.url());
    let _ = writeln!(out, "repo {} run {}", github.repo(), fake_github::RUN_ID);
    for (token, login, kind) in Scenario::default().tokens {
        let _ = writeln!(out, "token {token} {login} {kind:?}");
    }
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
