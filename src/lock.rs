//! The lock file: stable ZooKeeper `myid`s and Kafka `broker.id`s, like Cargo.lock.
//!
//! Ids derived from host order break clusters when a host is inserted or removed. Here an id is
//! assigned once, recorded beside the inventory (`<inventory>.lock`, meant to be committed), and
//! never changed; a removed host's id is retired and never handed out again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics, InvalidInput, Pos};
use crate::inventory::catalog::Catalog;
use crate::inventory::Inventory;

pub const LOCK_VERSION: u32 = 1;

/// Stable ids by identity field, then host name: `ids["broker_id"]["node1"] == 1`; and the
/// cluster ids generated once per component (`cluster_ids["kafka"]`, KRaft's `cluster.id`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ids {
    pub by_field: BTreeMap<String, BTreeMap<String, u64>>,
    pub cluster_ids: BTreeMap<String, String>,
}

impl std::ops::Deref for Ids {
    type Target = BTreeMap<String, BTreeMap<String, u64>>;
    fn deref(&self) -> &Self::Target {
        &self.by_field
    }
}

impl std::ops::DerefMut for Ids {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.by_field
    }
}

impl Ids {
    pub fn new() -> Self {
        Self::default()
    }
}

/// A new cluster id as Kafka writes one (`Uuid.randomUuid().toString()`): 16 random bytes in
/// URL-safe base64 without padding, 22 characters, never starting with `-` (Kafka's own
/// generator redraws those, as a leading dash reads as an option on a command line).
pub fn new_cluster_id() -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open("/dev/urandom")?;
    for _ in 0..64 {
        let mut b = [0u8; 16];
        f.read_exact(&mut b)?;
        if b.iter().all(|x| *x == 0) {
            continue;
        }
        let id = base64url(&b);
        if !id.starts_with('-') {
            return Ok(id);
        }
    }
    Err(std::io::Error::other(
        "no usable random cluster id in 64 draws",
    ))
}

/// URL-safe base64 without padding.
pub fn base64url(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A cluster id as `new_cluster_id` makes them: 22 URL-safe base64 characters.
pub fn valid_cluster_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        && !id.starts_with('-')
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    pub cluster: String,
    /// Keyed by identity field (`broker_id`, `zookeeper_id`).
    #[serde(default)]
    pub ids: BTreeMap<String, IdTable>,
    /// Generated once per component that needs one (Kafka in KRaft mode formats every log
    /// directory with it) and never changed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cluster_ids: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdTable {
    /// The next id to hand out: above every id ever assigned, so none is reused.
    pub next: u64,
    #[serde(default)]
    pub hosts: BTreeMap<String, u64>,
    /// Hosts that left the inventory, with the id they had.
    #[serde(default)]
    pub retired: BTreeMap<String, u64>,
}

pub fn lock_path(inventory: &Path) -> PathBuf {
    let mut s = inventory.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockState {
    /// No ids are needed (no ZooKeeper or Kafka hosts) and there is no lock file.
    NotNeeded,
    Unchanged,
    Created,
    Updated,
}

pub struct Resolved {
    pub ids: Ids,
    pub lock: LockFile,
    pub state: LockState,
    pub path: PathBuf,
    pub diagnostics: Diagnostics,
    /// What changed, one line each: "assigned broker_id 4 to node4".
    pub changes: Vec<String>,
}

pub fn read(path: &Path, cat: &Catalog) -> Result<Option<LockFile>, InvalidInput> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(one(
                path,
                Pos::default(),
                format!("cannot read lock file: {e}"),
            ))
        }
    };
    let lock: LockFile = serde_saphyr::from_str(&text).map_err(|e| {
        let pos = e.location().map(|l| Pos::from_saphyr(&l)).unwrap_or_default();
        let msg = e.to_string();
        let msg = msg.lines().next().unwrap_or("").to_string();
        let mut err = one(path, pos, format!("the lock file is damaged: {msg}"));
        err.diagnostics.0[0].help = Some("restore it from version control; deleting it renumbers every ZooKeeper and Kafka server".into());
        err.source = Some(text.clone());
        err
    })?;
    if lock.version != LOCK_VERSION {
        let line = text
            .lines()
            .position(|l| l.starts_with("version:"))
            .map_or(0, |i| i as u64 + 1);
        return Err(one(
            path,
            Pos::new(line, 1),
            format!(
                "lock file version {} is not supported (expected {LOCK_VERSION})",
                lock.version
            ),
        ));
    }
    check_ids(path, &text, &lock, cat)?;
    Ok(Some(lock))
}

