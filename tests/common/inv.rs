//! Test inventories and CLI runs as builders, so a test reads as its spec (just's
//! `Test::new().arg(..).stdout(..)` style). `Inventory` writes readable block YAML with every
//! string double-quoted and escaped, so paths and values full of quotes, `$(...)`, backticks and
//! `;` reach stackctl exactly as written; `Run` runs the binary and checks its exit code and
//! output, printing both streams whenever a check fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

/// One YAML scalar, already written out: strings double-quoted, numbers and booleans plain
/// (so a value can be given with the type a hand-written inventory would give it).
#[derive(Clone, Debug)]
pub struct Scalar(String);

impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Scalar(quote(s))
    }
}

impl From<String> for Scalar {
    fn from(s: String) -> Self {
        Scalar(quote(&s))
    }
}

impl From<&String> for Scalar {
    fn from(s: &String) -> Self {
        Scalar(quote(s))
    }
}

macro_rules! plain_scalar {
    ($($t:ty),*) => {$(
        impl From<$t> for Scalar {
            fn from(v: $t) -> Self {
                Scalar(v.to_string())
            }
        }
    )*};
}
plain_scalar!(u16, u32, u64, usize, i32, i64, bool);

/// A double-quoted YAML scalar that reads back as exactly `s`: only `\` and `"` need escaping,
/// plus anything YAML would otherwise fold or refuse (line breaks, control characters, BOM).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                write!(out, "\\u{:04x}", c as u32).unwrap()
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A mapping key or role name: plain when it is a simple name YAML cannot read as anything
/// else (`num.partitions`, `hbase-master`), double-quoted otherwise.
fn key(s: &str) -> String {
    let simple = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !["null", "true", "false", "yes", "no", "on", "off", "y", "n"]
            .contains(&s.to_ascii_lowercase().as_str());
    if simple {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Ordered `key: value` pairs; setting a key again replaces its value in place.
#[derive(Clone, Debug, Default)]
struct Fields(Vec<(String, Scalar)>);

impl Fields {
    fn set(&mut self, k: &str, v: Scalar) {
        match self.0.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k.to_string(), v)),
        }
    }

    fn write(&self, out: &mut String, indent: &str) {
        for (k, v) in &self.0 {
            writeln!(out, "{indent}{}: {}", key(k), v.0).unwrap();
        }
    }
}

#[derive(Clone, Debug)]
struct Component {
    name: String,
    settings: Fields,
    /// Property mappings by setting name: `config`, or Hadoop's `core-site`, `yarn-site`, ...
    maps: Vec<(String, Fields)>,
}

/// A host entry: name, address, roles, and any per-host override or pinned id.
#[derive(Clone, Debug)]
pub struct Host {
    name: String,
    address: String,
    roles: Vec<String>,
    settings: Fields,
}

impl Host {
    pub fn new(name: &str, address: &str, roles: &[&str]) -> Host {
        Host {
            name: name.to_string(),
            address: address.to_string(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            settings: Fields::default(),
        }
    }

    /// Any host field, e.g. `ssh_port`, `install_dir`.
    pub fn set(mut self, k: &str, v: impl Into<Scalar>) -> Host {
        self.settings.set(k, v.into());
        self
    }

    pub fn java_home(self, path: &str) -> Host {
        self.set("java_home", path)
    }

    pub fn java_version(self, v: &str) -> Host {
        self.set("java_version", v)
    }

    pub fn zookeeper_id(self, id: u64) -> Host {
        self.set("zookeeper_id", id)
    }

    pub fn broker_id(self, id: u64) -> Host {
        self.set("broker_id", id)
    }
}

/// An inventory under construction. `component(..)` opens a component section; `scala`,
/// `archive`, `heap`, `config` and `setting` apply to the component opened last.
#[derive(Clone, Debug)]
pub struct Inventory {
    cluster: String,
    defaults: Fields,
    components: Vec<Component>,
    hosts: Vec<Host>,
}

impl Inventory {
    pub fn new(cluster: &str) -> Inventory {
        Inventory {
            cluster: cluster.to_string(),
            defaults: Fields::default(),
            components: Vec::new(),
            hosts: Vec::new(),
        }
    }

