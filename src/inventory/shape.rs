//! The inventory's shape checked by hand, to report every shape mistake at once.
//!
//! serde stops at the first field of the wrong shape; an operator with five mistakes would fix
//! them over five runs. When serde fails, the inventory is read again as a generic tree
//! (`Node`, positions on every value) and converted here: each mistake becomes a diagnostic in
//! inventory words (what is wrong, at its line, and what to write instead), and what is sound
//! becomes a `RawInventory` that the usual validation checks further. A host whose own shape is
//! wrong is left out of that validation, so its mistakes are not reported twice.

use std::path::Path;

use serde_saphyr::{Location, Spanned};

use super::raw::{pos, Node, Pairs, RawHost, RawInventory, RawSettings, Scalar, S};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Pos};

pub const TOP_KEYS: &[&str] = &[
    "cluster",
    "defaults",
    "components",
    "secret_keys",
    "mirror",
    "hosts",
];
pub const SETTING_KEYS: &[&str] = &[
    "ssh_user",
    "ssh_port",
    "ssh_host",
    "probe",
    "java_home",
    "java_version",
    "install_dir",
    "data_dir",
    "log_dir",
    "become",
    "create_users",
];
/// The fields only a host has; a host also takes every setting ([`SETTING_KEYS`]).
pub const HOST_ONLY_KEYS: &[&str] = &[
    "name",
    "address",
    "roles",
    "zookeeper_id",
    "broker_id",
    "controller_id",
];

/// Every field a host accepts, in the order messages list them.
fn host_keys() -> impl Iterator<Item = &'static str> {
    HOST_ONLY_KEYS.iter().chain(SETTING_KEYS).copied()
}

/// What the conversion found: the sound part, and fields whose later checks would only repeat
/// a shape mistake already reported (`cluster` when it is missing, `hosts[2]` when left out).
pub struct Shaped {
    pub raw: RawInventory,
    pub poisoned: Vec<String>,
}

struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    diags: &'a mut Diagnostics,
}

impl Cx<'_> {
    fn error(&mut self, at: Pos, field: &str, msg: String, help: Option<String>) {
        let mut d = Diagnostic::error(self.path, at, field, msg);
        d.help = help;
        self.diags.push(d);
    }
}

fn spanned<T>(value: T, like: &S<Node>) -> S<T> {
    Spanned::new(value, like.referenced, like.defined)
}

fn scalar_text(n: &Node) -> Option<&str> {
    match n {
        Node::Scalar(s) | Node::Float(s) => Some(s),
        _ => None,
    }
}

