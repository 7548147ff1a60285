//! KRaft's live part, probed from this machine with the Kafka protocol: the metadata quorum
//! (DescribeQuorum, answered by every controller on its own listener), the brokers registered
//! and unfenced (a KRaft broker's Metadata answer lists only unfenced brokers), the cluster id
//! and `metadata.version` (ApiVersions' finalized features).

use super::kraft::{Process, CONTROLLER};
use super::*;
use crate::components::core::{put_last, SmokeCx};
use crate::remote::kafka_wire::{self as wire, Quorum};

/// A voter is caught up when its log reaches the leader's high watermark. The leader appends a
/// no-op record every `metadata.max.idle.interval.ms` (500 ms), so one fetch may lag by that.
fn caught_up(q: &Quorum, leo: i64) -> bool {
    leo >= q.high_watermark
}

/// A follower or observer that has not fetched for this long is not following the metadata
/// log (a follower fetches continuously; `controller.quorum.fetch.timeout.ms` is 2 s).
const FETCH_STALE_MS: i64 = 5_000;

/// How long ago (ms, on the leader's clock) replica `id` last fetched from the leader, measured
/// against the freshest fetch of any replica (so this machine's clock does not matter); None
/// for the leader itself, a v0 answer, or an unknown time.
pub fn fetch_staleness_ms(q: &Quorum, id: i32) -> Option<i64> {
    let all = || q.voters.iter().chain(q.observers.iter());
    let ts = all().find(|r| r.id == id)?.last_fetch_timestamp;
    let now = all().map(|r| r.last_fetch_timestamp).max()?;
    (ts >= 0 && now >= 0).then(|| (now - ts).max(0))
}

/// Why a replica is not following, if it is not: behind by more than `max_lag` records past
/// the high watermark, or silent for more than FETCH_STALE_MS.
fn not_following(q: &Quorum, r: &wire::QuorumReplica, max_lag: i64) -> Option<String> {
    if let Some(ms) = fetch_staleness_ms(q, r.id).filter(|ms| *ms > FETCH_STALE_MS) {
        return Some(format!(
            "has not fetched from the leader for {:.1} s",
            ms as f64 / 1000.0
        ));
    }
    let lag = (q.high_watermark - r.log_end_offset).max(0);
    (lag > max_lag).then(|| format!("is {lag} records behind the high watermark"))
}

