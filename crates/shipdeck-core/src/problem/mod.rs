//! Problems found in a file a user wrote, each at a line and column, and
//! reading a file so that every problem in it is found in one go.

mod lenient;
mod tree;

use serde_saphyr::{Location, MessageFormatter};

use tree::{Pos, Tree};

/// One thing wrong with a file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl Problem {
    pub fn at(location: &Location, message: impl Into<String>) -> Problem {
        Problem {
            line: location.line().max(1) as u32,
            column: location.column().max(1) as u32,
            message: message.into(),
        }
    }

    /// A problem the YAML reader found (syntax, unknown key, wrong type).
    pub fn from_yaml(err: &serde_saphyr::Error) -> Problem {
        let (line, column) = err
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((1, 1));
        let message = serde_saphyr::UserMessageFormatter
            .format_message(err.without_snippet())
            .into_owned();
        // The reader names Rust types; a person wants to know what to write.
        let message = match message.as_str() {
            m if m.starts_with("invalid u") || m.starts_with("invalid i") => {
                "expected a whole number here".to_string()
            }
            m if m.starts_with("invalid f") => "expected a number here".to_string(),
            "expected string scalar" => "expected a plain value (text) here".to_string(),
            _ => message,
        };
        Problem {
            line: line.max(1),
            column: column.max(1),
            message,
        }
    }
}

/// Collects problems while a file is checked, so all are reported at once.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<Problem>,
    /// Of each problem, whether the rest of the file could answer it (a
    /// reference to something defined elsewhere, something absent).
    whole_file: Vec<bool>,
}

impl Checker {
    /// Something wrong with the value at `at`.
    pub fn problem(&mut self, at: &Location, message: impl Into<String>) {
        let whole_file = at.line() == 0;
        self.problems.push(Problem::at(at, message));
        self.whole_file.push(whole_file);
    }

    /// Something only the whole file can settle: a reference to what
    /// nothing defines, a thing that is absent, too few of something. Not
    /// said of a file its syntax cut short.
    pub fn whole_file(&mut self, at: &Location, message: impl Into<String>) {
        self.problems.push(Problem::at(at, message));
        self.whole_file.push(true);
    }

    /// How many problems were found so far.
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The checked value, or every problem found, in the order they appear.
    pub fn finish<T>(mut self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            self.problems.sort_by_key(|p| (p.line, p.column));
            Err(self.problems)
        }
    }
}

/// What a file's text gives when it does not read as a `T`.
#[derive(Debug)]
pub struct Unread<T> {
    /// What could be read, with neutral values standing in where the file
    /// has nothing that fits; `None` when not even that.
    value: Option<T>,
    /// What the reader found: syntax, unknown keys, values of the wrong
    /// kind, keys missing.
    problems: Vec<Problem>,
    /// The places whose values stand in for what is written there (whole
    /// spans), and the starts of the lists and maps that hold them.
    spans: Vec<(Pos, Pos)>,
    starts: Vec<Pos>,
    /// Where a syntax error cut the file short.
    cut_at: Option<Pos>,
}

/// Reads `text` as a `T`. A file that reads is its value; one that does not
/// is read again, leniently, for every problem in it: each unknown key,
/// each value its key does not take, each key missing, and the syntax
/// error that ends what can be read, with what comes before it still read.
pub fn read<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Unread<T>> {
    let strict = match serde_saphyr::from_str::<T>(text) {
        Ok(value) => return Ok(value),
        Err(err) => Problem::from_yaml(&err),
    };
    let Some(tree) = Tree::read(text) else {
        return Err(Unread::only(strict));
    };
    let (value, mut problems, repairs) = lenient::walk::<T>(&tree);
    if tree.cut_at.is_some()
        && let Err(err) = serde_saphyr::from_str::<serde::de::IgnoredAny>(text)
    {
        problems.push(Problem::from_yaml(&err));
    }
    if !problems.iter().any(|p| p.line == strict.line) {
        problems.push(strict);
    }
    let mended: Vec<usize> = repairs
        .stand_in
        .iter()
        .chain(&repairs.dropped)
        .chain(repairs.supplied.keys())
        .copied()
        .collect();
    let place = |id: usize| tree.places[id];
    let spans = mended
        .iter()
        .map(|&id| (place(id).at, place(id).end))
        .collect();
    let mut starts: Vec<Pos> = mended
        .iter()
        .flat_map(|&id| tree.ancestors(id))
        .chain((0..tree.places.len()).filter(|&id| place(id).cut))
        .map(|id| place(id).at)
        .collect();
    starts.sort();
    starts.dedup();
    Err(Unread {
        value,
        problems,
        spans,
        starts,
        cut_at: tree.cut_at,
    })
}

impl<T> Unread<T> {
    fn only(problem: Problem) -> Unread<T> {
        Unread {
            value: None,
            problems: vec![problem],
            spans: Vec::new(),
            starts: Vec::new(),
            cut_at: None,
        }
    }

    /// Every problem in the file: the reader's, and those `check` finds in
    /// what could be read — except what stems from what could not be: a
    /// problem at a stand-in, at the start of a list or map holding one,
    /// or, in a file cut short, one the rest of the file could answer.
    pub fn checked(self, check: impl FnOnce(T, &mut Checker)) -> Vec<Problem> {
        let mut problems = self.problems;
        if let Some(value) = self.value {
            let mut checker = Checker::default();
            check(value, &mut checker);
            for (problem, whole_file) in checker.problems.into_iter().zip(checker.whole_file) {
                let at = Pos {
                    line: problem.line,
                    column: problem.column,
                };
                let explained = self
                    .spans
                    .iter()
                    .any(|(from, to)| (*from..=*to).contains(&at))
                    || self.starts.contains(&at)
                    || problems
                        .iter()
                        .any(|p| (p.line, p.column) == (at.line, at.column))
                    || self.cut_at.is_some_and(|cut| whole_file || at >= cut);
                if !explained {
                    problems.push(problem);
                }
            }
        }
        problems.sort_by_key(|p| (p.line, p.column));
        problems.dedup();
        problems
    }
}

/// The largest file shipdeck reads as a scenario, config or theme: far more
/// than any real one, far less than would hurt.
pub const MAX_FILE: u64 = 4 * 1024 * 1024;
