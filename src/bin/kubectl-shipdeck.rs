//! `kubectl shipdeck`: the kubectl plugin. kubectl finds this executable on
//! `$PATH` and runs it with the words after `shipdeck`.

fn main() -> std::process::ExitCode {
    shipdeck::cli::kubectl::main()
}
