//! The one way shipdeck writes to standard output and standard error.
//!
//! `outln!`, `out!` and `errln!` take `format!` arguments and clean what
//! they print line by line (`model::text::clean_lines`): whatever a
//! message carries from outside — a server's answer, a file's name or
//! value, a journal's strings, a flag — no escape sequence, control
//! character, bidirectional control or invisible character of it reaches
//! the terminal. A value from outside goes into the message as
//! `text::Clean(value)` as well, so that it cannot break the line either.
//! `println!` and its kin are refused by clippy (`clippy.toml`). A reader
//! that has gone away (`| head`) is not an error here.

use std::fmt;
use std::io::Write;

use crate::model::text::clean_lines;

/// Writes `args`, cleaned, to standard output.
pub fn out(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(clean_lines(&text).as_bytes());
    let _ = stdout.flush();
}

/// Writes `args`, cleaned, to standard error.
pub fn err(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = std::io::stderr()
        .lock()
        .write_all(clean_lines(&text).as_bytes());
}

/// `println!`, cleaned.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::say::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!`, cleaned.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::say::out(format_args!($($arg)*))
    };
}

/// `eprintln!`, cleaned.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::say::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}