/// Converts the generic tree; `None` when not even the top level is an inventory.
pub fn convert(path: &Path, text: &str, root: S<Node>, diags: &mut Diagnostics) -> Option<Shaped> {
    let mut cx = Cx { path, text, diags };
    let root_pos = pos(&root);
    let entries = match root.value {
        Node::Map(e) => e,
        other => {
            cx.error(
                root_pos,
                "",
                format!(
                    "the inventory must be a mapping of `cluster:`, `components:` and `hosts:`, found {}",
                    other.kind()
                ),
                Some("see inventories/ for complete examples".into()),
            );
            return None;
        }
    };
    let mut poisoned = Vec::new();
    let mut cluster = None;
    let mut defaults = None;
    let mut components = None;
    let mut hosts: Option<S<Vec<S<RawHost>>>> = None;
    let mut host_index = Vec::new();
    let mut secret_keys = None;
    let mut mirror = None;
    let mut unknown: Vec<(S<String>, S<Node>)> = Vec::new();
    for (k, v) in entries {
        match k.value.as_str() {
            "cluster" => match scalar_text(&v.value) {
                Some(s) => cluster = Some(spanned(s.to_string(), &v)),
                None => {
                    cx.error(
                        pos(&v),
                        "cluster",
                        format!("`cluster` must be a name, found {}", v.value.kind()),
                        Some("write `cluster: NAME` (letters, digits, `.`, `_` and `-`)".into()),
                    );
                    poisoned.push("cluster".into());
                }
            },
            "defaults" => {
                let at = pos(&v);
                let like = Spanned::new(Node::Null, v.referenced, v.defined);
                match v.value {
                    Node::Map(e) => {
                        let before = cx.diags.0.len();
                        defaults = Some(spanned(settings(&mut cx, "defaults", e).0, &like));
                        // A default of the wrong shape is missing on every host that inherits
                        // it: `*.java_home` keeps "host `a` has no java_home" from echoing it.
                        for d in &cx.diags.0[before..] {
                            if let Some(key) = d.field.strip_prefix("defaults.") {
                                poisoned.push(format!("*.{key}"));
                            }
                        }
                    }
                    Node::Null => {}
                    other => cx.error(
                        at,
                        "defaults",
                        format!(
                            "`defaults` must be a mapping of settings, found {}",
                            other.kind()
                        ),
                        Some(format!("settings are: {}", SETTING_KEYS.join(", "))),
                    ),
                }
            }
            "components" => {
                let at = pos(&v);
                let like = Spanned::new(Node::Null, v.referenced, v.defined);
                match v.value {
                    Node::Map(e) => components = Some(spanned(Pairs(e), &like)),
                    Node::Null => {}
                    other => cx.error(
                        at,
                        "components",
                        format!("`components` must be a mapping of component: settings, found {}", other.kind()),
                        Some("write e.g. `components:` then `  zookeeper: { version: \"3.8.4\" }` on the next line".into()),
                    ),
                }
            }
            "hosts" => {
                let like = Spanned::new(Node::Null, v.referenced, v.defined);
                let at = pos(&v);
                match v.value {
                    Node::Seq(items) => {
                        let mut out = Vec::new();
                        let had = !items.is_empty();
                        for (i, item) in items.into_iter().enumerate() {
                            match host(&mut cx, i, item) {
                                Some(h) => {
                                    out.push(h);
                                    host_index.push(i);
                                }
                                None => poisoned.push(format!("hosts[{i}]")),
                            }
                        }
                        if had && out.is_empty() {
                            poisoned.push("hosts".into());
                        }
                        hosts = Some(spanned(out, &like));
                    }
                    Node::Null => hosts = Some(spanned(Vec::new(), &like)),
                    other => {
                        cx.error(
                            at,
                            "hosts",
                            format!("`hosts` must be a list of hosts, found {}", other.kind()),
                            Some("write one `- { name: node1, address: 10.0.0.1, roles: [zookeeper] }` line per host".into()),
                        );
                        poisoned.push("hosts".into());
                        hosts = Some(spanned(Vec::new(), &like));
                    }
                }
            }
            "secret_keys" => {
                let like = Spanned::new(Node::Null, v.referenced, v.defined);
                match v.value {
                    Node::Seq(items) => {
                        let keys: Vec<S<String>> = items
                            .into_iter()
                            .filter_map(|i| string(&mut cx, "secret_keys", i))
                            .collect();
                        secret_keys = Some(spanned(keys, &like));
                    }
                    Node::Null => {}
                    other => cx.error(
                        pos(&like),
                        "secret_keys",
                        format!(
                            "`secret_keys` must be a list of key patterns, found {}",
                            other.kind()
                        ),
                        Some("write `secret_keys: [\"my.app.*.token\"]`".into()),
                    ),
                }
            }
            "mirror" => mirror = string(&mut cx, "mirror", v),
            _ => unknown.push((k, v)),
        }
    }
    let missing_top: Vec<&str> = [("cluster", cluster.is_none()), ("hosts", hosts.is_none())]
        .iter()
        .filter(|(k, m)| *m && !poisoned.iter().any(|p| p == k))
        .map(|(k, _)| *k)
        .collect();
    let mut explained: Vec<&str> = Vec::new();
    for (k, _) in &unknown {
        let key = k.value.as_str();
        if cx.diags.0.iter().any(|d| d.pos == pos(k)) {
            // Already explained as a host's key that lost its indentation.
            continue;
        }
        let guess = did_you_mean(key, TOP_KEYS.iter().copied());
        let help = if HOST_ONLY_KEYS.contains(&key) {
            format!("`{key}` belongs to a host: indent it under its `- name:` entry, in the same column as `name:`")
        } else if SETTING_KEYS.contains(&key) {
            format!("`{key}` is a setting: indent it under `defaults:` or under a host")
        } else if let Some(g) = guess {
            if missing_top.contains(&g) {
                explained.push(g);
            }
            format!("did you mean `{g}`?")
        } else {
            "check the spelling; see inventories/ for every field an inventory accepts".to_string()
        };
        cx.error(
            pos(k),
            key,
            format!(
                "unknown field `{key}`, expected one of {}",
                TOP_KEYS.join(", ")
            ),
            Some(help),
        );
    }
    for key in missing_top {
        if explained.contains(&key) {
            poisoned.push(key.into());
            continue;
        }
        let help = if key == "cluster" {
            "add `cluster: NAME` at the top (letters, digits, `.`, `_` and `-`)"
        } else {
            "add `hosts:` with one `- { name: node1, address: 10.0.0.1, roles: [zookeeper] }` line per host"
        };
        cx.error(
            root_pos,
            key,
            format!("the inventory has no `{key}:`"),
            Some(help.into()),
        );
        poisoned.push(key.into());
    }
    Some(Shaped {
        raw: RawInventory {
            cluster: cluster.unwrap_or_else(|| blank(String::new())),
            defaults,
            components,
            hosts: hosts.unwrap_or_else(|| blank(Vec::new())),
            host_index,
            secret_keys,
            mirror,
        },
        poisoned,
    })
}

