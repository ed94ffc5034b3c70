//! `fake-kube [--port P] [--time-scale X] [--kubeconfig PATH] DIR...`:
//! a fake Kubernetes API server on loopback, loaded with fixture
//! directories, for trying shipdeck by hand. It prints its URL and the
//! kubeconfig path, logs each request to stderr, and serves until killed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use fake_kube::{FakeKube, Options, printable};

/// One line to stderr, cleaned of control characters.
fn err(line: &str) {
    let _ = writeln!(std::io::stderr(), "{}", printable(line));
}

const USAGE: &str = "usage: fake-kube [--port P] [--time-scale X] [--kubeconfig PATH] DIR...";

struct Args {
    port: u16,
    time_scale: Option<f64>,
    kubeconfig: Option<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        time_scale: None,
        kubeconfig: None,
        dirs: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                args.port = value("--port")?
                    .parse()
                    .map_err(|_| "--port needs a number")?
            }
            "--time-scale" => {
                let scale: f64 = value("--time-scale")?
                    .parse()
                    .map_err(|_| "--time-scale needs a number")?;
                args.time_scale = Some(scale);
            }
            "--kubeconfig" => args.kubeconfig = Some(PathBuf::from(value("--kubeconfig")?)),
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}\n{USAGE}")),
            dir => args.dirs.push(PathBuf::from(dir)),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            err(&message);
            return ExitCode::from(2);
        }
    };
    let kube = match FakeKube::start_with(Options {
        port: args.port,
        log_requests: true,
    }) {
        Ok(kube) => kube,
        Err(e) => {
            err(&format!(
                "fake-kube: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            ));
            return ExitCode::FAILURE;
        }
    };
    if let Some(scale) = args.time_scale {
        kube.time_scale(scale);
    }
    for dir in &args.dirs {
        match kube.load_dir(dir) {
            Ok(n) => err(&format!("loaded {n} objects from {}", dir.display())),
            Err(e) => {
                err(&format!("fake-kube: {e}"));
                return ExitCode::FAILURE;
            }
        }
    }
    let port = kube.url().rsplit(':').next().unwrap_or("0").to_string();
    let path = args
        .kubeconfig
        .unwrap_or_else(|| std::env::temp_dir().join(format!("fake-kube-{port}.kubeconfig")));
    if let Err(e) = kube.write_kubeconfig(&path) {
        err(&format!("fake-kube: cannot write {}: {e}", path.display()));
        return ExitCode::FAILURE;
    }
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "{}\n{}",
        kube.url(),
        printable(&path.display().to_string())
    );
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
