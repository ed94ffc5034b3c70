//! Checklists from the runbook: items ticked by people or by automation.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::names::Person;

/// A checklist as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistPlan {
    pub id: String,
    pub name: String,
    pub items: Vec<ItemPlan>,
}

/// One item as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemPlan {
    pub id: String,
    pub text: String,
    /// Ticked by automation (a check the backend runs), not by a person.
    #[serde(default)]
    pub automatic: bool,
}

/// Who ticked an item, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub by: Person,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    #[serde(flatten)]
    pub plan: ItemPlan,
    pub ticked: Option<Tick>,
    /// The seq of the event that last ticked or unticked it (0: none has).
    #[serde(default)]
    pub changed_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    pub id: String,
    pub name: String,
    pub items: Vec<ChecklistItem>,
}

impl Checklist {
    pub fn new(plan: ChecklistPlan) -> Checklist {
        Checklist {
            id: plan.id,
            name: plan.name,
            items: plan
                .items
                .into_iter()
                .map(|plan| ChecklistItem {
                    plan,
                    ticked: None,
                    changed_seq: 0,
                })
                .collect(),
        }
    }

    pub fn item(&self, id: &str) -> Option<&ChecklistItem> {
        self.items.iter().find(|i| i.plan.id == id)
    }

    pub fn unticked(&self) -> impl Iterator<Item = &ChecklistItem> {
        self.items.iter().filter(|i| i.ticked.is_none())
    }

    pub fn is_complete(&self) -> bool {
        self.unticked().next().is_none()
    }

    pub fn ticked_count(&self) -> usize {
        self.items.len() - self.unticked().count()
    }
}