impl Kafka {
    /// Each controller's address, with its host and node id.
    fn controller_addrs<'h>(cl: &'h Cluster) -> Vec<(&'h Host, Option<u64>, String)> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let port = Self::controller_port(spec);
        Self::controller_hosts(cl.inv)
            .into_iter()
            .map(|h| {
                (
                    h,
                    Self::controller_node_id(cl, h),
                    format!("{}:{port}", h.address),
                )
            })
            .collect()
    }

    /// The quorum as the first controller that answers describes it.
    pub fn quorum(cl: &Cluster) -> anyhow::Result<(Quorum, String)> {
        let mut errors = Vec::new();
        for (h, _, addr) in Self::controller_addrs(cl) {
            match wire::describe_quorum(&addr, PROBE_TIMEOUT) {
                Ok(q) => return Ok((q, h.name.clone())),
                Err(e) => errors.push(format!("{} ({addr}): {e:#}", h.name)),
            }
        }
        anyhow::bail!(
            "no controller answered DescribeQuorum: {}",
            errors.join("; ")
        )
    }

    /// A leader, every controller of the inventory a voter, every voter caught up.
    fn quorum_gate(cl: &Cluster) -> anyhow::Result<String> {
        let (q, via) = Self::quorum(cl)?;
        if q.leader < 0 {
            anyhow::bail!(
                "the metadata quorum has no leader yet (epoch {}, asked {via})",
                q.epoch
            );
        }
        // A new leader knows its high watermark once a majority fetched from it.
        if q.high_watermark < 0 {
            anyhow::bail!(
                "leader {} (epoch {}) has committed nothing yet (high watermark unknown, asked {via})",
                q.leader,
                q.epoch
            );
        }
        let mut missing = Vec::new();
        let mut behind = Vec::new();
        for (h, id, _) in Self::controller_addrs(cl) {
            let Some(id) = id else { continue };
            match q.voters.iter().find(|v| v.id as u64 == id) {
                None => missing.push(format!("{id} ({})", h.name)),
                Some(v) if !caught_up(&q, v.log_end_offset) => behind.push(format!(
                    "{id} ({}) at {} of {}",
                    h.name, v.log_end_offset, q.high_watermark
                )),
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            anyhow::bail!("not voters of the metadata quorum: {}", missing.join(", "));
        }
        if !behind.is_empty() {
            anyhow::bail!("voters not caught up yet: {}", behind.join(", "));
        }
        Ok(format!(
            "leader {} (epoch {}), {} voters caught up at offset {}",
            q.leader,
            q.epoch,
            q.voters.len(),
            q.high_watermark
        ))
    }

    /// Every broker of `hosts` answers at its listener and is listed, unfenced, by the
    /// brokers' Metadata.
    fn brokers_gate(cl: &Cluster, hosts: &[&Host]) -> anyhow::Result<String> {
        let spec = cl
            .inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no kafka"))?;
        let mut listed = std::collections::BTreeSet::new();
        let mut closed = Vec::new();
        for h in cl.inv.hosts_with_role(ROLE) {
            let addr = format!("{}:{}", h.address, Self::port(spec));
            match wire::metadata(&addr, PROBE_TIMEOUT) {
                Ok(m) => listed.extend(m.brokers.iter().map(|b| b.id)),
                Err(e) if hosts.iter().any(|x| x.name == h.name) => {
                    closed.push(format!("{} ({addr}: {e:#})", h.name))
                }
                Err(_) => {}
            }
        }
        if !closed.is_empty() {
            anyhow::bail!("brokers not answering yet: {}", closed.join(", "));
        }
        let missing: Vec<String> = hosts
            .iter()
            .filter_map(|h| cl.id("broker_id", h).map(|i| (h, i)))
            .filter(|(_, i)| !listed.contains(&(*i as i32)))
            .map(|(h, i)| format!("{i} ({})", h.name))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "brokers not registered or still fenced: {}",
                missing.join(", ")
            );
        }
        Ok(format!(
            "brokers {} registered, unfenced and answering",
            listed
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    pub(super) fn kraft_health(
        cl: &Cluster,
        role: &str,
        hosts: &[&Host],
    ) -> anyhow::Result<String> {
        if role == CONTROLLER {
            Self::quorum_gate(cl)
        } else {
            Self::brokers_gate(cl, hosts)
        }
    }

    /// Controllers one at a time with the quorum leader last (it moves once); brokers in the
    /// inventory's order.
    pub(super) fn kraft_restart_order<'h>(
        cl: &Cluster,
        role: &str,
        hosts: Vec<&'h Host>,
    ) -> Vec<&'h Host> {
        if role != CONTROLLER {
            return hosts;
        }
        let leader = Self::quorum(cl).ok().map(|(q, _)| q.leader);
        let name = hosts
            .iter()
            .find(|h| {
                leader.is_some_and(|l| l >= 0 && Self::controller_node_id(cl, h) == Some(l as u64))
            })
            .map(|h| h.name.clone());
        put_last(hosts, name.as_deref())
    }

    /// After one restart: the quorum caught up (a controller), every partition in sync (a
    /// broker); a combined node must pass both.
    pub(super) fn kraft_restarted(cl: &Cluster, role: &str, host: &Host) -> anyhow::Result<String> {
        let p = Self::process_for_role(cl.inv, host, role);
        let mut out = Vec::new();
        if p.is_some_and(|p| p.is_controller()) {
            out.push(Self::quorum_gate(cl)?);
        }
        if p.is_some_and(|p| p.is_broker()) {
            out.push(Kafka.in_sync_gate(cl, ROLE, host)?);
        }
        Ok(out.join("; "))
    }

    /// `verify` in KRaft mode.
    pub(super) fn kraft_verify(cx: &VerifyCx) -> Vec<Check> {
        let cl = cx.cl;
        let inv = cl.inv;
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let mut out = Vec::new();
        let lock_cid = cl.cluster_id(NAME).unwrap_or("-").to_string();
        // The quorum: a leader, the inventory's controllers as its voters, each caught up.
        let controllers = Self::controller_addrs(cl);
        match Self::quorum(cl) {
            Err(e) => out.push(Check::fail(CLUSTER, CONTROLLER, "quorum", format!("{e:#}"))),
            Ok((q, via)) => {
                let leader = controllers
                    .iter()
                    .find(|(_, id, _)| id.is_some_and(|i| i as i64 == q.leader as i64));
                let tolerated = ZooKeeper::tolerated_failures(controllers.len());
                match leader {
                    Some((h, _, _)) => out.push(Check::pass(
                        CLUSTER,
                        CONTROLLER,
                        "quorum",
                        format!(
                            "leader {} ({}), epoch {}, high watermark {}, {} voters (tolerates {tolerated} failure{}); asked {via}",
                            q.leader,
                            h.name,
                            q.epoch,
                            q.high_watermark,
                            q.voters.len(),
                            if tolerated == 1 { "" } else { "s" }
                        ),
                    )),
                    None if q.leader < 0 => out.push(Check::fail(CLUSTER, CONTROLLER, "quorum", format!("no leader (epoch {}); asked {via}", q.epoch))),
                    None => out.push(Check::fail(CLUSTER, CONTROLLER, "quorum", format!("the leader {} is not a controller of the inventory; asked {via}", q.leader))),
                }
                for (h, id, _) in &controllers {
                    let Some(id) = id else { continue };
                    match q.voters.iter().find(|v| v.id as u64 == *id) {
                        None => out.push(Check::fail(
                            &h.name,
                            CONTROLLER,
                            "voter",
                            format!("node {id} is not a voter of the metadata quorum"),
                        )),
                        Some(v) => {
                            let lag = (q.high_watermark - v.log_end_offset).max(0);
                            let why = (v.id != q.leader)
                                .then(|| not_following(&q, v, 2))
                                .flatten();
                            out.push(Check::pass_if(
                                why.is_none(),
                                &h.name,
                                CONTROLLER,
                                "voter",
                                format!(
                                    "node {id}{}: log end offset {}, lag {lag}{}",
                                    if v.id == q.leader { " (leader)" } else { "" },
                                    v.log_end_offset,
                                    why.map(|w| format!(": {w}")).unwrap_or_default()
                                ),
                            ));
                        }
                    }
                }
                let known: Vec<i64> = controllers
                    .iter()
                    .filter_map(|(_, id, _)| id.map(|i| i as i64))
                    .collect();
                let strangers: Vec<String> = q
                    .voters
                    .iter()
                    .filter(|v| !known.contains(&(v.id as i64)))
                    .map(|v| v.id.to_string())
                    .collect();
                if !strangers.is_empty() {
                    out.push(Check::fail(
                        CLUSTER,
                        CONTROLLER,
                        "voters",
                        format!("voters not in the inventory: {}", strangers.join(", ")),
                    ));
                }
                // Brokers follow the metadata log as observers.
                for h in inv.hosts_with_role(ROLE) {
                    let Some(id) = cl.id("broker_id", h) else {
                        continue;
                    };
                    let combined =
                        Self::process_for_role(inv, h, CONTROLLER) == Some(Process::Combined);
                    let seen = q
                        .observers
                        .iter()
                        .chain(if combined { q.voters.iter() } else { [].iter() })
                        .find(|o| o.id as u64 == id);
                    match seen {
                        Some(o) if o.id != q.leader => match not_following(&q, o, 1000) {
                            None => out.push(Check::pass(&h.name, ROLE, "metadata log", format!("node {id} follows the metadata log at offset {} (lag {})", o.log_end_offset, (q.high_watermark - o.log_end_offset).max(0)))),
                            Some(why) => out.push(Check::fail(&h.name, ROLE, "metadata log", format!("node {id} {why} (offset {})", o.log_end_offset))),
                        },
                        Some(o) => out.push(Check::pass(&h.name, ROLE, "metadata log", format!("node {id} leads the metadata log at offset {}", o.log_end_offset))),
                        None => out.push(Check::fail(&h.name, ROLE, "metadata log", format!("node {id} does not follow the metadata log (no observer {id} in DescribeQuorum)"))),
                    }
                }
            }
        }
        // Each broker's Metadata: every broker of the inventory registered and unfenced, the
        // cluster id the lock file's.
        let brokers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        let want: Vec<(i32, &str)> = brokers
            .iter()
            .filter_map(|h| cl.id("broker_id", h).map(|i| (i as i32, h.name.as_str())))
            .collect();
        let mut metadata_version_from: Option<String> = None;
        for h in &brokers {
            let addr = format!("{}:{}", h.address, Self::port(spec));
            match wire::metadata(&addr, PROBE_TIMEOUT) {
                Err(e) => out.push(Check::fail(&h.name, ROLE, "registered", format!("{e:#}"))),
                Ok(m) => {
                    let (list, missing) = Self::brokers_listed(&m, &want);
                    out.push(if missing.is_empty() {
                        Check::pass(
                            &h.name,
                            ROLE,
                            "registered",
                            format!("lists unfenced brokers {list}"),
                        )
                    } else {
                        Check::fail(
                            &h.name,
                            ROLE,
                            "registered",
                            format!(
                                "lists unfenced brokers {list}; fenced or not registered: {}",
                                missing.join(", ")
                            ),
                        )
                    });
                    match &m.cluster_id {
                        Some(c) => out.push(Check::pass_if(
                            *c == lock_cid,
                            &h.name,
                            ROLE,
                            "cluster id",
                            if *c == lock_cid {
                                format!("{c} (the lock file's)")
                            } else {
                                format!("the broker reports {c}, the lock file {lock_cid}")
                            },
                        )),
                        None => {}
                    }
                    metadata_version_from.get_or_insert(addr);
                }
            }
        }
        // Every node's formatted directories carry the lock file's cluster id and its node id.
        for h in &inv.hosts {
            let Some(facts) = cx.facts.get(&h.name) else {
                continue;
            };
            for f in Self::kraft_identity_files(cl, h) {
                let role = if f.path.contains("/kafka-controller/") {
                    CONTROLLER
                } else {
                    ROLE
                };
                match facts.contents.get(&f.path).and_then(|t| (f.read)(t)) {
                    Some(have) => out.push(Check::pass_if(
                        have == f.want,
                        &h.name,
                        role,
                        "formatted",
                        if have == f.want {
                            format!("{}: {have}", f.path)
                        } else {
                            format!("{} says {have}, the lock file {}", f.path, f.want)
                        },
                    )),
                    None => out.push(Check::fail(
                        &h.name,
                        role,
                        "formatted",
                        format!("{} is missing: the directory was never formatted", f.path),
                    )),
                }
            }
        }
        // The release each node runs, as it reports it: the highest metadata.version it
        // supports names its release line (3.9.x supports up to 3.9-IV0, 4.0.x up to 4.0-IV3).
        let want_line = format!("{}.{}", spec.version.major(), spec.version.minor());
        let mut nodes: Vec<(&Host, &str, String)> = Vec::new();
        for h in &inv.hosts {
            for p in Self::processes(inv, h) {
                let port = if p == Process::Controller {
                    Self::controller_port(spec)
                } else {
                    Self::port(spec)
                };
                nodes.push((h, p.role(), format!("{}:{port}", h.address)));
            }
        }
        for (h, role, addr) in nodes {
            match wire::api_versions(&addr, PROBE_TIMEOUT) {
                Err(e) => out.push(Check::fail(&h.name, role, "version", format!("{addr}: {e:#}"))),
                Ok(a) => match a.release_line() {
                    None => out.push(Check::warn(&h.name, role, "version", format!("{addr} reports no supported metadata.version: its release is not known"))),
                    Some((m, None)) => out.push(Check::warn(&h.name, role, "version", format!("{addr} supports metadata.version up to level {m}, newer than stackctl knows (after 4.0-IV3): a release after 4.0; the inventory says {}", spec.version))),
                    Some((m, Some(line))) => out.push(Check::pass_if(
                        line == want_line,
                        &h.name,
                        role,
                        "version",
                        format!(
                            "runs a Kafka {line} release (supports metadata.version up to level {m}){} the inventory says {}",
                            if line == want_line { ";" } else { ", but" },
                            spec.version
                        ),
                    )),
                },
            }
        }
        // metadata.version: the feature level every node runs at.
        if let Some(addr) = metadata_version_from {
            match wire::api_versions(&addr, PROBE_TIMEOUT) {
                Ok(a) => match a.finalized.iter().find(|(n, _, _)| n == "metadata.version") {
                    Some((_, _, level)) => out.push(Check::pass(
                        CLUSTER,
                        ROLE,
                        "metadata.version",
                        format!("feature level {level} (finalized), asked {addr}"),
                    )),
                    None => out.push(Check::warn(
                        CLUSTER,
                        ROLE,
                        "metadata.version",
                        format!("{addr} reports no finalized metadata.version"),
                    )),
                },
                Err(e) => out.push(Check::warn(
                    CLUSTER,
                    ROLE,
                    "metadata.version",
                    format!("{addr}: {e:#}"),
                )),
            }
        }
        out
    }

    /// `verify --smoke` in KRaft mode: the deleted topic must be gone from every broker's
    /// metadata.
    pub(super) fn kraft_deletion_pending(
        cx: &SmokeCx,
        topic: &str,
        deadline: std::time::Instant,
    ) -> Result<u128, String> {
        let Some(spec) = cx.cl.inv.component(NAME) else {
            return Ok(0);
        };
        Self::wait_deleted(deadline, "the brokers' metadata", || {
            cx.cl
                .inv
                .hosts_with_role(ROLE)
                .filter(|h| cx.reachable(h))
                .filter_map(|h| {
                    let addr = format!("{}:{}", h.address, Self::port(spec));
                    match wire::Client::connect(&addr, PROBE_TIMEOUT)
                        .and_then(|mut c| c.metadata(&[topic]))
                    {
                        Ok(m) if m.partitions.iter().all(|p| p.topic != topic) => None,
                        Ok(_) => Some(format!("{} still lists it", h.name)),
                        Err(e) => Some(format!("{}: {e:#}", h.name)),
                    }
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::kafka_wire::QuorumReplica;

    fn r(id: i32, leo: i64, fetched: i64) -> QuorumReplica {
        QuorumReplica {
            id,
            log_end_offset: leo,
            last_fetch_timestamp: fetched,
            last_caught_up_timestamp: fetched,
        }
    }

    #[test]
    fn a_silent_or_lagging_voter_is_not_following() {
        let q = Quorum {
            leader: 1,
            epoch: 3,
            high_watermark: 100,
            voters: vec![r(1, 101, -1), r(2, 100, 50_000), r(3, 100, 41_000)],
            observers: vec![r(4, 99, 49_900)],
            version: 1,
        };
        assert_eq!(fetch_staleness_ms(&q, 2), Some(0));
        assert_eq!(fetch_staleness_ms(&q, 3), Some(9_000));
        assert_eq!(fetch_staleness_ms(&q, 1), None, "the leader");
        assert!(not_following(&q, &q.voters[1], 2).is_none());
        assert_eq!(
            not_following(&q, &q.voters[2], 2).as_deref(),
            Some("has not fetched from the leader for 9.0 s")
        );
        assert!(not_following(&q, &q.observers[0], 2).is_none());
        let behind = r(5, 90, 50_000);
        assert_eq!(
            not_following(&q, &behind, 2).as_deref(),
            Some("is 10 records behind the high watermark")
        );
        // v0 answers carry no timestamps: only the lag counts.
        let v0 = Quorum {
            version: 0,
            voters: vec![r(1, 100, -1), r(2, 100, -1)],
            ..q.clone()
        };
        assert_eq!(fetch_staleness_ms(&v0, 2), None);
    }
}

impl Kafka {
    /// `status`: who leads the metadata quorum (every controller is "leader" or "voter"; one
    /// that is not a voter or has gone silent is degraded) and which brokers are unfenced
    /// (a KRaft broker's Metadata answer lists only unfenced brokers). A combined node is a
    /// voter and a broker at once: its state names both.
    pub(super) fn kraft_states(
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        use crate::components::core::RoleState;
        if cl.inv.component(NAME).is_none() {
            return vec![];
        }
        let quorum = Self::quorum(cl);
        let listed = Self::listed_brokers(cl, timeout);
        let mut out = Vec::new();
        for h in &cl.inv.hosts {
            for p in Self::processes(cl.inv, h) {
                let id = Self::node_id(cl, h, p).map(|i| i as i32);
                let mut words: Vec<&str> = Vec::new();
                let mut why: Vec<String> = Vec::new();
                if p != Process::Broker {
                    match (&quorum, id) {
                        (Ok((q, _)), Some(id)) if q.leader == id => words.push("leader"),
                        (Ok((q, _)), Some(id)) => match q.voters.iter().find(|r| r.id == id) {
                            Some(r) => match not_following(q, r, 2) {
                                None => words.push("voter"),
                                Some(w) => why.push(format!("voter {id} {w}")),
                            },
                            None => why.push(format!("node {id} is not a voter of the quorum")),
                        },
                        (Err(e), _) => why.push(format!("{e:#}")),
                        (_, None) => why.push("no node id in the lock file".into()),
                    }
                }
                if p != Process::Controller {
                    match (&listed, id) {
                        (Ok(ids), Some(id)) if ids.contains(&id) => words.push("broker"),
                        (Ok(_), Some(id)) => {
                            why.push(format!("broker {id} is not registered and unfenced"))
                        }
                        (Err(e), _) => why.push(format!("{e:#}")),
                        (_, None) => why.push("no broker id in the lock file".into()),
                    }
                }
                out.push(if why.is_empty() {
                    RoleState::ok(&h.name, p.role(), words.join("+"))
                } else {
                    RoleState {
                        state: words.join("+"),
                        ..RoleState::degraded(&h.name, p.role(), why.join("; "))
                    }
                });
            }
        }
        out
    }
}
