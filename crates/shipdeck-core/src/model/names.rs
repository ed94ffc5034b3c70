//! Names. What the model's enums derive their names from: each enum's one
//! declaration. A name is the one serde writes (`rolled_back`); these turn
//! it into words for people and into the message for a name that is not one.
//!
//! And the names of people ([`Person`]): who deployed, who may sign, who
//! signed, ticked, paused or rolled back, who watches. A person is compared
//! in one canonical form, so a name that looks the same is the same person.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, Script};
use icu_properties::{CodePointMapData, CodePointSetData, PropertyNamesLong};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strum::IntoEnumIterator;

/// A snake_case name written for people: `rolled_back` as `rolled back`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words(pub &'static str);

impl fmt::Display for Words {
    /// Honours width and alignment (`{:<12}`), as `str` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0.replace('_', " "))
    }
}

/// `unknown series `cpu` (known: error_rate, …)`: every name of `T`, in
/// declaration order.
pub(crate) fn unknown<T>(what: &str, text: &str) -> String
where
    T: IntoEnumIterator + Into<&'static str>,
{
    let known: Vec<&'static str> = T::iter().map(Into::into).collect();
    format!("unknown {what} `{text}` (known: {})", known.join(", "))
}

/// Longest name of a person, in characters.
pub const MAX_NAME: usize = 100;

/// What a rule's name becomes when the rule acts: `rule:ErrorRateRollback`.
pub const RULE_PREFIX: &str = "rule:";

/// shipdeck's own name.
pub const SHIPDECK: &str = "shipdeck";

/// The name automation signs with when it ticks automatic checklist items.
pub const AUTOMATION: &str = "automation";

/// The name the autopilot signs with; its further reviewers are
/// `autopilot-2`, `autopilot-3`, …
pub const AUTOPILOT: &str = "autopilot";

/// What a server calls a watcher who gave no name.
pub const SOMEONE: &str = "someone";

/// The name an Argo Rollouts controller acts under in a release: it
/// pauses a Rollout for a person when an analysis is inconclusive.
pub const CONTROLLER: &str = "argo-rollouts";

/// The name GitHub Actions decides a workflow run's release under: it runs
/// the jobs and holds each protected environment for its reviewers.
pub const GITHUB: &str = "github";

/// How a scenario's gate names whoever runs it among its approvers:
/// `approvers: [dave, erin, $operator]`.
pub const AT_THE_KEYS: &str = "$operator";

/// Names shipdeck acts under itself (in canonical form): no person may take
/// one, so nobody can sign, roll back or give a reason in their name. Rules
/// act as `rule:NAME` (reserved as a prefix, whatever stands for its
/// colon) and the autopilot's reviewers as `autopilot` and `autopilot-N`
/// (reserved exactly: "Autopilot Al" is a person).
const RESERVED: [&str; 8] = [
    SHIPDECK,
    AUTOMATION,
    SOMEONE,
    AT_THE_KEYS,
    AUTOPILOT,
    super::METRICS_SOURCE,
    CONTROLLER,
    GITHUB,
];

/// Characters drawn as a colon that NFKC leaves as they are: `rule∶x`
/// must be a rule's name as much as `rule:x`.
const COLON_LOOKALIKES: [char; 14] = [
    '\u{2236}', '\u{A789}', '\u{02F8}', '\u{02D0}', '\u{02D1}', '\u{05C3}', '\u{0589}', '\u{1361}',
    '\u{0703}', '\u{0704}', '\u{16EC}', '\u{1803}', '\u{205A}', '\u{FE30}',
];

/// Small capitals and other letters drawn as the letters of shipdeck's
/// own names, which NFKC leaves as they are (`ʀule:x` is `rule:x`).
fn plain_letter(c: char) -> char {
    match c {
        '\u{0280}' => 'r',
        '\u{1D1C}' | '\u{028A}' => 'u',
        '\u{029F}' => 'l',
        '\u{1D07}' => 'e',
        '\u{1D00}' | '\u{0251}' => 'a',
        '\u{1D0F}' | '\u{1D11}' => 'o',
        '\u{1D18}' => 'p',
        '\u{026A}' | '\u{0131}' => 'i',
        '\u{1D1B}' => 't',
        '\u{029C}' => 'h',
        '\u{A731}' => 's',
        '\u{1D05}' => 'd',
        '\u{1D04}' => 'c',
        '\u{1D0B}' => 'k',
        '\u{0262}' => 'g',
        '\u{1D0D}' => 'm',
        '\u{0274}' => 'n',
        c if COLON_LOOKALIKES.contains(&c) => ':',
        c => c,
    }
}

