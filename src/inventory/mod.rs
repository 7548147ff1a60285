//! The inventory: which hosts exist, what runs where, and which versions are deployed.
//!
//! `load` reads YAML (rejecting duplicate keys, unknown fields and non-text input), resolves
//! per-host settings from `defaults`, and validates everything that does not need a component's
//! knowledge. Which components, roles and settings exist is a `Catalog` handed in by the
//! component registry, whose component-specific rules run once the generic ones pass.

pub mod catalog;
mod load;
pub mod raw;
mod shape;
pub mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diag::Pos;
use crate::version::{JavaVersion, Version};

pub use load::{load, load_str, STDIN};
pub use text::plain_abs_path;

impl Inventory {
    /// Read from standard input (`-i -`): no lock file can sit beside it.
    pub fn from_stdin(&self) -> bool {
        self.path == std::path::Path::new(STDIN)
    }
}

/// A resolved, validated inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub path: PathBuf,
    pub source: String,
    pub cluster: String,
    pub hosts: Vec<Host>,
    /// Keyed by component name (`zookeeper`, `kafka`, ...), in the order they were written.
    pub components: BTreeMap<&'static str, ComponentSpec>,
    /// Host indices by role, in inventory order: role lookups happen per host, and scanning
    /// every host each time makes a 1,000-host plan quadratic.
    pub by_role: BTreeMap<&'static str, Vec<usize>>,
    /// `secret_keys:`: the inventory's additions to the secrets policy (globs over keys).
    pub secret_keys: Vec<String>,
    /// `mirror:`: where release archives without `archive:` come from (`STACKCTL_MIRROR`
    /// wins over it).
    pub mirror: Option<(crate::dist::Mirror, Pos)>,
}

#[derive(Debug, Clone, Default)]
pub struct Host {
    pub index: usize,
    pub name: String,
    pub name_pos: Pos,
    pub address: String,
    pub address_pos: Pos,
    pub roles: Vec<RoleRef>,
    /// `ssh_user` / `ssh_port` when the inventory sets them; unset, the operator's ssh_config
    /// (or ssh's own default) decides.
    pub ssh_user: Option<String>,
    pub ssh_port: Option<u16>,
    /// `ssh_host`: what to give ssh as the destination instead of the host's name or address.
    pub ssh_host: Option<String>,
    /// `probe`: how health gates and `verify` reach the host's service ports.
    pub probe: ProbeVia,
    pub java_home: String,
    pub java_version: Option<(JavaVersion, Pos)>,
    pub install_dir: String,
    pub data_dir: String,
    /// Where `data_dir` was set: field path and position (`defaults.data_dir` when the host
    /// inherits it; an empty field for the built-in default).
    pub data_dir_at: (String, Pos),
    pub log_dir: String,
    /// `become: sudo`: every remote script runs as root through `sudo -n`.
    pub become_sudo: bool,
    /// `create_users`: whether missing service users and groups are created; `None` = the
    /// default, yes when the session is root or has become (known only from the host).
    pub create_users: Option<bool>,
    /// Ids pinned in the inventory, keyed by identity field (`zookeeper_id`, `broker_id`).
    pub pinned_ids: BTreeMap<&'static str, (u64, Pos)>,
}

/// A name `useradd`/`groupadd` accept everywhere (the portable subset): 1 to 32 of `a-z`,
/// `0-9`, `_`, `-`, starting with a letter or `_`.
pub fn account_name_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_lowercase() || f == '_')
        && s.len() <= 32
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// How health gates and `verify` reach a host's service ports: straight from this machine, or
/// through the host's SSH connection (a forward over its multiplexed master), or `auto`: through
/// SSH when ssh reaches the host through a jump host or a proxy command, else straight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeVia {
    #[default]
    Auto,
    Ssh,
    Direct,
}

impl ProbeVia {
    pub const NAMES: &'static [&'static str] = &["auto", "ssh", "direct"];
    pub fn parse(s: &str) -> Option<ProbeVia> {
        match s {
            "auto" => Some(ProbeVia::Auto),
            "ssh" => Some(ProbeVia::Ssh),
            "direct" => Some(ProbeVia::Direct),
            _ => None,
        }
    }
}

impl Host {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.name == role)
    }
    pub fn has_component(&self, component: &str) -> bool {
        self.roles.iter().any(|r| r.component == component)
    }
    pub fn role_pos(&self, role: &str) -> Pos {
        self.roles
            .iter()
            .find(|r| r.name == role)
            .map(|r| r.pos)
            .unwrap_or(self.name_pos)
    }
}

#[derive(Debug, Clone)]
pub struct RoleRef {
    pub name: &'static str,
    pub component: &'static str,
    pub pos: Pos,
}

/// One entry of `components:`: a version, an optional archive and component settings.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub name: &'static str,
    pub pos: Pos,
    pub version: Version,
    pub version_pos: Pos,
    /// A local archive: `archive:` as a path, or the cached copy of a fetched one (set once
    /// the archive is resolved; `None` until then, or when it is not fetched yet).
    pub archive: Option<(PathBuf, Pos)>,
    /// `archive:` as an http(s) URL: fetched into the cache, its checksum at URL + `.sha512`.
    pub archive_url: Option<(String, Pos)>,
    /// Every other key, as written (`config`, `scala`, `hdfs-site`, ...); the component checked
    /// that it knows each one.
    pub settings: BTreeMap<String, Setting>,
}

impl ComponentSpec {
    pub fn scalar(&self, key: &str) -> Option<&str> {
        match self.settings.get(key) {
            Some(Setting::Scalar(v, _)) => Some(v),
            _ => None,
        }
    }
    pub fn map(&self, key: &str) -> &[Prop] {
        match self.settings.get(key) {
            Some(Setting::Map(props, _)) => props,
            _ => &[],
        }
    }
    pub fn pos_of(&self, key: &str) -> Pos {
        match self.settings.get(key) {
            Some(Setting::Scalar(_, p)) | Some(Setting::Map(_, p)) => *p,
            None => self.pos,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Setting {
    Scalar(String, Pos),
    Map(Vec<Prop>, Pos),
}

/// A configuration property written by the operator, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    pub key: String,
    pub value: String,
    pub pos: Pos,
}

impl Inventory {
    pub fn component(&self, name: &str) -> Option<&ComponentSpec> {
        self.components.get(name)
    }
    pub fn hosts_with_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a Host> + 'a {
        self.by_role
            .get(role)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(move |i| &self.hosts[*i])
    }
    pub fn count_role(&self, role: &str) -> usize {
        self.by_role.get(role).map_or(0, Vec::len)
    }
    pub fn index_roles(hosts: &[Host]) -> BTreeMap<&'static str, Vec<usize>> {
        let mut m: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for (i, h) in hosts.iter().enumerate() {
            for r in &h.roles {
                m.entry(r.name).or_default().push(i);
            }
        }
        m
    }
    pub fn first_with_role<'a>(&'a self, role: &'a str) -> Option<&'a Host> {
        self.hosts_with_role(role).next()
    }
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}
