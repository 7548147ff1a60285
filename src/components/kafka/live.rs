//! Kafka's live part: the registration gate (`/brokers/ids` in ZooKeeper) and `verify`'s checks
//! (registry, controller, Metadata from every broker, `zookeeper.connect`), probed from this machine.

use super::*;
use crate::components::core::{put_last, Live, SmokeCx};
use crate::remote::kafka_wire::{self as wire, error_text, Client};

impl Live for Kafka {
    fn restart_order<'h>(&self, cl: &Cluster, role: &str, hosts: Vec<&'h Host>) -> Vec<&'h Host> {
        if Self::kraft(cl.inv) {
            return Self::kraft_restart_order(cl, role, hosts);
        }
        // The controller last: it moves once, not with every broker.
        let controller = Self::controller(cl).ok().flatten();
        let name = hosts
            .iter()
            .find(|h| controller.is_some() && cl.id("broker_id", h) == controller)
            .map(|h| h.name.clone());
        put_last(hosts, name.as_deref())
    }

    fn restarted(&self, cl: &Cluster, role: &str, host: &Host) -> anyhow::Result<String> {
        if Self::kraft(cl.inv) {
            return Self::kraft_restarted(cl, role, host);
        }
        self.in_sync_gate(cl, role, host)
    }

    fn before_start(
        &self,
        cl: &Cluster,
        role: &str,
        hosts: &[&Host],
    ) -> anyhow::Result<Option<String>> {
        if Self::kraft(cl.inv) {
            return Ok(None);
        }
        self.zk_before_start(cl, role, hosts)
    }

    fn health(&self, cl: &Cluster, role: &str, hosts: &[&Host]) -> anyhow::Result<String> {
        if Self::kraft(cl.inv) {
            return Self::kraft_health(cl, role, hosts);
        }
        self.zk_health(cl, role, hosts)
    }

    fn verify(&self, cx: &VerifyCx) -> Vec<Check> {
        if Self::kraft(cx.cl.inv) {
            return Self::kraft_verify(cx);
        }
        self.zk_verify(cx)
    }

    fn states(
        &self,
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        if Self::kraft(cl.inv) {
            return Self::kraft_states(cl, timeout);
        }
        Self::zk_states(cl, timeout)
    }

    fn smoke(&self, cx: &SmokeCx) -> Vec<Check> {
        Self::smoke_round_trips(cx)
    }
}

