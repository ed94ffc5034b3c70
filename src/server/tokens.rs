//! Bearer tokens: who an operator is, decided by the server.
//!
//! The tokens file is YAML, one operator a line, a token or a list of them:
//!
//! ```yaml
//! alice: 6f1d0c5e9b2a4f7d8e3c1b0a9f8e7d6c
//! bob: [0a1b2c3d4e5f60718293a4b5c6d7e8f9, 9f8e7d6c5b4a39281706f5e4d3c2b1a0]
//! ```
//!
//! It must be readable by its owner only. Tokens never appear in messages:
//! a problem names the line, never the value.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::model::Person;

/// Shortest token taken: a guessable token is no token.
pub const MIN_TOKEN: usize = 16;

/// Who holds which token.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(Vec<u8>, Person)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens themselves.
        let operators: Vec<&str> = self.entries.iter().map(|(_, o)| o.as_str()).collect();
        f.debug_struct("Tokens")
            .field("operators", &operators)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Tokens {
    /// Reads a tokens file, refusing one that others can read.
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|err| format!("{shown}: {err}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!(
                    "{shown} can be read by others (mode {mode:03o}); make it yours alone: chmod 600 {shown}"
                ));
            }
        }
        if meta.len() > 1024 * 1024 {
            return Err(format!("{shown}: too large for a tokens file"));
        }
        let text = std::fs::read_to_string(path).map_err(|err| format!("{shown}: {err}"))?;
        Tokens::parse(&text).map_err(|what| format!("{shown}: {what}"))
    }

    /// Reads the text of a tokens file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let map: BTreeMap<String, OneOrMany> = serde_saphyr::from_str(text).map_err(|err| {
            // The reader's message may quote the file, tokens and all; say
            // where, never what.
            let at = err
                .location()
                .map(|l| format!("line {}: ", l.line()))
                .unwrap_or_default();
            format!(
                "{at}not a tokens file: write one `operator: token` (or `operator: [token, token]`) a line, each operator once, and quote a token made only of digits"
            )
        })?;
        let mut entries: Vec<(Vec<u8>, Person)> = Vec::new();
        let mut named: Vec<Person> = Vec::new();
        for (name, tokens) in map {
            // Each a person's name, and each person once: `Dave` and
            // `dave` would be one person with two entries.
            let operator =
                Person::new(&name).map_err(|why| format!("an operator's name: {why}"))?;
            if let Some(same) = named.iter().find(|n| **n == operator) {
                return Err(format!(
                    "{same} and {operator} are one person (names are compared as people read them): give them one entry"
                ));
            }
            named.push(operator.clone());
            let tokens = match tokens {
                OneOrMany::One(t) => vec![t],
                OneOrMany::Many(ts) => ts,
            };
            if tokens.is_empty() {
                return Err(format!("{operator} has no token"));
            }
            for token in tokens {
                if token.len() < MIN_TOKEN
                    || token.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(format!(
                        "a token of {operator} is too short or has spaces: use at least {MIN_TOKEN} characters without spaces (for example `openssl rand -hex 24`)"
                    ));
                }
                if let Some((_, other)) = entries.iter().find(|(t, _)| t == token.as_bytes()) {
                    return Err(format!(
                        "{operator} and {other} share a token; each needs their own"
                    ));
                }
                entries.push((token.into_bytes(), operator.clone()));
            }
        }
        if entries.is_empty() {
            return Err("no tokens: write one `operator: token` a line".into());
        }
        Ok(Tokens { entries })
    }

    /// The operator a presented token belongs to. Every token is compared,
    /// each in time that does not depend on where the bytes differ.
    pub fn operator(&self, presented: &str) -> Option<&Person> {
        let presented = presented.as_bytes();
        // Which entry matched is picked without a branch on the comparison.
        let mut found = u64::MAX;
        for (i, (token, _)) in self.entries.iter().enumerate() {
            found.conditional_assign(&(i as u64), same(presented, token));
        }
        let entry = usize::try_from(found).ok()?;
        self.entries.get(entry).map(|(_, o)| o)
    }

    pub fn operators(&self) -> impl Iterator<Item = &Person> {
        self.entries.iter().map(|(_, o)| o)
    }
}

/// Equal bytes, in time that depends only on the presented length: the
/// token is laid over as many bytes as were presented (subtle's slice
/// comparison would answer at once for another length, telling the
/// token's length), and the lengths are compared apart.
fn same(presented: &[u8], token: &[u8]) -> Choice {
    let laid: Vec<u8> = (0..presented.len())
        .map(|i| token.get(i).copied().unwrap_or(0))
        .collect();
    presented.ct_eq(&laid) & (presented.len() as u64).ct_eq(&(token.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice-token-0123456789";
    const BOB: &str = "bob-token-9876543210ab";

    #[test]
    fn a_token_names_its_operator_and_nothing_else_does() {
        let tokens = Tokens::parse(&format!(
            "alice: {ALICE}\nbob: [{BOB}, bob-second-token-000]\n"
        ))
        .unwrap();
        assert_eq!(tokens.operator(ALICE).map(Person::as_str), Some("alice"));
        assert_eq!(tokens.operator(BOB).map(Person::as_str), Some("bob"));
        assert_eq!(
            tokens.operator("bob-second-token-000").map(Person::as_str),
            Some("bob")
        );
        assert_eq!(
            tokens
                .operator(&ALICE[..ALICE.len() - 1])
                .map(Person::as_str),
            None
        );
        assert_eq!(
            tokens.operator(&format!("{ALICE}x")).map(Person::as_str),
            None
        );
        assert_eq!(tokens.operator("").map(Person::as_str), None);
        // The same length, one byte off; and the token with zeros after it.
        assert_eq!(
            tokens
                .operator("alice-token-0123456780")
                .map(Person::as_str),
            None
        );
        assert_eq!(
            tokens.operator(&format!("{ALICE}\0")).map(Person::as_str),
            None
        );
    }

    #[test]
    fn bad_files_are_refused_without_showing_a_token() {
        for (text, expect) in [
            ("alice: short\n", "too short"),
            (&format!("alice: {ALICE}\nbob: {ALICE}\n"), "share a token"),
            ("", "no tokens"),
            (
                &format!("alice: {{ nested: {ALICE} }}\n"),
                "not a tokens file",
            ),
            (&format!("- {ALICE}\n"), "not a tokens file"),
            (&format!("alice: {ALICE}\nAlice: {BOB}\n"), "are one person"),
            (
                &format!("\"rule:ErrorRateRollback\": {ALICE}\n"),
                "shipdeck uses for itself",
            ),
            (&format!("shipdeck: {ALICE}\n"), "shipdeck uses for itself"),
            (
                &format!("\"alice\\u200b\": {ALICE}\n"),
                "invisible formatting character (U+200B)",
            ),
        ] {
            let err = Tokens::parse(text).unwrap_err();
            assert!(err.contains(expect), "{text:?}: {err}");
            assert!(!err.contains(ALICE), "the token leaked: {err}");
        }
        let debug = format!("{:?}", Tokens::parse(&format!("alice: {ALICE}")).unwrap());
        assert!(!debug.contains(ALICE) && debug.contains("alice"));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.yaml");
        std::fs::write(&path, format!("alice: {ALICE}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Tokens::load(&path).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Tokens::load(&path).is_ok());
    }
}
