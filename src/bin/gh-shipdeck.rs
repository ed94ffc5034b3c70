//! `gh shipdeck`: the GitHub CLI extension. gh runs this executable from
//! its extensions folder with the words after `shipdeck`.

fn main() -> std::process::ExitCode {
    shipdeck::cli::gh::main()
}