/// A person's name (or one of shipdeck's own, for what it does itself).
///
/// It keeps the name as written (trimmed) for display, and compares,
/// orders and hashes by its canonical form: NFKC-normalised, case-folded
/// and with runs of spaces made one. So `Carol`, `ＣＡＲＯＬ` and `carol`
/// are one person; a name with an invisible, formatting, bidi-control or
/// control character, or mixing scripts whose letters look alike (a
/// Cyrillic `а` in a Latin name), is refused where it enters.
#[derive(Clone)]
pub struct Person {
    written: String,
    key: String,
}

/// Why a name cannot be a person's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

impl Person {
    /// A person's name, as someone gives it (a file, a flag, a request): a
    /// well-formed name that is not one of shipdeck's own.
    pub fn new(text: &str) -> Result<Person, NameError> {
        let person = Person::recorded(text)?;
        if person.is_reserved() {
            return Err(NameError(format!(
                "`{}` is a name shipdeck uses for itself (its rules are `rule:NAME`, and `shipdeck`, `autopilot`, `automation`, `prometheus`, `someone` and `$operator` are its own): a person cannot take it",
                person.written
            )));
        }
        Ok(person)
    }

    /// A name as shipdeck recorded it (an event, a journal, a server's
    /// stream): well-formed, and it may be one of shipdeck's own.
    pub fn recorded(text: &str) -> Result<Person, NameError> {
        let written = text.trim();
        refuse_characters(written)?;
        Ok(Person::of(written))
    }

    /// One of shipdeck's own names (`autopilot`, `rule:NAME`): what its
    /// own actors act as.
    pub fn own(name: &str) -> Person {
        Person::of(name.trim())
    }

    /// The name a rule acts under: `rule:NAME`.
    pub fn rule(rule: &str) -> Person {
        Person::own(&format!("{RULE_PREFIX}{rule}"))
    }