    // ---- defaults: every host inherits these

    /// Any field of `defaults:`.
    pub fn default(mut self, k: &str, v: impl Into<Scalar>) -> Inventory {
        self.defaults.set(k, v.into());
        self
    }

    pub fn ssh_user(self, user: &str) -> Inventory {
        self.default("ssh_user", user)
    }

    pub fn java_home(self, path: &str) -> Inventory {
        self.default("java_home", path)
    }

    pub fn java_version(self, v: &str) -> Inventory {
        self.default("java_version", v)
    }

    pub fn install_dir(self, path: &str) -> Inventory {
        self.default("install_dir", path)
    }

    pub fn data_dir(self, path: &str) -> Inventory {
        self.default("data_dir", path)
    }

    pub fn log_dir(self, path: &str) -> Inventory {
        self.default("log_dir", path)
    }

    // ---- components

    /// Opens the section of component `name`; the version is always quoted, as stackctl asks.
    pub fn component(mut self, name: &str, version: &str) -> Inventory {
        let mut settings = Fields::default();
        settings.set("version", version.into());
        self.components.push(Component {
            name: name.to_string(),
            settings,
            maps: Vec::new(),
        });
        self
    }

    fn last(&mut self, what: &str) -> &mut Component {
        self.components
            .last_mut()
            .unwrap_or_else(|| panic!("`.{what}(..)` needs a `.component(..)` before it"))
    }

    /// Any setting of the component opened last.
    pub fn setting(mut self, k: &str, v: impl Into<Scalar>) -> Inventory {
        self.last(k).settings.set(k, v.into());
        self
    }

    pub fn scala(self, v: &str) -> Inventory {
        self.setting("scala", v)
    }

    pub fn archive(self, path: impl AsRef<Path>) -> Inventory {
        let p = path.as_ref();
        let p = p
            .to_str()
            .unwrap_or_else(|| panic!("archive path {} is not UTF-8", p.display()))
            .to_string();
        self.setting("archive", p)
    }

    pub fn heap(self, v: &str) -> Inventory {
        self.setting("heap", v)
    }

    /// One property of the component opened last (its `config:` mapping).
    pub fn config(self, k: &str, v: impl Into<Scalar>) -> Inventory {
        self.map("config", k, v)
    }

    /// One property of a named mapping of the component opened last (`yarn-site`, ...).
    pub fn map(mut self, map: &str, k: &str, v: impl Into<Scalar>) -> Inventory {
        let c = self.last(map);
        if !c.maps.iter().any(|(m, _)| m == map) {
            c.maps.push((map.to_string(), Fields::default()));
        }
        let fields = &mut c.maps.iter_mut().find(|(m, _)| m == map).expect("added").1;
        fields.set(k, v.into());
        self
    }

    // ---- hosts

    pub fn host(self, name: &str, address: &str, roles: &[&str]) -> Inventory {
        self.host_with(Host::new(name, address, roles))
    }

    /// A host with overrides or pinned ids: `.host_with(Host::new(..).java_home(..))`.
    pub fn host_with(mut self, h: Host) -> Inventory {
        self.hosts.push(h);
        self
    }

    /// One host per `(name, address)`, all with the same roles.
    pub fn hosts(self, hosts: &[(&str, &str)], roles: &[&str]) -> Inventory {
        hosts
            .iter()
            .fold(self, |inv, (name, address)| inv.host(name, address, roles))
    }

    // ---- output

