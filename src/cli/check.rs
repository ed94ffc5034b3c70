//! `shipdeck check`: validate files, reporting `path:line:col: what`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::check::check_text;
use crate::model::text::Clean;

pub fn run(paths: &[PathBuf]) -> ExitCode {
    if paths.is_empty() {
        // The config file shipdeck would read: $SHIPDECK_CONFIG, else the default.
        let path = std::env::var_os("SHIPDECK_CONFIG")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "shipdeck")
                    .map(|d| d.config_dir().join("config.yaml"))
            });
        return match path {
            Some(path) if path.is_file() => run(&[path]),
            Some(path) => {
                crate::outln!(
                    "no config file at {}: nothing to check (the defaults apply)",
                    Clean(path.display())
                );
                ExitCode::SUCCESS
            }
            None => {
                crate::errln!(
                    "shipdeck: no home folder to look for a config in; name a file to check"
                );
                ExitCode::from(super::EXIT_BAD_INPUT)
            }
        };
    }
    let mut bad = false;
    for path in paths {
        let shown = Clean(path.display());
        let text = match crate::files::read_text(path) {
            Ok(text) => text,
            Err(err) => {
                crate::errln!("{shown}: cannot read: {}", Clean(&err));
                bad = true;
                continue;
            }
        };
        let (kind, problems) = check_text(path, &text);
        if problems.is_empty() {
            crate::outln!("{shown}: ok ({kind})");
        } else {
            bad = true;
            for p in problems {
                crate::errln!("{shown}:{}:{}: {}", p.line, p.column, Clean(&p.message));
            }
        }
    }
    if bad {
        ExitCode::from(super::EXIT_BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