/// A lock file edited by hand must still make sense: ids in range, each id used once.
fn check_ids(path: &Path, text: &str, lock: &LockFile, cat: &Catalog) -> Result<(), InvalidInput> {
    let mut diags = Diagnostics::default();
    for (field, table) in &lock.ids {
        let def = cat.id_def(field);
        let Some(def) = def else {
            diags.push(Diagnostic::error(
                path,
                line_of(text, field),
                format!("ids.{field}"),
                format!("`{field}` is not an identity stackctl knows"),
            ));
            continue;
        };
        let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
        for (host, id) in table.hosts.iter().chain(table.retired.iter()) {
            // Found only for an entry in error: it reads the whole file.
            let at = || line_of(text, &format!("{host}: {id}"));
            if *id < def.min || *id > def.max {
                diags.push(Diagnostic::error(
                    path,
                    at(),
                    format!("ids.{field}.{host}"),
                    format!(
                        "{field} {id} of `{host}` is out of range: {} must be {}..={}",
                        def.what, def.min, def.max
                    ),
                ));
            } else if let Some(other) = seen.insert(*id, host) {
                diags.push(
                    Diagnostic::error(
                        path,
                        at(),
                        format!("ids.{field}.{host}"),
                        format!("{field} {id} is recorded for both `{other}` and `{host}`"),
                    )
                    .with_help(
                        "each server needs its own id; restore the lock file from version control",
                    ),
                );
            }
        }
    }
    for (component, id) in &lock.cluster_ids {
        if cat.component(component).is_none() || !valid_cluster_id(id) {
            diags.push(
                Diagnostic::error(
                    path,
                    line_of(text, &format!("{component}:")),
                    format!("cluster_ids.{component}"),
                    if cat.component(component).is_none() {
                        format!("`{component}` is not a component stackctl knows")
                    } else {
                        format!("`{id}` is not a cluster id (22 URL-safe base64 characters)")
                    },
                )
                .with_help("restore the lock file from version control: every formatted log directory carries this id"),
            );
        }
    }
    if diags.has_errors() {
        return Err(InvalidInput {
            diagnostics: diags,
            source: Some(text.to_string()),
        });
    }
    Ok(())
}

/// The first line containing `needle`, for pointing at a lock-file entry.
fn line_of(text: &str, needle: &str) -> Pos {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(Pos::default(), |i| Pos::new(i as u64 + 1, 1))
}

fn one(path: &Path, pos: Pos, msg: String) -> InvalidInput {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::error(path, pos, "", msg));
    InvalidInput {
        diagnostics: d,
        source: None,
    }
}

