//! The catalog the inventory loader validates against: which components exist, their roles
//! (with start order, gates and stable ids) and the settings their sections accept. It is data
//! handed to the loader by the component registry, so the inventory layer names no component.

use crate::diag::Diagnostics;
use crate::inventory::Inventory;

/// A role a host can have (`namenode`, `kafka`, ...).
#[derive(Debug)]
pub struct RoleDef {
    pub name: &'static str,
    pub component: &'static str,
    /// What an operator calls it: "HDFS NameNode".
    pub service: &'static str,
    /// Column header in `plan`'s hosts x roles table.
    pub short: &'static str,
    pub max_per_cluster: Option<usize>,
    pub why_single: Option<&'static str>,
    /// Roles that must be healthy before this one starts. Absent roles are skipped over.
    pub after: &'static [&'static str],
    /// What "healthy" means for this stage, as shown by `plan`.
    pub gate: &'static str,
    /// The stable id this role needs (ZooKeeper myid, Kafka broker.id), if any.
    pub id: Option<IdDef>,
}

/// A stable identity: pinned on the host by `field`, else assigned once and kept in the lock file.
#[derive(Debug)]
pub struct IdDef {
    pub field: &'static str,
    /// What the service calls it, for messages: `myid`, `broker.id`.
    pub what: &'static str,
    pub min: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SettingKind {
    Scalar,
    Map,
}

/// A key accepted under `components.<name>` besides `version` and `archive`.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub key: &'static str,
    pub kind: SettingKind,
    pub help: &'static str,
}

/// One component as the loader sees it.
pub struct ComponentDef {
    pub name: &'static str,
    pub roles: &'static [RoleDef],
    pub settings: &'static [SettingDef],
    /// A version to suggest in error messages.
    pub example_version: &'static str,
}

/// Everything the loader checks an inventory against.
pub struct Catalog {
    pub components: Vec<&'static ComponentDef>,
    /// Component-specific rules, run after the generic checks passed.
    pub validate: fn(&Inventory, &mut Diagnostics),
    /// Whether `role` on `host` needs an id of its own (false: a combined KRaft node, one
    /// process named by its broker id).
    pub needs_id: fn(&Inventory, &str, &crate::inventory::Host) -> bool,
    /// Components that need a cluster id generated once and kept in the lock file.
    pub cluster_ids: fn(&Inventory) -> Vec<&'static str>,
}

impl Catalog {
    pub fn component(&self, name: &str) -> Option<&'static ComponentDef> {
        self.components.iter().copied().find(|c| c.name == name)
    }
    pub fn names(&self) -> Vec<&'static str> {
        self.components.iter().map(|c| c.name).collect()
    }
    pub fn roles(&self) -> impl Iterator<Item = &'static RoleDef> + '_ {
        self.components.iter().flat_map(|c| c.roles.iter())
    }
    pub fn role(&self, name: &str) -> Option<&'static RoleDef> {
        self.roles().find(|r| r.name == name)
    }
    pub fn role_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.roles().map(|r| r.name)
    }
    /// The identity an id field names (`broker_id`), with its range.
    pub fn id_def(&self, field: &str) -> Option<&'static IdDef> {
        self.roles()
            .filter_map(|r| r.id.as_ref())
            .find(|d| d.field == field)
    }
}