    pub fn yaml(&self) -> String {
        let mut out = String::new();
        writeln!(out, "cluster: {}", quote(&self.cluster)).unwrap();
        if !self.defaults.0.is_empty() {
            out.push_str("defaults:\n");
            self.defaults.write(&mut out, "  ");
        }
        if !self.components.is_empty() {
            out.push_str("components:\n");
            for c in &self.components {
                writeln!(out, "  {}:", key(&c.name)).unwrap();
                c.settings.write(&mut out, "    ");
                for (map, fields) in &c.maps {
                    writeln!(out, "    {}:", key(map)).unwrap();
                    fields.write(&mut out, "      ");
                }
            }
        }
        if self.hosts.is_empty() {
            out.push_str("hosts: []\n");
        } else {
            out.push_str("hosts:\n");
        }
        for h in &self.hosts {
            writeln!(out, "  - name: {}", quote(&h.name)).unwrap();
            writeln!(out, "    address: {}", quote(&h.address)).unwrap();
            let roles: Vec<String> = h.roles.iter().map(|r| key(r)).collect();
            writeln!(out, "    roles: [{}]", roles.join(", ")).unwrap();
            h.settings.write(&mut out, "    ");
        }
        out
    }

    /// Writes `DIR/<cluster>.yml` (so inventories of different clusters in one directory never
    /// share a lock file) and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        self.write_to(&dir.join(format!("{}.yml", self.cluster)))
    }

    pub fn write_to(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.yaml())
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path.to_path_buf()
    }

    /// `inventory.yml` in a fresh temporary directory (kept while the `TempDir` lives).
    pub fn temp(&self) -> (tempfile::TempDir, PathBuf) {
        super::inventory(&self.yaml())
    }
}

/// The 1-based number of the one line of `text` containing `needle`, for checking the
/// `file:line:` a diagnostic points at. Panics unless exactly one line matches.
pub fn line_of(text: &str, needle: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "`{needle}` should be on exactly one line of:\n{text}"
    );
    hits[0]
}

/// A stackctl command line, run from the repository root without colour.
#[derive(Clone, Debug)]
pub struct Run {
    args: Vec<String>,
}

impl Run {
    pub fn new(args: &[&str]) -> Run {
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    pub fn arg(mut self, a: impl AsRef<Path>) -> Run {
        let a = a.as_ref();
        self.args.push(
            a.to_str()
                .unwrap_or_else(|| panic!("argument {} is not UTF-8", a.display()))
                .to_string(),
        );
        self
    }

    /// `-i PATH`.
    pub fn inventory(self, path: impl AsRef<Path>) -> Run {
        self.arg("-i").arg(path)
    }

    /// Runs it, whatever the exit code.
    pub fn run(self) -> Ran {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Ran {
            cmd: format!("stackctl {}", self.args.join(" ")),
            out: super::stackctl(&args),
        }
    }

    /// Runs it and checks the exit code.
    pub fn code(self, want: i32) -> Ran {
        let ran = self.run();
        assert_eq!(
            ran.out.status.code(),
            Some(want),
            "{}: exit code\n{}",
            ran.cmd,
            ran.both()
        );
        ran
    }

    /// Runs it and checks that it succeeded.
    pub fn ok(self) -> Ran {
        self.code(0)
    }
}

/// A finished run: checks on its output, each printing the whole output when it fails.
pub struct Ran {
    cmd: String,
    pub out: Output,
}

impl Ran {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn both(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout(), self.stderr())
    }

    pub fn stdout_has(&self, needle: &str) -> &Ran {
        assert!(
            self.stdout().contains(needle),
            "{}: missing `{needle}` on stdout\n{}",
            self.cmd,
            self.both()
        );
        self
    }

    pub fn stdout_lacks(&self, needle: &str) -> &Ran {
        assert!(
            !self.stdout().contains(needle),
            "{}: unexpected `{needle}` on stdout\n{}",
            self.cmd,
            self.both()
        );
        self
    }

    pub fn stderr_has(&self, needle: &str) -> &Ran {
        assert!(
            self.stderr().contains(needle),
            "{}: missing `{needle}` on stderr\n{}",
            self.cmd,
            self.both()
        );
        self
    }

    /// stdout as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("{}: stdout is not JSON ({e})\n{}", self.cmd, self.both()))
    }
}