fn blank<T>(v: T) -> S<T> {
    Spanned::new(v, Location::UNKNOWN, Location::UNKNOWN)
}

/// A string setting: any plain value.
fn string(cx: &mut Cx, field: &str, v: S<Node>) -> Option<S<String>> {
    match &v.value {
        Node::Scalar(s) | Node::Float(s) => Some(spanned(s.clone(), &v)),
        Node::Null => None,
        other => {
            cx.error(
                pos(&v),
                field,
                format!("expected a single value, found {}", other.kind()),
                Some(list_help(other)),
            );
            None
        }
    }
}

fn list_help(n: &Node) -> String {
    match n {
        Node::Seq(_) => "remove the brackets or dashes: this field takes one value".into(),
        Node::Map(_) => {
            "this field takes one value; if the lines below belong to it, they are indented too far"
                .into()
        }
        _ => "write one plain value".into(),
    }
}

fn number(cx: &mut Cx, field: &str, v: S<Node>) -> Option<S<u64>> {
    match &v.value {
        Node::Scalar(s) => match s.trim().parse::<u64>() {
            Ok(n) => Some(spanned(n, &v)),
            Err(_) => {
                cx.error(pos(&v), field, "expected a whole number".into(), None);
                None
            }
        },
        Node::Null => None,
        other => {
            cx.error(
                pos(&v),
                field,
                format!("expected a whole number, found {}", other.kind()),
                None,
            );
            None
        }
    }
}

/// The entries of a YAML mapping, with positions.
type Entries = Vec<(S<String>, S<Node>)>;

