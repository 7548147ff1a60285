//! ZooKeeper's live part: the quorum gate (`srvr` on every server) and `verify`'s checks
//! (server states, quorum, synced followers, ensemble, versions), probed from this machine.

use super::*;
use crate::components::core::{put_last, Live, SmokeCx};

impl ZooKeeper {
    /// `mntr` as four-letter word, or from the AdminServer (`/commands/mntr`, as `zk_<key>\t<value>`
    /// lines) when the word is refused by the whitelist and the AdminServer is on. The second
    /// value says which ("" or " (AdminServer)").
    fn mntr(
        spec: &ComponentSpec,
        h: &Host,
        t: std::time::Duration,
    ) -> anyhow::Result<(String, &'static str)> {
        let props = Self::props(spec, h);
        let word = crate::remote::zk::four_letter(
            &format!("{}:{}", h.address, Self::client_port(spec, h)),
            "mntr",
            t,
        );
        let refused = matches!(&word, Err(e) if format!("{e:#}").contains("whitelist"));
        if !refused || props.get("admin.enableServer").map(str::trim) != Some("true") {
            return word.map(|w| (w, ""));
        }
        let port = props
            .get("admin.serverPort")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or(8080);
        let v =
            crate::remote::probe::json_get(&format!("{}:{port}", h.address), "/commands/mntr", t)?;
        let lines = crate::remote::zk::mntr_from_admin(&v);
        Ok((lines, " (AdminServer)"))
    }

    /// A read-only session with the first server of the ensemble that accepts one (what Kafka's
    /// and HBase's registries are read through). The error names the last server tried.
    pub fn session(
        inv: &Inventory,
        timeout: std::time::Duration,
    ) -> anyhow::Result<crate::remote::zk::Session> {
        let spec = inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no zookeeper in the inventory"))?;
        let mut last = anyhow::anyhow!("no ZooKeeper server in the inventory");
        for h in inv.hosts_with_role(ROLE) {
            let addr = format!("{}:{}", h.address, Self::client_port(spec, h));
            match crate::remote::zk::Session::open(&addr, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = e.context(h.name.clone()),
            }
        }
        Err(last)
    }
}

