//! Preflight for production hosts: data directories that would not survive a reboot, clocks
//! too far apart for the components, open-file limits below what a component needs. Pure:
//! the hosts' facts in, findings out (errors stop `up`, warnings are printed and carried on).

use serde::Serialize;

use crate::components::{self, Cluster};
use crate::inventory::Host;
use crate::remote::facts::{HostFacts, OpenFileLimits};

/// One finding about one host (a clock finding names both hosts of the pair).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub host: String,
    /// `ephemeral-data-dir`, `clock-skew`, `open-files`.
    pub check: &'static str,
    pub level: Level,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

/// Skew above which hosts' clocks are worth a warning whatever runs on them: HBase's own
/// warning level (`hbase.master.warningclockskew`, 10000 ms by default, ServerManager). No
/// component stackctl runs fails below it: ZooKeeper and Kafka sessions time out on each
/// server's own monotonic clock, not on timestamps compared across hosts.
pub const CLOCK_WARN_NS: i128 = 10_000_000_000;

/// Kerberos' default tolerance (krb5.conf `clockskew`, 300 s): stackctl does not configure
/// Kerberos, but a cluster that uses it rejects tickets across a skew above this.
pub const KERBEROS_SKEW_NS: i128 = 300_000_000_000;

/// Every production finding about `hosts`; `allow_ephemeral` turns the data-directory
/// errors into warnings (`--allow-ephemeral`: a throwaway cluster).
pub fn check(cl: &Cluster, hosts: &[(&Host, &HostFacts)], allow_ephemeral: bool) -> Vec<Finding> {
    let mut out = ephemeral(cl, hosts, allow_ephemeral);
    out.extend(clocks(cl, hosts));
    out.extend(open_files(cl, hosts));
    out
}

/// Data directories on tmpfs/ramfs (by the filesystem the facts read) or under /tmp,
/// /var/tmp, /dev/shm (by path): one finding per host, component and inventory line.
pub fn ephemeral(cl: &Cluster, hosts: &[(&Host, &HostFacts)], allow: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for (h, f) in hosts {
        // (component, field, line) -> (dirs, what is wrong with them)
        type Group<'c> = ((&'c str, String, u64), Vec<String>, String);
        let mut groups: Vec<Group> = Vec::new();
        for d in components::state_dirs(cl, h) {
            let fs = f.fs_types.get(&d.dir);
            let in_memory = fs.and_then(|t| t.in_memory().map(|m| (m, t.on.as_str())));
            let what = match (in_memory, components::ephemeral_root(&d.dir)) {
                (Some((m, on)), _) => format!("on {m} (the filesystem of {on}): gone at reboot"),
                (None, Some((root, why))) => format!("under {root}, which is {why}"),
                (None, None) => {
                    if fs.is_none() {
                        if let Some(said) = f.fs_unread.get(&d.dir) {
                            out.push(Finding {
                                host: h.name.clone(),
                                check: "ephemeral-data-dir",
                                level: Level::Warning,
                                message: format!(
                                    "{}: cannot read the filesystem of {} ({} data): stat said `{}`",
                                    h.name,
                                    d.dir,
                                    d.component,
                                    said.escape_debug()
                                ),
                            });
                        }
                    }
                    continue;
                }
            };
            let key = (d.component, d.field.clone(), d.pos.line);
            match groups.iter_mut().find(|g| g.0 == key) {
                Some(g) => g.1.push(d.dir),
                None => groups.push((key, vec![d.dir], what)),
            }
        }
        for ((component, field, line), dirs, what) in groups {
            let origin = if field.is_empty() {
                "the built-in default".to_string()
            } else {
                format!("{field}, {}:{line}", cl.inv.path.display())
            };
            let fix = if allow {
                "allowed by --allow-ephemeral: this cluster's data is lost at the next reboot"
            } else {
                "move it to a persistent disk, or pass --allow-ephemeral if this is a throwaway cluster"
            };
            out.push(Finding {
                host: h.name.clone(),
                check: "ephemeral-data-dir",
                level: if allow { Level::Warning } else { Level::Error },
                message: format!(
                    "{}: {component} keeps its data in {} ({origin}), {what}; {fix}",
                    h.name,
                    dirs.join(", ")
                ),
            });
        }
    }
    out
}