impl Kafka {
    /// After a broker restarted: registered, and every partition in sync (asked of the others).
    pub(super) fn in_sync_gate(
        &self,
        cl: &Cluster,
        role: &str,
        host: &Host,
    ) -> anyhow::Result<String> {
        // Registered is not enough: the next broker may go down only once this one has caught up
        // on every partition it holds, or a partition with replicas on both would lose its ISR.
        let registered = self.health(cl, role, &[host])?;
        let spec = cl
            .inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no kafka"))?;
        // Asked of the other brokers: a broker that just started answers from an empty
        // metadata cache until the controller has sent it the cluster's state, so its own
        // "no partition lags" would mean nothing. The fullest answer is the one judged.
        let mut best: Option<crate::remote::kafka_wire::Metadata> = None;
        let mut errors = Vec::new();
        for other in cl.inv.hosts_with_role(ROLE).filter(|h| h.name != host.name) {
            let addr = format!("{}:{}", other.address, Self::port(spec));
            match crate::remote::kafka_wire::metadata_all(&addr, PROBE_TIMEOUT) {
                Ok(m)
                    if best
                        .as_ref()
                        .is_none_or(|b| m.partitions.len() > b.partitions.len()) =>
                {
                    best = Some(m)
                }
                Ok(_) => {}
                Err(e) => errors.push(format!("{}: {e:#}", other.name)),
            }
        }
        let m = match best {
            Some(m) => m,
            // A single broker: nobody else to ask, its own view is all there is.
            None if errors.is_empty() => {
                let addr = format!("{}:{}", host.address, Self::port(spec));
                crate::remote::kafka_wire::metadata_all(&addr, PROBE_TIMEOUT)?
            }
            None => anyhow::bail!(
                "no broker answered a Metadata request: {}",
                errors.join("; ")
            ),
        };
        // An answer without the controller or without every broker is a cache not yet filled.
        let missing: Vec<String> = cl
            .inv
            .hosts_with_role(ROLE)
            .filter_map(|h| cl.id("broker_id", h).map(|i| i as i32))
            .filter(|i| !m.brokers.iter().any(|b| b.id == *i))
            .map(|i| i.to_string())
            .collect();
        if m.controller < 0 || !missing.is_empty() {
            anyhow::bail!(
                "no full cluster metadata yet (controller {}, brokers missing: {})",
                m.controller,
                if missing.is_empty() {
                    "none".to_string()
                } else {
                    missing.join(", ")
                }
            );
        }
        let lagging: Vec<String> = m
            .partitions
            .iter()
            .filter(|p| p.under_replicated() || p.offline())
            .map(|p| format!("{}-{}", p.topic, p.partition))
            .collect();
        if !lagging.is_empty() {
            anyhow::bail!(
                "{} partition(s) not fully in sync yet: {}",
                lagging.len(),
                lagging
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(format!(
            "{registered}; all {} partitions in sync",
            m.partitions.len()
        ))
    }

    fn zk_before_start(
        &self,
        cl: &Cluster,
        _role: &str,
        hosts: &[&Host],
    ) -> anyhow::Result<Option<String>> {
        // A broker killed hard leaves its ephemeral `/brokers/ids/<id>` behind until ZooKeeper
        // expires its session (`zookeeper.session.timeout.ms`); a broker started before that
        // fails to register (NodeExists: the owner is another session) and exits. The broker
        // is not running (it is being started), so such a node is that dead session's.
        let inv = cl.inv;
        let Some(spec) = inv.component(NAME) else {
            return Ok(None);
        };
        let chroot = spec
            .scalar("chroot")
            .map(|c| c.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let ids: Vec<String> = hosts
            .iter()
            .filter_map(|h| cl.id("broker_id", h).map(|i| i.to_string()))
            .collect();
        let session_ms = spec
            .map("config")
            .iter()
            .find(|p| p.key == "zookeeper.session.timeout.ms")
            .and_then(|p| p.value.parse::<u64>().ok())
            .unwrap_or(if spec.version.at_least("2.5.0") {
                18_000
            } else {
                6_000
            });
        let bound =
            std::time::Duration::from_millis(session_ms) + std::time::Duration::from_secs(10);
        let started = std::time::Instant::now();
        let mut waited_for: Vec<String> = Vec::new();
        loop {
            // Unreadable registry: nothing to wait for that can be known; the gate will tell.
            let Ok(mut s) = ZooKeeper::session(inv, PROBE_TIMEOUT) else {
                return Ok(None);
            };
            let children = s.children(&format!("{chroot}/brokers/ids"));
            s.close();
            let Ok(children) = children else {
                return Ok(None);
            };
            let held: Vec<String> = children
                .unwrap_or_default()
                .into_iter()
                .filter(|c| ids.contains(c))
                .collect();
            if held.is_empty() {
                return Ok((!waited_for.is_empty()).then(|| {
                    format!(
                        "broker(s) {} were still registered by a stopped broker's ZooKeeper session: waited {:.1} s for it to expire",
                        waited_for.join(", "),
                        started.elapsed().as_secs_f64()
                    )
                }));
            }
            if started.elapsed() > bound {
                anyhow::bail!(
                    "broker(s) {} are still registered under {chroot}/brokers/ids after {} s, though not running: another process with the same broker.id holds them",
                    held.join(", "),
                    bound.as_secs()
                );
            }
            for h in held {
                if !waited_for.contains(&h) {
                    waited_for.push(h);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    fn zk_health(&self, cl: &Cluster, _role: &str, hosts: &[&Host]) -> anyhow::Result<String> {
        let inv = cl.inv;
        // Registered means an ephemeral node under <chroot>/brokers/ids per broker.
        let spec = inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no kafka"))?;
        let want: std::collections::BTreeSet<String> = hosts
            .iter()
            .filter_map(|h| cl.id("broker_id", h).map(|i| i.to_string()))
            .collect();
        let chroot = spec
            .scalar("chroot")
            .map(|c| c.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let mut s = ZooKeeper::session(inv, PROBE_TIMEOUT)?;
        let children = s.children(&format!("{chroot}/brokers/ids"));
        s.close();
        let have: std::collections::BTreeSet<String> =
            children?.unwrap_or_default().into_iter().collect();
        let missing: Vec<&str> = want.difference(&have).map(|s| s.as_str()).collect();
        if !missing.is_empty() {
            anyhow::bail!("brokers not registered yet: {}", missing.join(", "));
        }
        // Registered is not serving: from 2.8/3.x a broker registers before its acceptors open
        // (KafkaServer.startup enables request processing last), so its port may still refuse
        // connections; each broker must answer a Metadata request at its listener too.
        let mut closed = Vec::new();
        for h in hosts {
            let addr = format!("{}:{}", h.address, Self::port(spec));
            if let Err(e) = crate::remote::kafka_wire::metadata(&addr, PROBE_TIMEOUT) {
                closed.push(format!("{} ({addr}: {e:#})", h.name));
            }
        }
        if !closed.is_empty() {
            anyhow::bail!(
                "brokers registered but not answering yet: {}",
                closed.join(", ")
            );
        }
        Ok(format!(
            "brokers {} registered and answering",
            have.into_iter().collect::<Vec<_>>().join(", ")
        ))
    }
    fn zk_verify(&self, cx: &VerifyCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let (Some(spec), Some(_)) = (inv.component(NAME), inv.component(zookeeper::NAME)) else {
            return vec![];
        };
        let t = PROBE_TIMEOUT;
        let chroot = spec
            .scalar("chroot")
            .map(|c| c.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let brokers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        let id_of = |h: &Host| cx.cl.id("broker_id", h);
        let mut out = Vec::new();
        // The registry: every broker under <chroot>/brokers/ids with its endpoint, a controller.
        match ZooKeeper::session(inv, t) {
            Err(e) => out.push(Check::fail(
                CLUSTER,
                ROLE,
                "registered",
                format!("cannot read the broker registry: {e:#}"),
            )),
            Ok(mut s) => {
                for h in &brokers {
                    let Some(id) = id_of(h) else { continue };
                    let props = Self::props_with(inv, spec, h, Some(id), "");
                    // What the broker registers: advertised.listeners, else listeners.
                    let want = props
                        .get("advertised.listeners")
                        .filter(|v| !v.trim().is_empty())
                        .or_else(|| props.get("listeners"))
                        .unwrap_or_default()
                        .to_string();
                    let path = format!("{chroot}/brokers/ids/{id}");
                    match s.data(&path) {
                        Ok(Some(bytes)) => {
                            let v: serde_json::Value =
                                serde_json::from_slice(&bytes).unwrap_or_default();
                            let eps: Vec<String> = v["endpoints"]
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|e| e.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default();
                            let have = eps.join(",");
                            if !eps.is_empty()
                                && (want.is_empty()
                                    || want.split(',').all(|w| eps.iter().any(|e| e == w.trim())))
                            {
                                out.push(Check::pass(
                                    &h.name,
                                    ROLE,
                                    "registered",
                                    format!("broker {id} at {have}"),
                                ));
                            } else {
                                out.push(Check::fail(&h.name, ROLE, "registered", format!("broker {id} is registered at {have}, but the inventory gives {want}")));
                            }
                        }
                        Ok(None) => out.push(Check::fail(
                            &h.name,
                            ROLE,
                            "registered",
                            format!("broker {id} is not registered under {chroot}/brokers/ids"),
                        )),
                        Err(e) => {
                            out.push(Check::fail(&h.name, ROLE, "registered", format!("{e:#}")))
                        }
                    }
                }
                let known: std::collections::BTreeSet<String> = brokers
                    .iter()
                    .filter_map(|h| id_of(h).map(|i| i.to_string()))
                    .collect();
                if let Ok(Some(ids)) = s.children(&format!("{chroot}/brokers/ids")) {
                    let strangers: Vec<String> =
                        ids.into_iter().filter(|i| !known.contains(i)).collect();
                    if !strangers.is_empty() {
                        out.push(Check::warn(
                            CLUSTER,
                            ROLE,
                            "registered",
                            format!(
                                "brokers not in the inventory are registered: {}",
                                strangers.join(", ")
                            ),
                        ));
                    }
                }
                match s.data(&format!("{chroot}/controller")) {
                    Ok(Some(bytes)) => {
                        let v: serde_json::Value =
                            serde_json::from_slice(&bytes).unwrap_or_default();
                        let id = v["brokerid"].as_i64().unwrap_or(-1);
                        match brokers.iter().find(|h| id_of(h).map(|i| i as i64) == Some(id)) {
                            Some(h) => out.push(Check::pass(CLUSTER, ROLE, "controller", format!("broker {id} ({})", h.name))),
                            None => out.push(Check::fail(CLUSTER, ROLE, "controller", format!("{chroot}/controller names broker {id}, which is not one of the inventory's brokers"))),
                        }
                    }
                    Ok(None) => out.push(Check::fail(
                        CLUSTER,
                        ROLE,
                        "controller",
                        format!("no {chroot}/controller: no broker is the controller"),
                    )),
                    Err(e) => out.push(Check::fail(CLUSTER, ROLE, "controller", format!("{e:#}"))),
                }
                s.close();
            }
        }
        // Each broker's own view: a Metadata request lists every broker.
        let want: Vec<(i32, &str)> = brokers
            .iter()
            .filter_map(|h| id_of(h).map(|i| (i as i32, h.name.as_str())))
            .collect();
        for h in &brokers {
            let addr = format!("{}:{}", h.address, Self::port(spec));
            match crate::remote::kafka_wire::metadata(&addr, t) {
                Ok(m) => {
                    let (list, missing) = Self::brokers_listed(&m, &want);
                    if m.controller < 0 {
                        out.push(Check::fail(
                            &h.name,
                            ROLE,
                            "metadata",
                            format!("lists brokers {list} but no controller"),
                        ));
                    } else if missing.is_empty() {
                        out.push(Check::pass(
                            &h.name,
                            ROLE,
                            "metadata",
                            format!("lists brokers {list}, controller {}", m.controller),
                        ));
                    } else {
                        out.push(Check::fail(
                            &h.name,
                            ROLE,
                            "metadata",
                            format!("lists brokers {list}; missing {}", missing.join(", ")),
                        ));
                    }
                }
                Err(e) => out.push(Check::fail(&h.name, ROLE, "metadata", format!("{e:#}"))),
            }
        }
        // zookeeper.connect in each broker's server.properties names this ensemble.
        let ensemble: std::collections::BTreeSet<String> = ZooKeeper::connect_string(inv)
            .split(',')
            .map(str::to_string)
            .collect();
        for h in &brokers {
            let path = format!("{}/server.properties", conf_dir(h, NAME));
            let Some(facts) = cx.facts.get(&h.name) else {
                continue; // unreachable: said once, by verify
            };
            let Some(text) = facts.contents.get(&path) else {
                out.push(Check::fail(
                    &h.name,
                    ROLE,
                    "zookeeper.connect",
                    format!("{path} is missing"),
                ));
                continue;
            };
            let connect = properties(text)
                .get("zookeeper.connect")
                .cloned()
                .unwrap_or_default();
            let (hosts_part, root) = match connect.find('/') {
                Some(i) => (&connect[..i], connect[i..].trim_end_matches('/')),
                None => (connect.as_str(), ""),
            };
            let servers: std::collections::BTreeSet<String> = hosts_part
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if servers == ensemble && root == chroot {
                out.push(Check::pass(
                    &h.name,
                    ROLE,
                    "zookeeper.connect",
                    format!("{connect} (this ensemble)"),
                ));
            } else {
                out.push(Check::fail(
                    &h.name,
                    ROLE,
                    "zookeeper.connect",
                    format!(
                        "{path} says {connect}, but the ensemble is {}{chroot}",
                        ensemble.iter().cloned().collect::<Vec<_>>().join(",")
                    ),
                ));
            }
        }
        out
    }

    /// The broker ids a Metadata answer lists ("1, 2, 3"), and those of `want` (id, host) it
    /// does not list ("2 (host2)").
    pub(super) fn brokers_listed(
        m: &crate::remote::kafka_wire::Metadata,
        want: &[(i32, &str)],
    ) -> (String, Vec<String>) {
        let have: Vec<i32> = m.brokers.iter().map(|b| b.id).collect();
        let missing = want
            .iter()
            .filter(|(i, _)| !have.contains(i))
            .map(|(i, n)| format!("{i} ({n})"))
            .collect();
        let list = have
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        (list, missing)
    }

    /// The broker id in `<chroot>/controller`, if there is one.
    fn controller(cl: &Cluster) -> anyhow::Result<Option<u64>> {
        let spec = cl
            .inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no kafka"))?;
        let chroot = spec
            .scalar("chroot")
            .map(|c| c.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let mut s = ZooKeeper::session(cl.inv, PROBE_TIMEOUT)?;
        let data = s.data(&format!("{chroot}/controller"));
        s.close();
        Ok(data?.and_then(|bytes| {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["brokerid"].as_u64())
        }))
    }
}

/// One broker of the smoke test: its host, id and address.
struct SmokeBroker<'h> {
    host: &'h Host,
    id: i32,
    addr: String,
}

impl SmokeBroker<'_> {
    fn name(&self) -> String {
        format!("broker {} ({}, {})", self.id, self.host.name, self.addr)
    }
}

/// How long a topic's deletion may take to leave Kafka's registry after DeleteTopics answered.
/// (Under load it takes seconds, even with every broker up.)
const SMOKE_DELETION_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The pause between two tries of a step the cluster is still settling for.
const SMOKE_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

impl Kafka {
    /// `verify --smoke`: a topic named by the run's tag with one partition per broker, partition
    /// i's replicas broker i and the next ones in the inventory's order (replication factor
    /// min(3, brokers)), so that broker i leads partition i and every broker is the first
    /// replica of one; `min.insync.replicas` is the brokers' own. Per partition: its leader
    /// looked up through another broker, one record produced with acks=all to the leader, fetched
    /// back and compared. Then the topic is deleted, whatever failed before. CreateTopics and
    /// DeleteTopics go to the controller (ZooKeeper-mode brokers refuse them elsewhere).
    fn smoke_round_trips(cx: &SmokeCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        if !Self::kraft(inv) && inv.component(zookeeper::NAME).is_none() {
            return vec![];
        }
        let brokers: Vec<SmokeBroker> = inv
            .hosts_with_role(ROLE)
            .filter_map(|h| {
                Some(SmokeBroker {
                    host: h,
                    id: cx.cl.id("broker_id", h)? as i32,
                    addr: format!("{}:{}", h.address, Self::port(spec)),
                })
            })
            .collect();
        if brokers.is_empty() {
            return vec![];
        }
        let n = brokers.len();
        let rf = n.min(3);
        let assignment: Vec<Vec<i32>> = (0..n)
            .map(|i| (0..rf).map(|k| brokers[(i + k) % n].id).collect())
            .collect();
        let min_isr = Self::props_with(inv, spec, brokers[0].host, Some(brokers[0].id as u64), "")
            .get("min.insync.replicas")
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "1".to_string());
        let topic = cx.tag.clone();
        let mut out = Vec::new();

        // The topic, through the controller.
        let t0 = std::time::Instant::now();
        let deadline = t0 + cx.timeout;
        let created = Self::smoke_admin(&brokers, deadline, 30_000, |c, left| {
            let body = c.call(
                wire::API_CREATE_TOPICS,
                2,
                &wire::create_topics_body(&topic, &assignment, left),
            )?;
            let r = wire::parse_create_topics(&body)?;
            let (_, code, msg) = r
                .into_iter()
                .find(|(t, _, _)| *t == topic)
                .ok_or_else(|| anyhow::anyhow!("the answer does not name {topic}"))?;
            Ok((code, msg))
        });
        let about = format!(
            "{n} partition(s), replication factor {rf}, min.insync.replicas {min_isr} (the brokers' setting)"
        );
        let creation = match created {
            Ok(b) => {
                // The round trips, one per broker.
                for (i, b) in brokers.iter().enumerate() {
                    if !cx.reachable(b.host) {
                        continue;
                    }
                    let check = match Self::smoke_partition(cx, &brokers, i, &topic, &assignment[i])
                    {
                        Ok(ev) => Check::pass(&b.host.name, ROLE, "smoke: produce/fetch", ev),
                        Err(e) => Check::fail(
                            &b.host.name,
                            ROLE,
                            "smoke: produce/fetch",
                            format!(
                                "partition {i} of {topic} (first replica {}): {e:#}",
                                b.name()
                            ),
                        ),
                    };
                    out.push(check);
                }
                Ok(b)
            }
            Err(e) => Err(e),
        };

        // The clean-up, always (a topic whose creation failed may exist all the same).
        let deadline = std::time::Instant::now() + cx.timeout;
        // ZooKeeper-mode Kafka deletes a topic only once every broker holding a replica is up;
        // until then the request times out and the topic stays marked for deletion.
        let deleted = Self::smoke_admin(&brokers, deadline, 10_000, |c, left| {
            let body = c.call(
                wire::API_DELETE_TOPICS,
                1,
                &wire::delete_topics_body(&[&topic], left),
            )?;
            let code = wire::parse_delete_topics(&body)?
                .into_iter()
                .find(|(t, _)| *t == topic)
                .map(|(_, c)| c)
                .ok_or_else(|| anyhow::anyhow!("the answer does not name {topic}"))?;
            // Not there: nothing is left (its creation failed).
            Ok((if code == 3 { 0 } else { code }, None))
        });
        out.push(match (creation, deleted) {
            (Ok(b), Ok(d)) => match if Self::kraft(inv) {
                Self::kraft_deletion_pending(cx, &topic, deadline)
            } else {
                Self::smoke_deletion_pending(cx, spec, &topic, deadline)
            } {
                Ok(ms) => Check::pass(
                    CLUSTER,
                    ROLE,
                    "smoke: topic",
                    format!(
                        "created {topic} ({about}) through the controller, {}; deleted it through {} (gone from the registry {ms} ms after)",
                        b.name(),
                        d.name()
                    ),
                ),
                Err(left) => Check::fail(
                    CLUSTER,
                    ROLE,
                    "smoke: topic",
                    format!(
                        "created {topic} ({about}) through the controller, {}; {} accepted its deletion, but it is not done: left: topic {topic} ({left}; Kafka finishes the deletion once every broker holding a replica is back)",
                        b.name(),
                        d.name()
                    ),
                ),
            },
            (Err(e), Ok(_)) => Check::fail(
                CLUSTER,
                ROLE,
                "smoke: topic",
                format!("cannot create {topic} ({about}): {e:#}; nothing left"),
            ),
            (c, Err(e)) => Check::fail(
                CLUSTER,
                ROLE,
                "smoke: topic",
                format!(
                    "{}cannot delete {topic}: {e:#}; left: topic {topic} (if the request reached the controller, marked for deletion: Kafka finishes it once every broker holding a replica is back)",
                    match c {
                        Ok(_) => String::new(),
                        Err(ce) => format!("cannot create {topic} ({about}): {ce:#}; "),
                    }
                ),
            ),
        });
        out
    }

    /// Sends an admin request (`call(client, timeout_ms)` → (error code, message)) to the
    /// controller, found by a Metadata request to the brokers in turn, and asks again while
    /// the answer is NOT_CONTROLLER (the controller moved) until `deadline`; `cap_ms` bounds the
    /// time the controller may take (the request's timeout_ms).
    /// The broker that answered, or the last error naming the broker and Kafka's error.
    fn smoke_admin<'a, 'h>(
        brokers: &'a [SmokeBroker<'h>],
        deadline: std::time::Instant,
        cap_ms: u128,
        mut call: impl FnMut(&mut Client, i32) -> anyhow::Result<(i16, Option<String>)>,
    ) -> anyhow::Result<&'a SmokeBroker<'h>> {
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        let mut last = anyhow::anyhow!("no broker answered");
        loop {
            if left().is_zero() {
                return Err(last.context("gave up at the smoke timeout"));
            }
            let mut controller = None;
            let mut errors = Vec::new();
            for b in brokers {
                match Client::connect(&b.addr, left().max(SMOKE_STEP))
                    .and_then(|mut c| c.metadata(&[]))
                {
                    Ok(m) if m.controller >= 0 => {
                        controller = brokers.iter().find(|x| x.id == m.controller);
                        if controller.is_none() {
                            errors.push(format!(
                                "{} names controller {}, not a broker of the inventory",
                                b.name(),
                                m.controller
                            ));
                        }
                        break;
                    }
                    Ok(_) => errors.push(format!("{}: no controller", b.name())),
                    Err(e) => errors.push(format!("{}: {e:#}", b.name())),
                }
            }
            if let Some(cb) = controller {
                let ms = left().as_millis().clamp(1000, cap_ms) as i32;
                match Client::connect(&cb.addr, left().max(SMOKE_STEP))
                    .and_then(|mut c| call(&mut c, ms))
                {
                    Ok((0, _)) => return Ok(cb),
                    Ok((code, msg)) => {
                        last = anyhow::anyhow!(
                            "controller {} answers {}{}",
                            cb.name(),
                            error_text(code),
                            msg.map(|m| format!(": {m}")).unwrap_or_default()
                        );
                        // The controller moved: ask again. Anything else is the answer (a
                        // timeout too: asking again would only wait as long once more).
                        if code != 41 {
                            return Err(last);
                        }
                    }
                    Err(e) => last = e.context(format!("controller {}", cb.name())),
                }
            } else {
                last = anyhow::anyhow!("no controller: {}", errors.join("; "));
            }
            std::thread::sleep(SMOKE_RETRY.min(left()));
        }
    }

    /// Partition `i`'s round trip: its leader through another broker, a record produced to
    /// the leader with acks=all, fetched back from it and compared. Evidence, or what failed
    /// (broker, host, Kafka's error name).
    fn smoke_partition(
        cx: &SmokeCx,
        brokers: &[SmokeBroker],
        i: usize,
        topic: &str,
        replicas: &[i32],
    ) -> anyhow::Result<String> {
        let t0 = std::time::Instant::now();
        let deadline = t0 + cx.timeout;
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        let n = brokers.len();
        let p = i as i32;
        let me = &brokers[i];
        // The leader, as another broker sees it (itself only in a one-broker cluster): a broker
        // that has not learnt of the new topic yet is asked again until the deadline, never
        // replaced by the broker under test.
        let others: Vec<&SmokeBroker> = if n == 1 {
            vec![me]
        } else {
            (1..n).map(|k| &brokers[(i + k) % n]).collect()
        };
        let mut last = anyhow::anyhow!("no broker answered");
        let (via, part) = 'found: loop {
            for b in &others {
                match Client::connect(&b.addr, left().max(SMOKE_STEP))
                    .and_then(|mut c| c.metadata(&[topic]))
                {
                    Ok(m) => match m
                        .partitions
                        .into_iter()
                        .find(|x| x.topic == topic && x.partition == p)
                    {
                        Some(x) if x.leader >= 0 => break 'found (*b, x),
                        Some(x) => {
                            last = anyhow::anyhow!(
                                "{} sees no leader (replicas {:?}, ISR {:?})",
                                b.name(),
                                x.replicas,
                                x.isr
                            )
                        }
                        None => {
                            last = anyhow::anyhow!("{} does not know partition {p} yet", b.name())
                        }
                    },
                    Err(e) => last = e.context(format!("metadata through {}", b.name())),
                }
            }
            if left().is_zero() {
                return Err(last);
            }
            std::thread::sleep(SMOKE_RETRY.min(left()));
        };
        let leader = brokers
            .iter()
            .find(|b| b.id == part.leader)
            .ok_or_else(|| {
                anyhow::anyhow!("leader {} is not a broker of the inventory", part.leader)
            })?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let value = format!("stackctl smoke {topic} partition {p} {nanos:x}").into_bytes();
        let now_ms = (nanos / 1_000_000) as i64;
        let batch = wire::record_batch(&value, now_ms);
        let isr = format!("ISR {:?} of replicas {:?}", part.isr, replicas);
        // Produce, acks=all, to the leader.
        let mut c = Client::connect(&leader.addr, left().max(SMOKE_STEP))
            .map_err(|e| e.context(format!("produce to the leader {}", leader.name())))?;
        let offset = loop {
            let ms = left().as_millis().clamp(1000, 30_000) as i32;
            let r = c
                .call(
                    wire::API_PRODUCE,
                    3,
                    &wire::produce_body(topic, p, -1, ms, &batch),
                )
                .and_then(|b| wire::parse_produce(&b))
                .map_err(|e| e.context(format!("produce to the leader {}", leader.name())))?;
            let (_, _, code, offset) = r
                .into_iter()
                .find(|(t, q, _, _)| t == topic && *q == p)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: the produce answer does not name partition {p}",
                        leader.name()
                    )
                })?;
            match code {
                0 => break offset,
                code if wire::retriable(code) && !left().is_zero() => {
                    std::thread::sleep(SMOKE_RETRY.min(left()))
                }
                code => anyhow::bail!(
                    "produce with acks=all to the leader {} fails: {} ({isr}, min.insync.replicas {})",
                    leader.name(),
                    error_text(code),
                    Self::smoke_min_isr(cx, leader)
                ),
            }
        };
        // Fetch it back from the leader (consumers read from leaders).
        let fetched = loop {
            let r = c
                .call(wire::API_FETCH, 4, &wire::fetch_body(topic, p, offset, 500))
                .and_then(|b| wire::parse_fetch(&b))
                .map_err(|e| e.context(format!("fetch from the leader {}", leader.name())))?;
            let f = r
                .into_iter()
                .find(|f| f.topic == topic && f.partition == p)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: the fetch answer does not name partition {p}",
                        leader.name()
                    )
                })?;
            match f.error {
                0 if f.records.iter().any(|r| r.offset == offset) => break f,
                code if (code == 0 || wire::retriable(code)) && !left().is_zero() => {
                    std::thread::sleep(SMOKE_RETRY.min(left()))
                }
                0 => anyhow::bail!(
                    "fetch from the leader {} at offset {offset}: no record within the smoke timeout (high watermark {})",
                    leader.name(),
                    f.high_watermark
                ),
                code => anyhow::bail!(
                    "fetch from the leader {} at offset {offset} fails: {}",
                    leader.name(),
                    error_text(code)
                ),
            }
        };
        let got = fetched
            .records
            .iter()
            .find(|r| r.offset == offset)
            .and_then(|r| r.value.clone())
            .unwrap_or_default();
        if got != value {
            anyhow::bail!(
                "the record fetched from {} at offset {offset} differs: {:?}, produced {:?}",
                leader.name(),
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&value)
            );
        }
        if leader.id != me.id {
            anyhow::bail!(
                "{} does not lead its partition {p}, broker {} does ({isr}): it is not serving; the round trip through {} worked",
                me.name(),
                leader.id,
                leader.host.name
            );
        }
        Ok(format!(
            "partition {p} of {topic} ({isr}): 1 record produced with acks=all to the leader {} and fetched back at offset {offset} (high watermark {}); leader found through {}; {} ms",
            leader.name(),
            fetched.high_watermark,
            via.name(),
            t0.elapsed().as_millis()
        ))
    }

    /// What of `topic` is still in Kafka's registry a few seconds after DeleteTopics answered
    /// (ZooKeeper-mode Kafka completes a deletion only once every broker holding a replica is
    /// up: until then `<chroot>/admin/delete_topics/<topic>` stays). Ok: gone, after so many ms.
    fn smoke_deletion_pending(
        cx: &SmokeCx,
        spec: &ComponentSpec,
        topic: &str,
        deadline: std::time::Instant,
    ) -> Result<u128, String> {
        let chroot = spec
            .scalar("chroot")
            .map(|c| c.trim_end_matches('/').to_string())
            .unwrap_or_default();
        let paths = [
            format!("{chroot}/admin/delete_topics/{topic}"),
            format!("{chroot}/brokers/topics/{topic}"),
        ];
        Self::wait_deleted(deadline, "ZooKeeper", || {
            match ZooKeeper::session(cx.cl.inv, PROBE_TIMEOUT) {
                Ok(mut s) => {
                    let there: Vec<String> = paths
                        .iter()
                        .filter(|p| !matches!(s.data(p), Ok(None)))
                        .cloned()
                        .collect();
                    s.close();
                    there
                }
                Err(e) => vec![format!("cannot read the registry: {e:#}")],
            }
        })
    }

    /// Polls `left` (what of a deleted topic is still in `place`) every SMOKE_RETRY until it
    /// is empty (Ok: after so many ms) or SMOKE_DELETION_WAIT (or the deadline) is over.
    pub(super) fn wait_deleted(
        deadline: std::time::Instant,
        place: &str,
        mut left: impl FnMut() -> Vec<String>,
    ) -> Result<u128, String> {
        let t0 = std::time::Instant::now();
        let until = deadline.min(t0 + SMOKE_DELETION_WAIT);
        loop {
            let there = left();
            if there.is_empty() {
                return Ok(t0.elapsed().as_millis());
            }
            if std::time::Instant::now() >= until {
                return Err(format!(
                    "still in {place} after {} ms: {}",
                    t0.elapsed().as_millis(),
                    there.join(", ")
                ));
            }
            std::thread::sleep(SMOKE_RETRY);
        }
    }

    /// A broker's `min.insync.replicas` (Kafka's default 1), for messages.
    fn smoke_min_isr(cx: &SmokeCx, b: &SmokeBroker) -> String {
        let inv = cx.cl.inv;
        inv.component(NAME)
            .and_then(|spec| {
                Self::props_with(inv, spec, b.host, Some(b.id as u64), "")
                    .get("min.insync.replicas")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| "1".to_string())
    }
}

