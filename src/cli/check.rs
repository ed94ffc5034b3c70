//! `shipdeck check`: validate files, reporting `path:line:col: what`.

use std::path::PathBuf;
use std::process::ExitCode;

use shipdeck::check::check_text;

pub fn run(paths: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for path in paths {
        let shown = path.display();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => {
                eprintln!("{shown}: cannot read: {err}");
                bad = true;
                continue;
            }
        };
        let (kind, problems) = check_text(path, &text);
        if problems.is_empty() {
            println!("{shown}: ok ({kind})");
        } else {
            bad = true;
            for p in problems {
                eprintln!("{shown}:{}:{}: {}", p.line, p.column, p.message);
            }
        }
    }
    if bad {
        ExitCode::from(super::EXIT_BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