/// What is known of a host's clock against the controller's: its offset (host minus
/// controller, ns) lies in `[lo, hi]`. The host read its clock at some instant of the round
/// trip (`sent..received` on the controller's clock) with the reading's resolution, so the
/// interval is as wide as the round trip: a skew is only ever reported when certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub lo: i128,
    pub hi: i128,
}

impl Offset {
    pub fn of(f: &HostFacts) -> Option<Offset> {
        let c = f.clock?;
        let (sent, received) = f.round_trip_ns?;
        if received < sent {
            return None;
        }
        Some(Offset {
            lo: c.ns - received,
            // The reading is the start of its resolution's step: the time was up to one step
            // later (a whole-seconds `date`), or exactly it (nanoseconds).
            hi: c.ns + (c.resolution_ns - 1) - sent,
        })
    }

    /// `self - other`: how far this clock is ahead of the other's, as an interval.
    pub fn minus(self, other: Offset) -> Offset {
        Offset {
            lo: self.lo - other.hi,
            hi: self.hi - other.lo,
        }
    }

    /// The smallest skew the interval allows (0 when it holds 0: no certain skew).
    pub fn certain(self) -> i128 {
        if self.lo > 0 {
            self.lo
        } else if self.hi < 0 {
            -self.hi
        } else {
            0
        }
    }

    /// "41.2–41.9 s ahead of" / "behind".
    fn describe(self) -> String {
        let s = |ns: i128| format!("{:.1}", ns as f64 / 1e9);
        if self.lo > 0 {
            format!("{}–{} s ahead of", s(self.lo), s(self.hi))
        } else {
            format!("{}–{} s behind", s(-self.hi), s(-self.lo))
        }
    }
}

/// Clocks compared across hosts and with the controller. A component's own limit
/// (`clock_limit`: HBase's master and RegionServers) is an error above its reject level and a
/// warning above its warning level; any other pair of hosts, and any host against this
/// machine, is a warning above [`CLOCK_WARN_NS`]. Each host appears in one pair at most per
/// level (the worst first), so one bad clock is one line, not one per other host.
pub fn clocks(cl: &Cluster, hosts: &[(&Host, &HostFacts)]) -> Vec<Finding> {
    let offsets: Vec<(&Host, Option<Offset>)> =
        hosts.iter().map(|(h, f)| (*h, Offset::of(f))).collect();
    let mut out = Vec::new();
    let mut paired: Vec<(&str, &str)> = Vec::new();
    for c in components::all()
        .iter()
        .filter(|c| cl.inv.component(c.name()).is_some())
    {
        let Some(limit) = c.clock_limit(cl) else {
            continue;
        };
        // (the second role's host, the first role's host, how far the second is ahead): the
        // first role is the reference the component compares with (HBase's master).
        let mut pairs = Vec::new();
        for (b, ob) in offsets.iter().filter(|(h, _)| h.has_role(limit.between.0)) {
            for (a, oa) in offsets.iter().filter(|(h, _)| h.has_role(limit.between.1)) {
                if let (Some(oa), Some(ob)) = (oa, ob) {
                    if a.name != b.name {
                        pairs.push((*a, *b, oa.minus(*ob)));
                    }
                }
            }
        }
        for (level, above, key) in [
            (Level::Error, limit.reject_ms, &limit.reject_key),
            (Level::Warning, limit.warn_ms, &limit.warn_key),
        ] {
            let above = above as i128 * 1_000_000;
            // Each pair once, at its highest level; the reference host may be in many.
            let fresh: Vec<_> = pairs
                .iter()
                .filter(|(a, b, _)| !paired.contains(&(a.name.as_str(), b.name.as_str())))
                .copied()
                .collect();
            let mut over: Vec<_> = fresh
                .into_iter()
                .filter(|(_, _, d)| d.certain() > above)
                .collect();
            over.sort_by_key(|(_, _, d)| std::cmp::Reverse(d.certain()));
            for (a, b, d) in over {
                paired.push((a.name.as_str(), b.name.as_str()));
                out.push(Finding {
                    host: a.name.clone(),
                    check: "clock-skew",
                    level,
                    message: format!(
                        "{}: its clock is {} {}'s, the {}'s: {} {} a skew above {} ms between them ({key}){}",
                        a.name,
                        d.describe(),
                        b.name,
                        limit.between.0,
                        c.name(),
                        if level == Level::Error { "rejects" } else { "warns about" },
                        above / 1_000_000,
                        advice(d.certain()),
                    ),
                });
            }
        }
    }
    let mut pairs = Vec::new();
    for (i, (a, oa)) in offsets.iter().enumerate() {
        for (b, ob) in offsets.iter().skip(i + 1) {
            if let (Some(oa), Some(ob)) = (oa, ob) {
                pairs.push((*a, *b, oa.minus(*ob)));
            }
        }
    }
    for (a, b, d) in worst_first(&pairs, CLOCK_WARN_NS, &mut paired) {
        out.push(Finding {
            host: a.name.clone(),
            check: "clock-skew",
            level: Level::Warning,
            message: format!(
                "{}: its clock is {} {}'s{}",
                a.name,
                d.describe(),
                b.name,
                advice(d.certain())
            ),
        });
    }
    for (h, o) in &offsets {
        if let Some(o) = o.filter(|o| o.certain() > CLOCK_WARN_NS) {
            out.push(Finding {
                host: h.name.clone(),
                check: "clock-skew",
                level: Level::Warning,
                message: format!(
                    "{}: its clock is {} this machine's{}",
                    h.name,
                    o.describe(),
                    advice(o.certain())
                ),
            });
        }
    }
    out
}

