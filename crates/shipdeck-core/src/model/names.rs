//! What the model's enums derive their names from: each enum's one
//! declaration. A name is the one serde writes (`rolled_back`); these turn
//! it into words for people and into the message for a name that is not one.

use std::fmt;

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
