//! The release as data: plan, state, events and commands, and the one reducer
//! (`Release::apply`) that every part of shipdeck folds events with.
//!
//! Nothing here does I/O or knows about terminals, HTTP or async runtimes.

mod checklist;
mod command;
mod event;
pub mod freeze;
mod gate;
mod logs;
mod metrics;
pub mod names;
mod possible;
mod release;
mod rule;
mod stage;
mod strategy;
pub mod text;
pub mod time;
pub mod units;

pub use checklist::{Checklist, ChecklistItem, ChecklistPlan, ItemPlan, Tick};
pub use command::{Action, Command, CommandKind};
pub use event::{AlertState, Event, EventKind, EventType, GateOf, Outcome, RuleState, StepState};
pub use freeze::{Freeze, Frozen};
pub use gate::{Approvers, Gate, GatePlan, GateState, MAX_SIGNOFFS, Rejection, SignOff};
pub use logs::{Level, LogLine, LogRing, Logs, MAX_SOURCES};
pub use metrics::{Cohort, METRICS_SOURCE, MetricPoint, MetricSeries, Metrics, Sample, Series};
pub use names::{NameError, Person, Words};
pub use release::{
    Alert, Change, DEFAULT_LOG_CAPACITY, MAX_LOG_CAPACITY, MAX_REASON, Release, ReleasePlan,
    Rollback, Rollout, Standing, Status, Stopped, Window,
};
pub use rule::{Comparison, Condition, Rule, RuleAction, Severity};
pub use stage::{Stage, StageKind, StagePlan, StageState};
pub use strategy::{Colour, Step, StepKind, Strategy};