fn advice(skew: i128) -> String {
    let kerberos = if skew > KERBEROS_SKEW_NS {
        "; Kerberos, if used, rejects more than its 300 s default clockskew"
    } else {
        ""
    };
    format!("{kerberos}; synchronise the clocks (NTP, chrony)")
}

/// The pairs whose certain skew is above `above`, worst first, skipping any pair with a host
/// already named in `paired` (which the accepted ones join).
fn worst_first<'h>(
    pairs: &[(&'h Host, &'h Host, Offset)],
    above: i128,
    paired: &mut Vec<(&'h str, &'h str)>,
) -> Vec<(&'h Host, &'h Host, Offset)> {
    let mut over: Vec<_> = pairs
        .iter()
        .filter(|(_, _, d)| d.certain() > above)
        .copied()
        .collect();
    over.sort_by_key(|(_, _, d)| std::cmp::Reverse(d.certain()));
    let mut out = Vec::new();
    for (a, b, d) in over {
        let named = |n: &str| paired.iter().any(|(x, y)| *x == n || *y == n);
        if named(&a.name) || named(&b.name) {
            continue;
        }
        paired.push((a.name.as_str(), b.name.as_str()));
        out.push((a, b, d));
    }
    out
}

/// The open-file limit a daemon started from this login can reach: the shell's hard limit
/// (the launcher may raise its soft limit up to it, never past it; only root can raise a hard
/// limit, through limits.conf or a unit's LimitNOFILE=, and never above fs.nr_open). None:
/// unlimited.
pub fn reachable_open_files(l: &OpenFileLimits) -> Option<u64> {
    match (l.hard, l.nr_open) {
        (Some(h), Some(n)) => Some(h.min(n)),
        (Some(h), None) => Some(h),
        (None, n) => n,
    }
}

