//! The `shipdeck` command line; everything it does is in the library's
//! `cli` module, so that this crate is all but empty to build.

fn main() -> std::process::ExitCode {
    shipdeck::cli::main()
}