/// Assigns ids: pinned ids first, then existing assignments, then new ones above every id ever
/// used. Returns errors (as diagnostics) for pins that contradict the lock.
///
/// Linear in the number of hosts (lookups go through maps, not scans of every host), and every
/// path terminates: a new id is searched for only up to the top of the id range, in `u128` so
/// that no id from a hand-edited lock (`next: 18446744073709551615`) can overflow or saturate.
pub fn resolve(inv: &Inventory, existing: Option<LockFile>, cat: &Catalog) -> Resolved {
    let path = lock_path(&inv.path);
    let had_lock = existing.is_some();
    let mut lock = existing.clone().unwrap_or(LockFile {
        version: LOCK_VERSION,
        cluster: inv.cluster.clone(),
        ids: BTreeMap::new(),
        cluster_ids: BTreeMap::new(),
    });
    let mut diags = Diagnostics::default();
    let mut changes = Vec::new();
    if had_lock && lock.cluster != inv.cluster {
        diags.push(
            Diagnostic::error(&path, Pos::default(), "cluster", format!("the lock file belongs to cluster `{}`, the inventory says `{}`", lock.cluster, inv.cluster))
                .with_help("a renamed cluster keeps its ids: edit `cluster:` in the lock file too, or restore the inventory's name"),
        );
    }
    let in_inventory: HashSet<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut ids = Ids::new();
    for component in (cat.cluster_ids)(inv) {
        if let Some(id) = lock.cluster_ids.get(component) {
            ids.cluster_ids.insert(component.to_string(), id.clone());
            continue;
        }
        match new_cluster_id() {
            Ok(id) => {
                changes.push(format!("generated the {component} cluster id {id}"));
                lock.cluster_ids.insert(component.to_string(), id.clone());
                ids.cluster_ids.insert(component.to_string(), id);
            }
            Err(e) => diags.push(Diagnostic::error(
                &path,
                Pos::default(),
                "cluster_ids",
                format!("cannot generate a {component} cluster id: {e}"),
            )),
        }
    }
    for role in cat.roles() {
        let Some(def) = &role.id else { continue };
        let table = lock.ids.entry(def.field.to_string()).or_default();
        let lock_next = table.next;
        // A role some hosts hold without an id of their own (a combined KRaft node is one
        // process, named by its broker id) is not counted on those hosts.
        let holders: Vec<_> = inv
            .hosts_with_role(role.name)
            .filter(|h| (cat.needs_id)(inv, role.name, h))
            .collect();
        let holding: HashSet<&str> = holders.iter().map(|h| h.name.as_str()).collect();
        let in_range = |id: u64| id >= def.min && id <= def.max;
        let mut assigned: BTreeMap<String, u64> = BTreeMap::new();
        // Hosts that left the inventory (or the role) are retired, keeping their id out of reach.
        let gone: Vec<String> = table
            .hosts
            .keys()
            .filter(|h| !holding.contains(h.as_str()))
            .cloned()
            .collect();
        for h in gone {
            let id = table.hosts.remove(&h).expect("listed");
            let why = if in_inventory.contains(h.as_str()) {
                format!("no longer has role `{}`", role.name)
            } else {
                "no longer in the inventory".to_string()
            };
            changes.push(format!("retired {} {id} of {h} ({why})", def.field));
            table.retired.insert(h, id);
        }
        // Who holds each id, now and in the past (the first name, should a lock that was not
        // read through `read` record an id twice).
        let mut owner: HashMap<u64, String> = HashMap::new();
        for (h, id) in &table.hosts {
            owner.entry(*id).or_insert_with(|| h.clone());
        }
        let mut retired_owner: HashMap<u64, String> = HashMap::new();
        for (h, id) in &table.retired {
            retired_owner.entry(*id).or_insert_with(|| h.clone());
        }
        // Ids pinned in the inventory are never handed out to another host, even when the pin
        // itself is refused below. Pins out of range cannot collide with an id in range.
        let pinned: HashSet<u64> = holders
            .iter()
            .filter_map(|h| h.pinned_ids.get(def.field).map(|p| p.0))
            .filter(|id| in_range(*id))
            .collect();
        // New ids go above every id ever used; u128 so that `u64::MAX + 1` is representable.
        let mut high: u128 = table
            .hosts
            .values()
            .chain(table.retired.values())
            .copied()
            .max()
            .map_or(def.min.max(1) as u128, |m| m as u128 + 1);
        // 1. pins
        for h in &holders {
            let Some((pin, pos)) = h.pinned_ids.get(def.field) else {
                continue;
            };
            let field = format!("hosts[{}].{}", h.index, def.field);
            if !in_range(*pin) {
                diags.push(Diagnostic::error(
                    &inv.path,
                    *pos,
                    &field,
                    format!(
                        "{} {pin} is out of range: {} must be {}..={}",
                        def.field, def.what, def.min, def.max
                    ),
                ));
                continue;
            }
            let contradicts = |old: u64| {
                Diagnostic::error(&inv.path, *pos, &field, format!("`{}` pins {} {pin}, but the lock file records {old} for it", h.name, def.field))
                    .with_help(format!("changing a running server's {} makes it a different server; if this is intended, remove `{}` from `{}` in {}", def.what, h.name, def.field, path.display()))
            };
            // The id the lock file records for this host: its current one, else (a host that
            // comes back) the one it had, which its data directory still carries.
            let recorded = table
                .hosts
                .get(&h.name)
                .or_else(|| table.retired.get(&h.name));
            if let Some(old) = recorded.filter(|old| *old != pin) {
                diags.push(contradicts(*old));
                continue;
            }
            let given_to = owner.get(pin).filter(|n| **n != h.name).or_else(|| {
                // A retired host that is back gets its id back (below): it is taken.
                retired_owner
                    .get(pin)
                    .filter(|n| **n != h.name && holding.contains(n.as_str()))
            });
            if let Some(other) = given_to {
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        *pos,
                        &field,
                        format!(
                            "`{}` pins {} {pin}, which the lock file gives to `{other}`",
                            h.name, def.field
                        ),
                    )
                    .with_help("each server needs its own id"),
                );
                continue;
            }
            if !table.hosts.contains_key(&h.name) && table.retired.remove(&h.name).is_some() {
                retired_owner.remove(pin);
                changes.push(format!("restored {} {pin} of {}", def.field, h.name));
                table.hosts.insert(h.name.clone(), *pin);
            } else if let Some(old_host) = retired_owner.remove(pin) {
                diags.push(Diagnostic::warning(&inv.path, *pos, &field, format!("`{}` pins {} {pin}, which `{old_host}` had before it was removed", h.name, def.field))
                    .with_help("fine when this host replaces that one; otherwise a reused id confuses the cluster's history"));
                // The id moves from the retired host to this one: recorded once, so the lock
                // file stays valid (an id in both `hosts` and `retired` is refused on reading).
                table.retired.remove(&old_host);
                changes.push(format!(
                    "recorded pinned {} {pin} for {}, which {old_host} had before it was retired",
                    def.field, h.name
                ));
                table.hosts.insert(h.name.clone(), *pin);
            } else if table.hosts.get(&h.name) != Some(pin) {
                changes.push(format!(
                    "recorded pinned {} {pin} for {}",
                    def.field, h.name
                ));
                table.hosts.insert(h.name.clone(), *pin);
            }
            owner.insert(*pin, h.name.clone());
            assigned.insert(h.name.clone(), *pin);
            high = high.max(*pin as u128 + 1);
        }
        // 2. existing assignments, 3. new ones.
        let taken = |owner: &HashMap<u64, String>, id: u128| {
            u64::try_from(id).is_ok_and(|id| owner.contains_key(&id) || pinned.contains(&id))
        };
        // Where the search for a free id starts: it only moves up, so the search is linear in
        // the size of the id range over all hosts, and a range found exhausted stays so.
        let mut cursor: u128 = 0;
        let mut exhausted = false;
        for h in &holders {
            if assigned.contains_key(&h.name) || h.pinned_ids.contains_key(def.field) {
                continue;
            }
            if let Some(id) = table.hosts.get(&h.name) {
                assigned.insert(h.name.clone(), *id);
                continue;
            }
            // A host that comes back (to the inventory or the role) gets its own id back: its
            // data directory (myid, meta.properties) still carries it. This is not reuse.
            if let Some(id) = table.retired.get(&h.name).copied() {
                if !owner.contains_key(&id) {
                    table.retired.remove(&h.name);
                    retired_owner.remove(&id);
                    changes.push(format!("restored {} {id} of {}", def.field, h.name));
                    table.hosts.insert(h.name.clone(), id);
                    owner.insert(id, h.name.clone());
                    assigned.insert(h.name.clone(), id);
                    continue;
                }
            }
            cursor = cursor.max(high).max(lock_next as u128);
            while cursor <= def.max as u128 && taken(&owner, cursor) {
                cursor += 1;
            }
            if cursor > def.max as u128 {
                let help = if exhausted {
                    // Said once: the first host without an id carries the explanation.
                    None
                } else if lock_next > def.max {
                    Some(format!(
                        "`ids.{}.next` in {} is {lock_next}, above the highest {} ({}): new ids are only handed out from there up; pin an unused id with `{}:` on the host",
                        def.field, path.display(), def.what, def.max, def.field
                    ))
                } else {
                    Some(format!(
                        "new ids go above the highest {} ever used, pinned or retired (`ids.{}` in {}), which is {}; pin an unused id with `{}:` on the host",
                        def.field, def.field, path.display(), def.max, def.field
                    ))
                };
                exhausted = true;
                let mut d = Diagnostic::error(
                    &inv.path,
                    h.role_pos(role.name),
                    format!("hosts[{}].roles", h.index),
                    format!(
                        "no {} left for `{}`: the next free id {cursor} is above {}",
                        def.what, h.name, def.max
                    ),
                );
                d.help = help;
                diags.push(d);
                continue;
            }
            let id = cursor as u64;
            changes.push(format!("assigned {} {id} to {}", def.field, h.name));
            table.hosts.insert(h.name.clone(), id);
            owner.insert(id, h.name.clone());
            assigned.insert(h.name.clone(), id);
            high = cursor + 1;
        }
        let used_above = table
            .hosts
            .values()
            .chain(table.retired.values())
            .copied()
            .max()
            .map_or(0, |m| m.saturating_add(1));
        table.next = table
            .next
            .max(u64::try_from(high).unwrap_or(u64::MAX))
            .max(used_above);
        if table.hosts.is_empty() && table.retired.is_empty() {
            lock.ids.remove(def.field);
        }
        ids.insert(def.field.to_string(), assigned);
    }
    let state = match &existing {
        Some(old) if *old == lock => LockState::Unchanged,
        Some(_) => LockState::Updated,
        None if lock.ids.is_empty() && lock.cluster_ids.is_empty() => LockState::NotNeeded,
        None => LockState::Created,
    };
    Resolved {
        ids,
        lock,
        state,
        path,
        diagnostics: diags,
        changes,
    }
}