/// The settings shared by `defaults:` and hosts; the entries that are not settings are handed
/// back.
fn settings(cx: &mut Cx, prefix: &str, entries: Entries) -> (RawSettings, Entries) {
    let mut s = RawSettings::default();
    let mut rest = Vec::new();
    for (k, v) in entries {
        let f = format!("{prefix}.{}", k.value);
        match k.value.as_str() {
            "ssh_user" => s.ssh_user = string(cx, &f, v),
            "ssh_port" => s.ssh_port = number(cx, &f, v),
            "ssh_host" => s.ssh_host = string(cx, &f, v),
            "probe" => s.probe = string(cx, &f, v),
            "java_home" => s.java_home = string(cx, &f, v),
            "java_version" => {
                s.java_version = string(cx, &f, v)
                    .map(|j| Spanned::new(Scalar(j.value), j.referenced, j.defined))
            }
            "install_dir" => s.install_dir = string(cx, &f, v),
            "data_dir" => s.data_dir = string(cx, &f, v),
            "log_dir" => s.log_dir = string(cx, &f, v),
            "become" => s.r#become = string(cx, &f, v),
            "create_users" => {
                s.create_users = string(cx, &f, v)
                    .map(|j| Spanned::new(Scalar(j.value), j.referenced, j.defined))
            }
            _ if prefix == "defaults" => {
                let key = k.value.as_str();
                let help = match did_you_mean(key, SETTING_KEYS.iter().copied()) {
                    Some(g) => format!("did you mean `{g}`?"),
                    None if HOST_ONLY_KEYS.contains(&key) => {
                        format!(
                            "`{key}` differs per host: set it on each host, not under `defaults:`"
                        )
                    }
                    None if TOP_KEYS.contains(&key) => format!(
                        "`{key}` belongs at the top of the inventory: remove its indentation"
                    ),
                    None => format!("settings are: {}", SETTING_KEYS.join(", ")),
                };
                cx.error(
                    pos(&k),
                    &f,
                    format!(
                        "unknown field `{key}`, expected one of {}",
                        SETTING_KEYS.join(", ")
                    ),
                    Some(help),
                );
            }
            _ => rest.push((k, v)),
        }
    }
    (s, rest)
}