/// The least time a smoke step gets, however little of its round trip's bound is left.
const SMOKE_STEP: std::time::Duration = std::time::Duration::from_millis(500);

impl Kafka {
    /// The broker ids the first broker that answers Metadata lists (in KRaft mode only the
    /// unfenced ones).
    pub(super) fn listed_brokers(
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Vec<i32>> {
        let spec = cl
            .inv
            .component(NAME)
            .ok_or_else(|| anyhow::anyhow!("no kafka"))?;
        let mut errors = Vec::new();
        for h in cl.inv.hosts_with_role(ROLE) {
            let addr = format!("{}:{}", h.address, Self::port(spec));
            match crate::remote::kafka_wire::metadata(&addr, timeout) {
                Ok(m) => return Ok(m.brokers.iter().map(|b| b.id).collect()),
                Err(e) => errors.push(format!("{} ({addr}): {e:#}", h.name)),
            }
        }
        anyhow::bail!("no broker answered Metadata: {}", errors.join("; "))
    }

    /// `status` in ZooKeeper mode: the controller (from `<chroot>/controller`) and every broker
    /// the metadata lists; a broker missing from it is degraded.
    fn zk_states(
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        use crate::components::core::RoleState;
        let controller = Self::controller(cl);
        let listed = Self::listed_brokers(cl, timeout);
        cl.inv
            .hosts_with_role(ROLE)
            .map(|h| {
                let id = cl.id("broker_id", h);
                match (&listed, id) {
                    (Ok(ids), Some(id)) if ids.contains(&(id as i32)) => {
                        let word = match &controller {
                            Ok(Some(c)) if *c == id => "controller",
                            _ => "broker",
                        };
                        RoleState::ok(&h.name, ROLE, word)
                    }
                    (Ok(ids), Some(id)) => RoleState::degraded(
                        &h.name,
                        ROLE,
                        format!("broker {id} is not registered (the metadata lists {ids:?})"),
                    ),
                    (Err(e), _) => RoleState::degraded(&h.name, ROLE, format!("{e:#}")),
                    (_, None) => {
                        RoleState::degraded(&h.name, ROLE, "no broker id in the lock file")
                    }
                }
            })
            .collect()
    }
}
