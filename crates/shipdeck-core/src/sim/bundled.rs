//! Scenarios built into the binary, so `shipdeck` runs with no files at all.
//! They are the files in `fixtures/scenarios/`, included at build time
//! through the crate's `scenarios` link to that folder, so that the
//! published crate carries them.

/// (name, YAML) for every bundled scenario, in the order a newcomer meets them.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "happy-canary",
        include_str!("../../scenarios/happy-canary.yaml"),
    ),
    (
        "canary-regression",
        include_str!("../../scenarios/canary-regression.yaml"),
    ),
    (
        "blue-green",
        include_str!("../../scenarios/blue-green.yaml"),
    ),
    ("rolling", include_str!("../../scenarios/rolling.yaml")),
    (
        "approval-rejected",
        include_str!("../../scenarios/approval-rejected.yaml"),
    ),
    (
        "two-person",
        include_str!("../../scenarios/two-person.yaml"),
    ),
    (
        "feature-flag",
        include_str!("../../scenarios/feature-flag.yaml"),
    ),
];

/// The YAML of a bundled scenario.
pub fn get(name: &str) -> Option<&'static str> {
    SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The names of the bundled scenarios.
pub fn names() -> impl Iterator<Item = &'static str> {
    SCENARIOS.iter().map(|(n, _)| *n)
}