/// One host; `None` when it cannot be validated further (its mistakes are reported).
fn host(cx: &mut Cx, i: usize, item: S<Node>) -> Option<S<RawHost>> {
    let field = format!("hosts[{i}]");
    let like = Spanned::new(Node::Null, item.referenced, item.defined);
    let at = pos(&item);
    let entries = match item.value {
        Node::Map(e) => e,
        other => {
            let found = match &other {
                Node::Scalar(s) => format!("`{s}`"),
                o => o.kind().to_string(),
            };
            cx.error(
                at,
                &field,
                format!("each host must be a mapping with `name`, `address` and `roles`, found {found}"),
                Some("write `- { name: node1, address: 10.0.0.1, roles: [zookeeper] }`, or one `key: value` per line under `- name: node1`".into()),
            );
            return None;
        }
    };
    // The column a host's keys start in: the first key's.
    let key_col = entries.first().map(|(k, _)| pos(k).column);
    let first_line = entries.first().map_or(at.line, |(k, _)| pos(k).line);
    let (settings, rest) = settings(cx, &field, entries);
    let mut name = None;
    let mut address = None;
    let mut roles = None;
    let mut ids: [Option<S<u64>>; 3] = [None, None, None];
    let mut ok = true;
    let mut unknown = Vec::new();
    for (k, v) in rest {
        let f = format!("{field}.{}", k.value);
        match k.value.as_str() {
            "name" => name = string(cx, &f, v),
            "address" => address = string(cx, &f, v),
            "roles" => {
                let vpos = pos(&v);
                match v.value {
                    Node::Seq(items) => {
                        let mut rs = Vec::new();
                        for (j, r) in items.into_iter().enumerate() {
                            match scalar_text(&r.value) {
                                Some(s) => rs.push(spanned(s.to_string(), &r)),
                                None => {
                                    cx.error(
                                        pos(&r),
                                        &format!("{f}[{j}]"),
                                        format!("a role is a name, found {}", r.value.kind()),
                                        Some("write `roles: [zookeeper, kafka]`".into()),
                                    );
                                    ok = false;
                                }
                            }
                        }
                        roles = Some(Spanned::new(rs, v.referenced, v.defined));
                    }
                    Node::Scalar(s) => {
                        cx.error(
                            vpos,
                            &f,
                            format!("`roles` must be a list, found the single value `{s}`"),
                            Some(format!(
                                "write `roles: [{s}]` (several, separated by commas: `roles: [{s}, {}]`)",
                                if s == "zookeeper" { "kafka" } else { "zookeeper" }
                            )),
                        );
                        ok = false;
                    }
                    other => {
                        cx.error(
                            vpos,
                            &f,
                            format!(
                                "`roles` must be a list of role names, found {}",
                                other.kind()
                            ),
                            Some("write `roles: [zookeeper, kafka]`".into()),
                        );
                        ok = false;
                    }
                }
            }
            "zookeeper_id" => ids[0] = number(cx, &f, v),
            "broker_id" => ids[1] = number(cx, &f, v),
            "controller_id" => ids[2] = number(cx, &f, v),
            _ => unknown.push(k),
        }
    }
    let missing: Vec<&str> = [
        ("name", name.is_none()),
        ("address", address.is_none()),
        ("roles", roles.is_none() && ok),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| *k)
    .collect();
    let mut explained = Vec::new();
    for k in unknown {
        let key = k.value.as_str();
        let guess = did_you_mean(key, host_keys());
        if let Some(g) = guess.filter(|g| missing.contains(g)) {
            explained.push(g);
        }
        let help = match guess {
            Some(g) => format!("did you mean `{g}`?"),
            None if TOP_KEYS.contains(&key) => {
                format!("`{key}` belongs at the top of the inventory: remove its indentation")
            }
            None => "check the spelling; see inventories/ for every field an inventory accepts"
                .to_string(),
        };
        cx.error(
            pos(&k),
            &format!("{field}.{key}"),
            format!(
                "unknown field `{key}`, expected one of {}",
                host_keys().collect::<Vec<_>>().join(", ")
            ),
            Some(help),
        );
        ok = false;
    }
    for key in missing {
        ok = false;
        if explained.contains(&key) {
            continue;
        }
        // A key written with the wrong indentation is no longer this host's: say where it is.
        let stray = stray_key(cx.text, key, first_line);
        let who = name
            .as_ref()
            .map_or(String::new(), |n| format!(" `{}`", n.value));
        match (stray, key_col) {
            (Some((line, col)), Some(kc)) if col != kc => cx.error(
                Pos::new(line, col),
                &format!("{field}.{key}"),
                format!(
                    "`{key}:` is indented differently from the other keys of host{who} (column {col}, they start at column {kc}), so YAML does not read it as part of the host"
                ),
                Some(format!("move `{key}:` to column {kc}, under `{}:`", first_key_name(cx.text, first_line).unwrap_or("name"))),
            ),
            _ => cx.error(
                Pos::new(first_line, key_col.unwrap_or(at.column)),
                &format!("{field}.{key}"),
                format!("host{who} has no `{key}`"),
                Some(match key {
                    "roles" => "add e.g. `roles: [zookeeper]` to the host".to_string(),
                    "address" => "add `address:` with the host's IPv4 address or host name".to_string(),
                    _ => "add `name:` with a name for the host (letters, digits, `.`, `_` and `-`)".to_string(),
                }),
            ),
        }
    }
    if !ok {
        return None;
    }
    let (name, address, roles) = (name?, address?, roles?);
    let [zookeeper_id, broker_id, controller_id] = ids;
    Some(spanned(
        RawHost {
            name,
            address,
            roles,
            zookeeper_id,
            broker_id,
            controller_id,
            ssh_user: settings.ssh_user,
            ssh_port: settings.ssh_port,
            ssh_host: settings.ssh_host,
            probe: settings.probe,
            java_home: settings.java_home,
            java_version: settings.java_version,
            install_dir: settings.install_dir,
            data_dir: settings.data_dir,
            log_dir: settings.log_dir,
            r#become: settings.r#become,
            create_users: settings.create_users,
        },
        &like,
    ))
}

/// The first `key:` line after `from` (1-based) and before the next list item at or left of
/// it: a key meant for the host that the indentation put elsewhere.
fn stray_key(text: &str, key: &str, from: u64) -> Option<(u64, u64)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = from as usize;
    for (i, l) in lines.iter().enumerate().skip(start) {
        let body = l.trim_start_matches([' ', '\t']);
        if body.starts_with("- ") {
            return None;
        }
        if body.starts_with(&format!("{key}:")) {
            let col = (l.len() - body.len()) as u64 + 1;
            return Some((i as u64 + 1, col));
        }
    }
    None
}

fn first_key_name(text: &str, line: u64) -> Option<&str> {
    let l = text.lines().nth(line.checked_sub(1)? as usize)?;
    let body = l.trim_start().trim_start_matches("- ").trim_start();
    body.split_once(':').map(|(k, _)| k.trim())
}
