//! Kafka's live part: the registration gate (`/brokers/ids` in ZooKeeper) and `verify`'s checks
//! (registry, controller, Metadata from every broker, `zookeeper.connect`), probed from this machine.

use super::*;
use crate::components::core::{put_last, Live};

impl Live for Kafka {
    fn restart_order<'h>(&self, cl: &Cluster, _role: &str, hosts: Vec<&'h Host>) -> Vec<&'h Host> {
        // The controller last: it moves once, not with every broker.
        let controller = Self::controller(cl).ok().flatten();
        let name = hosts
            .iter()
            .find(|h| controller.is_some() && cl.id("broker_id", h) == controller)
            .map(|h| h.name.clone());
        put_last(hosts, name.as_deref())
    }

    fn restarted(&self, cl: &Cluster, role: &str, host: &Host) -> anyhow::Result<String> {
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

    fn health(&self, cl: &Cluster, _role: &str, hosts: &[&Host]) -> anyhow::Result<String> {
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
    fn verify(&self, cx: &VerifyCx) -> Vec<Check> {
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
        let want_ids: Vec<i32> = brokers
            .iter()
            .filter_map(|h| id_of(h).map(|i| i as i32))
            .collect();
        for h in &brokers {
            let addr = format!("{}:{}", h.address, Self::port(spec));
            match crate::remote::kafka_wire::metadata(&addr, t) {
                Ok(m) => {
                    let have: Vec<i32> = m.brokers.iter().map(|b| b.id).collect();
                    let missing: Vec<String> = want_ids
                        .iter()
                        .filter(|i| !have.contains(i))
                        .map(|i| {
                            let name = brokers
                                .iter()
                                .find(|b| id_of(b) == Some(*i as u64))
                                .map(|b| b.name.as_str())
                                .unwrap_or("?");
                            format!("{i} ({name})")
                        })
                        .collect();
                    let list = have
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
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
}

impl Kafka {
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