    fn of(written: &str) -> Person {
        Person {
            key: canonical(written),
            written: written.to_string(),
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The canonical form it is compared by.
    pub fn canonical(&self) -> &str {
        &self.key
    }

    /// The rule this name is the act of (`rule:NAME`), if it is one.
    pub fn rule_name(&self) -> Option<&str> {
        let key: String = self.key.split(' ').collect();
        if !key.starts_with(RULE_PREFIX) {
            return None;
        }
        let name = self
            .written
            .split_once([':', '\u{FF1A}'])
            .map(|(_, name)| name);
        Some(name.unwrap_or(&self.written).trim_start())
    }

    /// Whether shipdeck uses this name for itself (spaces aside, so
    /// `rule : x` is a rule's too, and so is `rule∶x`).
    pub fn is_reserved(&self) -> bool {
        let key: String = self
            .key
            .chars()
            .filter(|c| *c != ' ')
            .map(plain_letter)
            .collect();
        let autopilot_n = key
            .strip_prefix(AUTOPILOT)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        RESERVED.contains(&key.as_str()) || autopilot_n || key.starts_with(RULE_PREFIX)
    }
}

/// The canonical form of a name: NFKC, then case-folded (upper case, then
/// lower, so `ß` meets `ss` and `ς` meets `σ`), then decomposed (NFKD)
/// with its combining marks taken out, trimmed, with each run of white
/// space one space. So `carol`, `carol\u{300}` and `càrol` are one person:
/// two people whose names differ only by an accent are taken for one,
/// rather than one person signing twice under two accents.
pub fn canonical(text: &str) -> String {
    const NFKC: ComposingNormalizerBorrowed<'static> = ComposingNormalizerBorrowed::new_nfkc();
    const NFKD: DecomposingNormalizerBorrowed<'static> = DecomposingNormalizerBorrowed::new_nfkd();
    let category = CodePointMapData::<GeneralCategory>::new();
    let folded = NFKC.normalize(text).to_uppercase().to_lowercase();
    let bare: String = NFKD
        .normalize(&folded)
        .chars()
        .filter(|&c| {
            !matches!(
                category.get(c),
                GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
            )
        })
        .collect();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Refuses what no name of a person holds, saying why: nothing empty or
/// too long, no control, invisible, formatting or bidi-control character,
/// nothing unassigned or private, and letters of one script (or of the
/// scripts Japanese, Chinese and Korean names mix with Latin).
fn refuse_characters(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError("a name is empty".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(NameError(format!(
            "a name is at most {MAX_NAME} characters"
        )));
    }
    let category = CodePointMapData::<GeneralCategory>::new();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    for c in name.chars() {
        let what = match category.get(c) {
            GeneralCategory::Control => "a control character",
            GeneralCategory::Format if is_bidi_control(c) => {
                "a bidirectional control, which reorders what is shown"
            }
            GeneralCategory::Format => "an invisible formatting character",
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => "a line break",
            GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::Surrogate => {
                "a character with no agreed meaning (unassigned or private use)"
            }
            // The braille blank draws nothing, yet is no space.
            _ if ignorable.contains(c) || c == '\u{2800}' => "an invisible character",
            _ => continue,
        };
        return Err(NameError(format!(
            "a name may not hold {what} (U+{:04X}): names are compared as people read them",
            c as u32
        )));
    }
    // A rule's name in any script acts as `rule:NAME`.
    one_script(name.strip_prefix(RULE_PREFIX).unwrap_or(name))
}

/// U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name's letters come from one script, or from a mix people write
/// (Latin with Han and kana, with Han and Bopomofo, or with Han and
/// Hangul), so a Cyrillic `а` cannot pass for a Latin `a`.
fn one_script(name: &str) -> Result<(), NameError> {
    let scripts = CodePointMapData::<Script>::new();
    let mut seen: Vec<Script> = Vec::new();
    for c in name.chars() {
        let script = scripts.get(c);
        if script != Script::Common && script != Script::Inherited && !seen.contains(&script) {
            seen.push(script);
        }
    }
    let mixes = [
        [
            Script::Latin,
            Script::Han,
            Script::Hiragana,
            Script::Katakana,
        ],
        [
            Script::Latin,
            Script::Han,
            Script::Bopomofo,
            Script::Bopomofo,
        ],
        [Script::Latin, Script::Han, Script::Hangul, Script::Hangul],
    ];
    if seen.len() <= 1 || mixes.iter().any(|mix| seen.iter().all(|s| mix.contains(s))) {
        return Ok(());
    }
    let names = PropertyNamesLong::<Script>::new();
    let named: Vec<&str> = seen
        .iter()
        .map(|s| names.get(*s).unwrap_or("another"))
        .collect();
    Err(NameError(format!(
        "a name may not mix letters of {} (letters of one can pass for the other's): write it in one script",
        named.join(" and ")
    )))
}

impl PartialEq for Person {
    fn eq(&self, other: &Person) -> bool {
        self.key == other.key
    }
}

impl Eq for Person {}

/// A person and a name compare in canonical form, as two people do.
impl PartialEq<str> for Person {
    fn eq(&self, other: &str) -> bool {
        self.key == canonical(other)
    }
}

impl PartialEq<&str> for Person {
    fn eq(&self, other: &&str) -> bool {
        self.key == canonical(other)
    }
}

impl PartialOrd for Person {
    fn partial_cmp(&self, other: &Person) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Person {
    fn cmp(&self, other: &Person) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl Hash for Person {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl fmt::Display for Person {
    /// The name as written; honours width and alignment, as `str` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.written)
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.written, f)
    }
}

impl Serialize for Person {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

/// Read as recorded: a name a person could not take (a rule's, the
/// autopilot's) is shipdeck's own, and reads; one no person can have
/// (an invisible character) does not.
impl<'de> Deserialize<'de> for Person {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Person, D::Error> {
        let text = String::deserialize(d)?;
        Person::recorded(&text).map_err(serde::de::Error::custom)
    }
}

/// A well-formed name, for tests.
#[cfg(test)]
pub(crate) fn person(name: &str) -> Person {
    Person::recorded(name).expect("a well-formed name")
}

#[cfg(test)]
pub(crate) mod tests {
    use serde::Serialize;
    use strum::IntoEnumIterator;

    use super::*;
    use crate::model::*;

    /// Every variant's strum name is the name serde writes.
    pub(crate) fn names_agree<T>()
    where
        T: IntoEnumIterator + Into<&'static str> + Serialize + Copy + fmt::Debug,
    {
        for variant in T::iter() {
            let serde = serde_json::to_value(variant).unwrap();
            let strum: &'static str = variant.into();
            assert_eq!(serde, strum, "{variant:?}");
        }
    }

    #[test]
    fn every_enum_is_named_as_serde_writes_it() {
        names_agree::<Series>();
        names_agree::<Cohort>();
        names_agree::<StageKind>();
        names_agree::<StageState>();
        names_agree::<Outcome>();
        names_agree::<Level>();
        names_agree::<StepState>();
        names_agree::<AlertState>();
        names_agree::<RuleState>();
        names_agree::<GateState>();
        names_agree::<Severity>();
        names_agree::<RuleAction>();
        names_agree::<Colour>();
    }

    #[test]
    fn names_that_look_the_same_are_one_person() {
        let carol = Person::new("carol").unwrap();
        for same in ["Carol", "CAROL", "ｃａｒｏｌ", " carol ", "ｃarol"] {
            let other = Person::new(same).unwrap();
            assert_eq!(other, carol, "{same:?}");
            assert_eq!(other.canonical(), "carol");
        }
        // As written, for the screen and the record.
        assert_eq!(Person::new("Carol").unwrap().to_string(), "Carol");
        assert_eq!(
            serde_json::to_string(&Person::new(" Carol ").unwrap()).unwrap(),
            "\"Carol\""
        );
        // Case folding beyond ASCII, compatibility forms, runs of spaces.
        assert_eq!(
            Person::new("STRASSE").unwrap(),
            Person::new("straße").unwrap()
        );
        assert_eq!(Person::new("ΣΟΦΟΣ").unwrap(), Person::new("σοφος").unwrap());
        assert_eq!(Person::new("ﬁona").unwrap(), Person::new("fiona").unwrap());
        assert_eq!(
            Person::new("ana  maria").unwrap(),
            Person::new("Ana Maria").unwrap()
        );
        assert_eq!(
            Person::new("e\u{301}lodie").unwrap(),
            Person::new("\u{e9}lodie").unwrap()
        );
        assert_ne!(Person::new("carol").unwrap(), Person::new("carl").unwrap());
        // A combining mark does not make another person: `carol` with a
        // grave and with an acute accent (no letter has them composed) are
        // carol, and so is `càrol`.
        for name in [
            "carol\u{300}",
            "carol\u{301}",
            "c\u{e0}rol",
            "ca\u{20dd}rol",
        ] {
            assert_eq!(Person::new(name).unwrap(), carol, "{name:?}");
        }
        assert_eq!(
            Person::new("dave\u{323}").unwrap(),
            Person::new("dave").unwrap()
        );
        // Sets and maps see one person.
        let set: std::collections::BTreeSet<Person> = ["carol", "Carol", "ＣＡＲＯＬ"]
            .iter()
            .map(|n| Person::new(n).unwrap())
            .collect();
        assert_eq!(set.len(), 1);
        assert!(carol == "CAROL" && carol != "carl");
    }

    #[test]
    fn invisible_control_and_reordering_characters_are_refused_and_named() {
        for (name, code) in [
            ("carol\u{200b}", "U+200B"),
            ("car\u{200d}ol", "U+200D"),
            ("\u{feff}carol", "U+FEFF"),
            ("carol\u{ad}", "U+00AD"),
            ("\u{202e}lorac", "U+202E"),
            ("carol\u{2066}", "U+2066"),
            ("carol\u{200f}", "U+200F"),
            ("carol\u{1b}[31m", "U+001B"),
            ("carol\u{7}", "U+0007"),
            ("carol\ndave", "U+000A"),
            ("car\u{2028}ol", "U+2028"),
            ("carol\u{e000}", "U+E000"),
            ("carol\u{3164}", "U+3164"),
            ("carol\u{fe0f}", "U+FE0F"),
            ("carol\u{34f}", "U+034F"),
            ("carol\u{2800}", "U+2800"),
            ("carol\u{115f}", "U+115F"),
            ("carol\u{e0041}", "U+E0041"),
            ("carol\u{180e}", "U+180E"),
        ] {
            let why = Person::new(name).unwrap_err().to_string();
            assert!(why.contains(code), "{name:?}: {why}");
            assert!(Person::recorded(name).is_err(), "{name:?}");
            assert!(
                serde_json::from_value::<Person>(serde_json::json!(name)).is_err(),
                "{name:?}"
            );
        }
        let why = Person::new("\u{202e}lorac").unwrap_err().to_string();
        assert!(why.contains("bidirectional"), "{why}");
        assert_eq!(
            Person::new("  ").unwrap_err().to_string(),
            "a name is empty"
        );
        assert!(Person::new(&"a".repeat(MAX_NAME + 1)).is_err());
        assert!(Person::new(&"a".repeat(MAX_NAME)).is_ok());
    }

    #[test]
    fn a_name_mixing_lookalike_scripts_is_refused() {
        // A Cyrillic а (U+0430) in a Latin name.
        let why = Person::new("c\u{430}rol").unwrap_err().to_string();
        assert!(why.contains("Latin") && why.contains("Cyrillic"), "{why}");
        assert!(Person::new("d\u{3bf}ve").is_err(), "a Greek omicron");
        // One script, or the mixes people write, are names.
        for name in [
            "Дмитрий",
            "Σοφία",
            "山田 太郎",
            "やまだ Taro",
            "김민준",
            "O'Brien-Smith 2",
            "Zoë",
        ] {
            assert!(Person::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn shipdecks_own_names_are_no_persons() {
        for name in [
            "rule:ErrorRateRollback",
            "Rule:ErrorRateRollback",
            "RULE : x",
            "ｒｕｌｅ：ErrorRateRollback",
            "rule\u{2236}ErrorRateRollback",
            "rule\u{A789}ErrorRateRollback",
            "rule\u{02D0}ErrorRateRollback",
            "\u{0280}ule:ErrorRateRollback",
            "\u{A731}hipdeck",
            "\u{1D00}utopilot",
            "shipdeck",
            "ShipDeck",
            "Ship Deck",
            "autopilot",
            "Autopilot-2",
            "automation",
            "prometheus",
            "someone",
            "$operator",
            "GitHub",
        ] {
            let why = Person::new(name).unwrap_err().to_string();
            assert!(why.contains("shipdeck uses for itself"), "{name}: {why}");
            // Read back from a record, they are shipdeck's own.
            assert!(Person::recorded(name).unwrap().is_reserved(), "{name}");
        }
        assert_eq!(
            Person::rule("ErrorRateRollback").rule_name(),
            Some("ErrorRateRollback")
        );
        // A rule named in another script reads back as it was recorded.
        let rule = Person::rule("ОшибкаОтката");
        let read: Person = serde_json::from_value(serde_json::to_value(&rule).unwrap()).unwrap();
        assert_eq!(read.rule_name(), Some("ОшибкаОтката"));
        assert_eq!(Person::new("dave").unwrap().rule_name(), None);
        for name in [
            "rulebook",
            "dave",
            "pilot",
            "ship-deck",
            "Autopilot Al",
            "autopilot-al",
        ] {
            assert!(Person::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn names_read_as_words() {
        assert_eq!(Words("rolled_back").to_string(), "rolled back");
        assert_eq!(Outcome::RolledBack.words().to_string(), "rolled back");
        assert_eq!(
            format!("{:<12}|", Series::LatencyP95.words()),
            "latency p95 |"
        );
        assert_eq!(
            unknown::<Cohort>("cohort", "beta"),
            "unknown cohort `beta` (known: canary, stable, all)"
        );
    }
}