/// The lock file's text: stable order, a header saying what it is.
pub fn render(lock: &LockFile, inventory: &Path) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# stackctl lock file for {}: stable ZooKeeper myid and Kafka broker.id.\n\
         # Commit it with the inventory. stackctl never changes an assignment; ids of removed hosts\n\
         # are retired and never reused. Pin an id with `zookeeper_id:`/`broker_id:` on the host.\n",
        inventory.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
    ));
    s.push_str(&format!(
        "version: {}\ncluster: {}\nids:\n",
        lock.version,
        yaml_str(&lock.cluster)
    ));
    if lock.ids.is_empty() {
        s.truncate(s.len() - 1);
        s.push_str(" {}\n");
    }
    for (field, t) in &lock.ids {
        s.push_str(&format!("  {field}:\n    next: {}\n", t.next));
        for (name, map) in [("hosts", &t.hosts), ("retired", &t.retired)] {
            if map.is_empty() {
                s.push_str(&format!("    {name}: {{}}\n"));
                continue;
            }
            s.push_str(&format!("    {name}:\n"));
            for (h, id) in map {
                s.push_str(&format!("      {}: {id}\n", yaml_str(h)));
            }
        }
    }
    if !lock.cluster_ids.is_empty() {
        s.push_str("# Each log directory is formatted with its cluster id once; never change it.\ncluster_ids:\n");
        for (c, id) in &lock.cluster_ids {
            s.push_str(&format!("  {c}: {}\n", yaml_str(id)));
        }
    }
    s
}

fn yaml_str(s: &str) -> String {
    // Host and cluster names are validated to [A-Za-z0-9._-]; quote anything YAML could misread.
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && s.parse::<f64>().is_err()
        && !["true", "false", "null", "yes", "no", "on", "off", "~"]
            .contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Writes the lock atomically (temp file + rename) so an interrupted run never leaves half a lock.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("lock.tmp.{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