impl Live for ZooKeeper {
    fn restart_order<'h>(&self, cl: &Cluster, _role: &str, hosts: Vec<&'h Host>) -> Vec<&'h Host> {
        // The leader last: every follower restart then costs no election.
        let Some(spec) = cl.inv.component(NAME) else {
            return hosts;
        };
        let leader = hosts.iter().find(|h| {
            let addr = format!("{}:{}", h.address, Self::client_port(spec, h));
            crate::remote::zk::four_letter(&addr, "srvr", PROBE_TIMEOUT)
                .and_then(|a| crate::remote::zk::parse_srvr(&a))
                .is_ok_and(|s| s.mode == "leader")
        });
        let leader = leader.map(|h| h.name.clone());
        put_last(hosts, leader.as_deref())
    }
    fn health(&self, cl: &Cluster, _role: &str, _hosts: &[&Host]) -> anyhow::Result<String> {
        let inv = cl.inv;
        // A quorum is a property of the whole ensemble, whichever hosts this stage touched.
        let spec = inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no zookeeper"))?;
        let servers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        let mut modes = Vec::new();
        for h in &servers {
            let addr = format!("{}:{}", h.address, Self::client_port(spec, h));
            let srvr = crate::remote::zk::four_letter(&addr, "srvr", PROBE_TIMEOUT)
                .and_then(|a| crate::remote::zk::parse_srvr(&a))
                .map_err(|e| anyhow::anyhow!("{}: {e:#}", h.name))?;
            modes.push((h.name.clone(), srvr.mode));
        }
        let leaders = modes.iter().filter(|(_, m)| m == "leader").count();
        let ok = if servers.len() == 1 {
            modes[0].1 == "standalone" || leaders == 1
        } else {
            leaders == 1
                && modes
                    .iter()
                    .all(|(_, m)| matches!(m.as_str(), "leader" | "follower" | "observer"))
        };
        let list = modes
            .iter()
            .map(|(h, m)| format!("{h} {m}"))
            .collect::<Vec<_>>()
            .join(", ");
        if !ok {
            anyhow::bail!("no single leader yet: {list}");
        }
        Ok(list)
    }
    fn verify(&self, cx: &VerifyCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let t = PROBE_TIMEOUT;
        let servers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        let n = servers.len();
        let mut out = Vec::new();
        let mut answers: Vec<(&Host, crate::remote::zk::Srvr)> = Vec::new();
        let addr = |h: &Host| format!("{}:{}", h.address, Self::client_port(spec, h));
        for h in &servers {
            match crate::remote::zk::four_letter(&addr(h), "srvr", t)
                .and_then(|a| crate::remote::zk::parse_srvr(&a))
            {
                Ok(s) => {
                    out.push(Check::pass(
                        &h.name,
                        ROLE,
                        "state",
                        format!("{}, zxid {}, version {}", s.mode, s.zxid, s.version),
                    ));
                    answers.push((h, s));
                }
                Err(e) => out.push(Check::fail(&h.name, ROLE, "state", format!("{e:#}"))),
            }
        }
        // Quorum: one leader, and how many more failures the ensemble survives.
        let voters: Vec<&(&Host, crate::remote::zk::Srvr)> = answers
            .iter()
            .filter(|(_, s)| matches!(s.mode.as_str(), "leader" | "follower" | "standalone"))
            .collect();
        let observers = answers.iter().filter(|(_, s)| s.mode == "observer").count();
        let leaders: Vec<&str> = answers
            .iter()
            .filter(|(_, s)| s.mode == "leader" || s.mode == "standalone")
            .map(|(h, _)| h.name.as_str())
            .collect();
        let majority = n / 2 + 1;
        let obs = if observers > 0 {
            format!(", {observers} observer(s)")
        } else {
            String::new()
        };
        match leaders.len() {
            0 => out.push(Check::fail(
                CLUSTER,
                ROLE,
                "quorum",
                format!(
                    "quorum lost: no leader; {} of {n} servers serving, a majority needs {majority}",
                    voters.len()
                ),
            )),
            1 if n > 1 && answers.iter().any(|(_, s)| s.mode == "standalone") => {
                out.push(Check::fail(
                    CLUSTER,
                    ROLE,
                    "quorum",
                    format!(
                        "{} runs standalone, but the inventory has {n} servers: it is not part of the ensemble",
                        leaders[0]
                    ),
                ))
            }
            1 if voters.len() < majority => out.push(Check::fail(
                CLUSTER,
                ROLE,
                "quorum",
                format!(
                    "quorum lost: {} still says leader, but only {} of {n} servers answer and a majority needs {majority}",
                    leaders[0],
                    voters.len()
                ),
            )),
            1 => {
                let up = voters.len();
                let spare = up.saturating_sub(majority);
                let lone = answers.iter().any(|(_, s)| s.mode == "standalone");
                let msg = format!(
                    "{} {}; {up} of {n} servers up{obs}; survives {spare} more failure{}",
                    if lone { "standalone" } else { "leader" },
                    leaders[0],
                    if spare == 1 { "" } else { "s" }
                );
                out.push(if up == n {
                    Check::pass(CLUSTER, ROLE, "quorum", msg)
                } else {
                    Check::warn(CLUSTER, ROLE, "quorum", format!("quorum holds: {msg}"))
                });
            }
            _ => out.push(Check::fail(
                CLUSTER,
                ROLE,
                "quorum",
                format!("{} servers claim to lead: {}", leaders.len(), leaders.join(", ")),
            )),
        }
        // The leader's view of its followers.
        if let (1, Some((lh, _))) = (
            leaders.len(),
            answers.iter().find(|(_, s)| s.mode == "leader"),
        ) {
            match Self::mntr(spec, lh, t) {
                Ok((m, via)) => {
                    let field = |k: &str| crate::remote::zk::mntr_field(&m, k);
                    let synced = field("zk_synced_followers").unwrap_or(0);
                    let want = n - 1;
                    let msg = format!(
                        "leader {} reports {synced} of {want} followers synced{via}",
                        lh.name
                    );
                    out.push(Check::pass_if(
                        synced >= want,
                        CLUSTER,
                        ROLE,
                        "synced followers",
                        msg,
                    ));
                }
                Err(e) => out.push(Check::fail(
                    CLUSTER,
                    ROLE,
                    "synced followers",
                    format!("{}: {e:#}", lh.name),
                )),
            }
        }
        // The ensemble each server runs with (`conf` lists it from 3.5 on) against the inventory.
        if spec.version.at_least("3.5.0") && !answers.is_empty() {
            let peer = Self::port_setting(spec, "peer_port", DEFAULT_PEER_PORT);
            let election = Self::port_setting(spec, "election_port", DEFAULT_ELECTION_PORT);
            let want: std::collections::BTreeSet<String> = servers
                .iter()
                .map(|h| {
                    format!(
                        "server.{}={}:{peer}:{election}",
                        cx.cl.id("zookeeper_id", h).unwrap_or(0),
                        h.address
                    )
                })
                .collect();
            let mut bad = Vec::new();
            for (h, srvr) in &answers {
                match crate::remote::zk::four_letter(&addr(h), "conf", t) {
                    // A lone server runs standalone (3.5+: standaloneEnabled defaults to true),
                    // and a standalone server's `conf` lists no `server.` lines at all.
                    Ok(conf)
                        if n == 1
                            && srvr.mode == "standalone"
                            && !conf.lines().any(|l| l.starts_with("server.")) => {}
                    Ok(conf) => {
                        let have: std::collections::BTreeSet<String> = conf
                            .lines()
                            .filter(|l| l.starts_with("server."))
                            .map(|l| {
                                // server.1=10.0.0.1:2888:3888:participant[;0.0.0.0:2181]
                                let l = l.split(';').next().unwrap_or(l);
                                l.trim_end_matches(":participant").to_string()
                            })
                            .collect();
                        if have != want {
                            bad.push(format!(
                                "{} runs with {}",
                                h.name,
                                have.into_iter().collect::<Vec<_>>().join(" ")
                            ));
                        }
                    }
                    Err(e) => bad.push(format!("{}: {e:#}", h.name)),
                }
            }
            if bad.is_empty() {
                out.push(Check::pass(
                    CLUSTER,
                    ROLE,
                    "ensemble",
                    format!(
                        "{} answering server(s) run with the inventory's {n}",
                        answers.len()
                    ),
                ));
            } else {
                out.push(Check::fail(
                    CLUSTER,
                    ROLE,
                    "ensemble",
                    format!(
                        "{}; the inventory says {}",
                        bad.join("; "),
                        want.into_iter().collect::<Vec<_>>().join(" ")
                    ),
                ));
            }
        }
        // One version, the inventory's.
        let mut by_version: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (h, s) in &answers {
            by_version
                .entry(s.version.as_str())
                .or_default()
                .push(h.name.as_str());
        }
        if let Some((v, _)) = by_version.iter().max_by_key(|(_, hs)| hs.len()) {
            if let Ok(v) = crate::version::Version::parse(v) {
                cx.report_version(NAME, v);
            }
        }
        let list = by_version
            .iter()
            .map(|(v, hs)| format!("{v} on {}", hs.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        if by_version.len() == 1 && by_version.contains_key(spec.version.raw.as_str()) {
            out.push(Check::pass(
                CLUSTER,
                ROLE,
                "versions",
                format!("all answering servers run {}", spec.version),
            ));
        } else if !by_version.is_empty() {
            out.push(Check::fail(
                CLUSTER,
                ROLE,
                "versions",
                format!("servers run {list}; the inventory says {}", spec.version),
            ));
        }
        out
    }
    fn states(
        &self,
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        Self::server_states(cl, timeout)
    }
    fn smoke(&self, cx: &SmokeCx) -> Vec<Check> {
        Self::smoke_round_trip(cx)
    }
}

impl ZooKeeper {
    /// `verify --smoke`: an ephemeral znode `/<tag>` with fresh data, created through the first
    /// server that opens a session; then on every server a session of its own, `sync`, getData
    /// and compare; then the delete. One `smoke: write` check (the server written through) and
    /// one `smoke: read after sync` per server. Each round trip is bounded by `cx.timeout`.
    fn smoke_round_trip(cx: &SmokeCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let servers: Vec<&Host> = inv
            .hosts_with_role(ROLE)
            .filter(|h| cx.reachable(h))
            .collect();
        let addr = |h: &Host| format!("{}:{}", h.address, Self::client_port(spec, h));
        let path = format!("/{}", cx.tag);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let data = format!("stackctl smoke {} {nanos:x}", cx.tag).into_bytes();
        let mut out = Vec::new();
        // The write: the first server that takes it.
        let mut writer: Option<(&Host, crate::remote::zk::Session)> = None;
        let mut refused = Vec::new();
        for h in &servers {
            let t0 = std::time::Instant::now();
            let made = crate::remote::zk::Session::open(&addr(h), cx.timeout).and_then(|mut s| {
                s.set_timeout(cx.timeout.saturating_sub(t0.elapsed()).max(MIN_STEP));
                match s.create(&path, &data, true) {
                    Ok(_) => Ok(s),
                    Err(e) => {
                        s.close();
                        Err(e)
                    }
                }
            });
            match made {
                Ok(s) => {
                    writer = Some((h, s));
                    break;
                }
                Err(e) => refused.push(format!("{}: {e:#}", h.name)),
            }
        }
        let Some((wh, mut ws)) = writer else {
            out.push(Check::fail(
                CLUSTER,
                ROLE,
                "smoke: write",
                format!(
                    "no server created {path}: {}",
                    if refused.is_empty() {
                        "no reachable server".to_string()
                    } else {
                        refused.join("; ")
                    }
                ),
            ));
            return out;
        };
        let before = if refused.is_empty() {
            String::new()
        } else {
            format!(" (refused first: {})", refused.join("; "))
        };
        // The reads: every server, each in a session of its own, after a sync.
        for h in &servers {
            let t0 = std::time::Instant::now();
            let read = crate::remote::zk::Session::open(&addr(h), cx.timeout).and_then(|mut s| {
                s.set_timeout(cx.timeout.saturating_sub(t0.elapsed()).max(MIN_STEP));
                let got = s.sync(&path).and_then(|_| s.data(&path));
                s.close();
                got
            });
            out.push(match read {
                Ok(Some(d)) if d == data => Check::pass(
                    &h.name,
                    ROLE,
                    "smoke: read after sync",
                    format!(
                        "{path} ({} bytes) written through {} read back after sync in {} ms",
                        d.len(),
                        wh.name,
                        t0.elapsed().as_millis()
                    ),
                ),
                Ok(Some(d)) => Check::fail(
                    &h.name,
                    ROLE,
                    "smoke: read after sync",
                    format!(
                        "{path} written through {} reads back different data after sync: {:?}, not {:?}",
                        wh.name,
                        String::from_utf8_lossy(&d),
                        String::from_utf8_lossy(&data)
                    ),
                ),
                Ok(None) => Check::fail(
                    &h.name,
                    ROLE,
                    "smoke: read after sync",
                    format!("{path} written through {} is missing after sync", wh.name),
                ),
                Err(e) => Check::fail(
                    &h.name,
                    ROLE,
                    "smoke: read after sync",
                    format!("{}: {e:#}", addr(h)),
                ),
            });
        }
        // The clean-up: delete, then close (an ephemeral node also goes with its session).
        ws.set_timeout(cx.timeout);
        let deleted = ws.delete(&path);
        ws.close();
        out.push(match deleted {
            Ok(_) => Check::pass(
                &wh.name,
                ROLE,
                "smoke: write",
                format!(
                    "created ephemeral {path} ({} bytes) through {}, deleted it after the reads{before}",
                    data.len(),
                    addr(wh)
                ),
            ),
            Err(e) => Check::fail(
                &wh.name,
                ROLE,
                "smoke: write",
                format!(
                    "created ephemeral {path} through {}, but cannot delete it: {e:#}; left: {path} until its session expires",
                    addr(wh)
                ),
            ),
        });
        out
    }
}

/// The least time a smoke step gets, however little of the round trip's bound is left.
const MIN_STEP: std::time::Duration = std::time::Duration::from_millis(500);

impl ZooKeeper {
    /// `status`: each server's mode as `srvr` reports it; one that does not answer, or answers
    /// "This ZooKeeper instance is not currently serving requests", is degraded.
    pub(super) fn server_states(
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        use crate::components::core::RoleState;
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let servers: Vec<&Host> = cl.inv.hosts_with_role(ROLE).collect();
        std::thread::scope(|s| {
            let asks: Vec<_> = servers
                .iter()
                .map(|h| {
                    s.spawn(move || {
                        let addr = format!("{}:{}", h.address, Self::client_port(spec, h));
                        match crate::remote::zk::four_letter(&addr, "srvr", timeout)
                            .and_then(|a| crate::remote::zk::parse_srvr(&a))
                        {
                            Ok(srvr) => RoleState::ok(&h.name, ROLE, srvr.mode),
                            Err(e) => RoleState::degraded(&h.name, ROLE, format!("{e:#}")),
                        }
                    })
                })
                .collect();
            asks.into_iter()
                .zip(&servers)
                .map(|(a, h)| {
                    a.join().unwrap_or_else(|_| {
                        RoleState::degraded(&h.name, ROLE, "the srvr probe panicked")
                    })
                })
                .collect()
        })
    }
}