/// A host whose reachable open-file limit is below what a component it runs recommends: a
/// warning, not an error. None of the four refuses to start with a low limit; what fails is a
/// busy one later ("Too many open files": Kafka with many partitions, a RegionServer with
/// many regions), and how busy stackctl cannot know, so a small test cluster is not refused.
pub fn open_files(cl: &Cluster, hosts: &[(&Host, &HostFacts)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (h, f) in hosts {
        let needs: Vec<(&str, components::OpenFilesNeed)> = components::all()
            .iter()
            .filter(|c| cl.inv.component(c.name()).is_some() && h.has_component(c.name()))
            .filter_map(|c| c.open_files().map(|n| (c.name(), n)))
            .collect();
        let Some((component, need)) = needs.iter().max_by_key(|(_, n)| n.recommended).copied()
        else {
            continue;
        };
        let Some(limits) = f.nofile else {
            out.push(Finding {
                host: h.name.clone(),
                check: "open-files",
                level: Level::Warning,
                message: format!("{}: cannot read the open-file limit (ulimit -n)", h.name),
            });
            continue;
        };
        let Some(reach) = reachable_open_files(&limits) else {
            continue;
        };
        if reach >= need.recommended {
            continue;
        }
        let num = |v: Option<u64>| v.map_or("unlimited".to_string(), |n| n.to_string());
        let capped = match limits.nr_open {
            Some(n) if n < need.recommended => {
                format!("; fs.nr_open {n} caps every process, root's too: raise it with sysctl")
            }
            _ => String::new(),
        };
        out.push(Finding {
            host: h.name.clone(),
            check: "open-files",
            level: Level::Warning,
            message: format!(
                "{}: a {component} daemon can open at most {reach} files (hard limit {}, soft {}), below the {} recommended ({}); raise the hard `nofile` limit of the user the services run as (limits.conf, or LimitNOFILE= in a systemd unit){capped}",
                h.name,
                num(limits.hard),
                num(limits.soft),
                need.recommended,
                need.source,
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;
    use crate::remote::facts::{FsType, HostClock};

    const S: i128 = 1_000_000_000;

    fn inv(text: &str) -> Inventory {
        let (inv, _) = crate::inventory::load_str(
            std::path::Path::new("inv.yml"),
            text.to_string(),
            components::catalog(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        inv
    }

    const ZK_KAFKA: &str = r#"
cluster: t
defaults: { java_home: /j, java_version: "11" }
components:
  zookeeper: { version: "3.8.4", config: { dataDir: /tmp/zk } }
  kafka: { version: "2.8.2", scala: "2.13" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper, kafka], data_dir: /srv/ram }
"#;

    fn facts() -> HostFacts {
        HostFacts::default()
    }

    fn run(inv: &Inventory, facts: &[HostFacts], allow: bool) -> Vec<Finding> {
        let ids = crate::lock::Ids::default();
        let cl = Cluster::new(inv, &ids);
        let hosts: Vec<(&Host, &HostFacts)> = inv.hosts.iter().zip(facts).collect();
        check(&cl, &hosts, allow)
    }

    #[test]
    fn a_data_dir_under_tmp_or_on_tmpfs_is_refused_naming_host_component_field_and_filesystem() {
        let inv = inv(ZK_KAFKA);
        let mut b = facts();
        // b's data_dir is on tmpfs (a RAM disk mounted at /srv/ram): Kafka's log dir there.
        b.fs_types.insert(
            "/srv/ram/kafka".into(),
            FsType {
                on: "/srv/ram".into(),
                magic: Some(0x0102_1994),
                name: "tmpfs".into(),
            },
        );
        let found = run(&inv, &[facts(), b], false);
        let eph: Vec<&Finding> = found
            .iter()
            .filter(|f| f.check == "ephemeral-data-dir")
            .collect();
        assert!(eph.iter().all(|f| f.level == Level::Error), "{eph:#?}");
        let msgs: Vec<&str> = eph.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        assert!(msgs[0].starts_with("a: zookeeper keeps its data in /tmp/zk (components.zookeeper.config.dataDir, inv.yml:5), under /tmp"), "{}", msgs[0]);
        assert!(msgs[0].contains("--allow-ephemeral"), "{}", msgs[0]);
        assert!(
            msgs[1].starts_with("b: zookeeper keeps its data in /tmp/zk"),
            "{}",
            msgs[1]
        );
        assert!(
            msgs[2].starts_with("b: kafka keeps its data in /srv/ram/kafka (hosts[1].data_dir, inv.yml:9), on tmpfs (the filesystem of /srv/ram)"),
            "{}",
            msgs[2]
        );
        // --allow-ephemeral: the same findings, as warnings that say what it means.
        let allowed = run(
            &inv,
            &[facts(), {
                let mut b = facts();
                b.fs_types.insert(
                    "/srv/ram/kafka".into(),
                    FsType {
                        on: "/srv/ram".into(),
                        magic: None,
                        name: "ramfs".into(),
                    },
                );
                b
            }],
            true,
        );
        let eph: Vec<&Finding> = allowed
            .iter()
            .filter(|f| f.check == "ephemeral-data-dir")
            .collect();
        assert_eq!(eph.len(), 3);
        assert!(eph.iter().all(
            |f| f.level == Level::Warning && f.message.contains("allowed by --allow-ephemeral")
        ));
        assert!(eph[2].message.contains("on ramfs"), "{}", eph[2].message);
    }

    #[test]
    fn persistent_dirs_pass_and_an_unreadable_filesystem_is_a_warning() {
        let inv = inv(&ZK_KAFKA.replace("dataDir: /tmp/zk", "dataDir: /data/zk"));
        let mut a = facts();
        a.fs_types.insert(
            "/data/zk".into(),
            FsType {
                on: "/data".into(),
                magic: Some(0xef53),
                name: "ext2/ext3".into(),
            },
        );
        a.fs_unread
            .insert("/data/stack/kafka".into(), "stat: Permission denied".into());
        let found = run(&inv, &[a, facts()], false);
        let eph: Vec<&Finding> = found
            .iter()
            .filter(|f| f.check == "ephemeral-data-dir")
            .collect();
        assert_eq!(eph.len(), 1, "{eph:#?}");
        assert_eq!(eph[0].level, Level::Warning);
        assert!(eph[0]
            .message
            .starts_with("a: cannot read the filesystem of /data/stack/kafka"));
    }

    fn clocked(host_ns: i128, sent: i128, received: i128) -> HostFacts {
        HostFacts {
            clock: Some(HostClock {
                ns: host_ns,
                resolution_ns: 1,
            }),
            round_trip_ns: Some((sent, received)),
            ..Default::default()
        }
    }

    #[test]
    fn a_skew_is_an_interval_as_wide_as_the_round_trip_and_never_reported_when_unsure() {
        let t = 1_800_000_000 * S;
        // Read 41 s ahead over a 0.5 s round trip: 40.5..41.0 s ahead.
        let o = Offset::of(&clocked(t + 41 * S, t, t + S / 2)).unwrap();
        assert_eq!((o.lo, o.hi), (40 * S + S / 2, 41 * S));
        assert_eq!(o.describe(), "40.5–41.0 s ahead of");
        assert_eq!(o.certain(), 40 * S + S / 2);
        // A round trip longer than the apparent skew: nothing certain.
        let slow = Offset::of(&clocked(t + 11 * S, t, t + 30 * S)).unwrap();
        assert_eq!(slow.certain(), 0);
        // Whole-second readings widen it by their resolution.
        let coarse = HostFacts {
            clock: Some(HostClock {
                ns: t,
                resolution_ns: S,
            }),
            round_trip_ns: Some((t, t)),
            ..Default::default()
        };
        let c = Offset::of(&coarse).unwrap();
        assert_eq!((c.lo, c.hi), (0, S - 1));
        // Between two hosts: the difference of the intervals.
        let b = Offset::of(&clocked(t - 5 * S, t, t + S / 2)).unwrap();
        let d = o.minus(b);
        assert_eq!((d.lo, d.hi), (45 * S + S / 2, 46 * S + S / 2));
        assert_eq!(b.minus(o).certain(), 45 * S + S / 2);
        // A clock that went backwards around the read, or no reading: unknown.
        assert!(Offset::of(&clocked(t, t + 1, t)).is_none());
        assert!(Offset::of(&facts()).is_none());
    }

    const HBASE: &str = r#"
cluster: t
defaults: { java_home: /j, java_version: "11" }
components:
  zookeeper: { version: "3.8.4" }
  hadoop: { version: "3.3.6" }
  hbase: { version: "2.5.10", config: { hbase.master.maxclockskew: "20000" } }
hosts:
  - { name: m, address: 10.0.0.1, roles: [zookeeper, namenode, hbase-master] }
  - { name: r1, address: 10.0.0.2, roles: [zookeeper, datanode, hbase-regionserver] }
  - { name: r2, address: 10.0.0.3, roles: [zookeeper, datanode, hbase-regionserver] }
  - { name: r3, address: 10.0.0.4, roles: [zookeeper, datanode, hbase-regionserver] }
"#;

    #[test]
    fn hbase_rejects_a_regionserver_whose_clock_is_past_its_limit_and_others_are_warnings() {
        let inv = inv(HBASE);
        let t = 1_800_000_000 * S;
        let rt = S / 10;
        let found = run(
            &inv,
            &[
                clocked(t, t, t + rt),
                // 25 s off the master: over the configured 20 s.
                clocked(t + 25 * S, t, t + rt),
                // 12 s: over HBase's warning level (10 s), under its limit.
                clocked(t - 12 * S, t, t + rt),
                // 0.05 s: within the round trip, nothing to say.
                clocked(t + S / 20, t, t + rt),
            ],
            false,
        );
        let clock: Vec<&Finding> = found.iter().filter(|f| f.check == "clock-skew").collect();
        let msgs: Vec<&str> = clock.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(clock.len(), 4, "{msgs:#?}");
        assert_eq!(
            (clock[0].level, clock[0].host.as_str()),
            (Level::Error, "r1")
        );
        assert!(
            msgs[0].starts_with("r1: its clock is 24.9–25.1 s ahead of m's, the hbase-master's: hbase rejects a skew above 20000 ms between them (hbase.master.maxclockskew); synchronise"),
            "{}",
            msgs[0]
        );
        assert_eq!(
            (clock[1].level, clock[1].host.as_str()),
            (Level::Warning, "r2")
        );
        assert!(
            msgs[1].starts_with("r2: its clock is 11.9–12.1 s behind m's, the hbase-master's: hbase warns about a skew above 10000 ms between them (hbase.master.warningclockskew)"),
            "{}",
            msgs[1]
        );
        // Against this machine (whose clock the master shares here): which clocks are off.
        assert!(
            msgs[2].starts_with("r1: its clock is 24.9–25.0 s ahead of this machine's"),
            "{}",
            msgs[2]
        );
        assert!(
            msgs[3].starts_with("r2: its clock is 12.0–12.1 s behind this machine's"),
            "{}",
            msgs[3]
        );
        assert!(clock[2..].iter().all(|f| f.level == Level::Warning));
        // The same clocks without HBase: warnings only, one line for the one bad clock.
        let inv = self::inv(ZK_KAFKA);
        let found = run(
            &inv,
            &[clocked(t, t, t + rt), clocked(t + 400 * S, t, t + rt)],
            false,
        );
        let clock: Vec<&Finding> = found.iter().filter(|f| f.check == "clock-skew").collect();
        assert!(
            clock.iter().all(|f| f.level == Level::Warning),
            "{clock:#?}"
        );
        assert_eq!(
            clock.len(),
            2,
            "the pair, and b against this machine: {clock:#?}"
        );
        assert!(
            clock[0]
                .message
                .starts_with("a: its clock is 399.9–400.1 s behind b's; Kerberos"),
            "{}",
            clock[0].message
        );
        assert!(
            clock[1]
                .message
                .starts_with("b: its clock is 399.9–400.0 s ahead of this machine's"),
            "{}",
            clock[1].message
        );
    }

    #[test]
    fn an_open_file_hard_limit_below_a_components_need_is_a_warning_naming_both() {
        let inv = inv(ZK_KAFKA);
        let lim = |soft, hard, nr_open| HostFacts {
            nofile: Some(OpenFileLimits {
                soft,
                hard,
                nr_open,
                file_max: Some(1 << 20),
            }),
            ..Default::default()
        };
        let found = run(
            &inv,
            &[
                lim(Some(1024), Some(4096), Some(1_048_576)),
                lim(Some(1024), None, Some(65536)),
            ],
            false,
        );
        let of: Vec<&Finding> = found.iter().filter(|f| f.check == "open-files").collect();
        assert_eq!(of.len(), 2, "{of:#?}");
        assert!(of.iter().all(|f| f.level == Level::Warning));
        assert!(
            of[0].message.starts_with("a: a kafka daemon can open at most 4096 files (hard limit 4096, soft 1024), below the 100000 recommended"),
            "{}",
            of[0].message
        );
        // Unlimited hard limit, but fs.nr_open caps it.
        assert!(
            of[1].message.contains("at most 65536") && of[1].message.contains("fs.nr_open 65536"),
            "{}",
            of[1].message
        );
        // Enough: nothing. Not read: said so.
        let found = run(
            &inv,
            &[lim(Some(1024), Some(200_000), None), facts()],
            false,
        );
        let of: Vec<&Finding> = found.iter().filter(|f| f.check == "open-files").collect();
        assert_eq!(of.len(), 1, "{of:#?}");
        assert!(of[0]
            .message
            .starts_with("b: cannot read the open-file limit"));
        // ZooKeeper alone names no number: nothing to check.
        let zk = self::inv(
            &ZK_KAFKA
                .replace("  kafka: { version: \"2.8.2\", scala: \"2.13\" }\n", "")
                .replace(", kafka]", "]"),
        );
        assert!(
            run(&zk, &[lim(Some(1024), Some(1024), None), facts()], false)
                .iter()
                .all(|f| f.check != "open-files")
        );
    }
}
