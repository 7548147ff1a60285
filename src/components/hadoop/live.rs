//! Hadoop's live part: HDFS and YARN gates over JMX/REST and `verify`'s checks (NameNode state,
//! safe mode, live DataNodes, ResourceManager, NodeManagers), probed from this machine.

use super::*;
use crate::components::core::Live;

impl Hadoop {
    /// The worker list file: `slaves` in 2.x, `workers` in 3.x.
    /// The first host with `role` (the NameNode, the ResourceManager) and its web UI address,
    /// where the health gates and `verify` read JMX and REST.
    fn web_ui<'a>(inv: &'a Inventory, role: &'a str) -> anyhow::Result<(&'a Host, String)> {
        let h = inv
            .first_with_role(role)
            .ok_or_else(|| anyhow::anyhow!("no {role} in the inventory"))?;
        let addr = endpoint(&Hadoop, inv, h, role, "web UI")
            .ok_or_else(|| anyhow::anyhow!("no web UI port for the {role}"))?;
        Ok((h, addr))
    }
}

impl Live for Hadoop {
    fn restarted(&self, cl: &Cluster, role: &str, host: &Host) -> anyhow::Result<String> {
        if role != DATANODE {
            return self.health(cl, role, &[host]);
        }
        // The NameNode keeps a stopped DataNode "live" for minutes: ask the new DataNode itself
        // whether it has registered with its NameNode again, before the next one goes down.
        let addr = endpoint(self, cl.inv, host, DATANODE, "web UI")
            .ok_or_else(|| anyhow::anyhow!("no web UI port for the DataNode on {}", host.name))?;
        let b = crate::remote::probe::jmx_bean(
            &addr,
            "Hadoop:service=DataNode,name=DataNodeInfo",
            PROBE_TIMEOUT,
        )?;
        let actors: serde_json::Value = b["BPServiceActorInfo"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let running = actors
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["ActorState"] == "RUNNING"));
        if !running {
            anyhow::bail!(
                "the DataNode on {} has not registered with the NameNode yet",
                host.name
            );
        }
        let all = self.health(cl, role, &[host])?;
        Ok(format!("DataNode on {} registered again; {all}", host.name))
    }

    fn health(&self, cl: &Cluster, role: &str, hosts: &[&Host]) -> anyhow::Result<String> {
        let inv = cl.inv;
        let t = PROBE_TIMEOUT;
        let nn_http = || Self::web_ui(inv, NAMENODE).map(|(_, a)| a);
        let rm_http = || Self::web_ui(inv, RESOURCEMANAGER).map(|(_, a)| a);
        match role {
            NAMENODE => {
                let b = crate::remote::probe::jmx_bean(
                    &nn_http()?,
                    "Hadoop:service=NameNode,name=NameNodeStatus",
                    t,
                )?;
                let state = b["State"].as_str().unwrap_or("?").to_string();
                if state != "active" {
                    anyhow::bail!("NameNode state {state}");
                }
                Ok(format!("NameNode {state}"))
            }
            DATANODE => {
                let b = crate::remote::probe::jmx_bean(
                    &nn_http()?,
                    "Hadoop:service=NameNode,name=FSNamesystemState",
                    t,
                )?;
                let live = b["NumLiveDataNodes"].as_u64().unwrap_or(0);
                let want = inv.count_role(DATANODE) as u64;
                if live < want {
                    anyhow::bail!("{live} of {want} DataNodes live");
                }
                Ok(format!("{live} DataNodes live"))
            }
            RESOURCEMANAGER => {
                let v = crate::remote::probe::json_get(&rm_http()?, "/ws/v1/cluster/info", t)?;
                let state = v["clusterInfo"]["state"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                if state != "STARTED" {
                    anyhow::bail!("ResourceManager {state}");
                }
                Ok(format!("ResourceManager {state}"))
            }
            NODEMANAGER => {
                let v = crate::remote::probe::json_get(&rm_http()?, "/ws/v1/cluster/metrics", t)?;
                let active = v["clusterMetrics"]["activeNodes"].as_u64().unwrap_or(0);
                let want = inv.count_role(NODEMANAGER) as u64;
                if active < want {
                    // Why the others are not: the ResourceManager's own word per node (an
                    // UNHEALTHY one says which check failed, e.g. a disk over 90% full).
                    let why =
                        crate::remote::probe::json_get(&rm_http()?, "/ws/v1/cluster/nodes", t)
                            .map(|n| not_running(&n))
                            .unwrap_or_default();
                    anyhow::bail!("{active} of {want} NodeManagers active{why}");
                }
                Ok(format!("{active} NodeManagers active"))
            }
            _ => port_probe(self, inv, role, hosts),
        }
    }
    fn verify(&self, cx: &VerifyCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let t = PROBE_TIMEOUT;
        let mut out = Vec::new();
        // HDFS, from the NameNode: active, out of safe mode, every DataNode live.
        if let Ok((nn, http)) = Self::web_ui(inv, NAMENODE) {
            let status = crate::remote::probe::jmx_bean(
                &http,
                "Hadoop:service=NameNode,name=NameNodeStatus",
                t,
            );
            let info = crate::remote::probe::jmx_bean(
                &http,
                "Hadoop:service=NameNode,name=NameNodeInfo",
                t,
            );
            match (status, info) {
                (Ok(st), Ok(info)) => {
                    let state = st["State"].as_str().unwrap_or("?");
                    let safemode = info["Safemode"].as_str().unwrap_or("");
                    let version = info["Version"].as_str().unwrap_or("?");
                    let v = version.split(',').next().unwrap_or("").trim();
                    if let Ok(v) = Version::parse(v) {
                        cx.report_version(NAME, v);
                    }
                    let evidence = format!(
                        "{state}, {}, version {v}, cluster {}",
                        if safemode.is_empty() {
                            "out of safe mode".to_string()
                        } else {
                            format!("in safe mode: {safemode}")
                        },
                        info["ClusterId"].as_str().unwrap_or("?")
                    );
                    out.push(Check::pass_if(
                        state == "active" && safemode.is_empty(),
                        &nn.name,
                        NAMENODE,
                        "state",
                        evidence,
                    ));
                    let nodes = |key: &str| -> serde_json::Map<String, serde_json::Value> {
                        info[key]
                            .as_str()
                            .and_then(|s| serde_json::from_str(s).ok())
                            .unwrap_or_default()
                    };
                    let (live, dead) = (nodes("LiveNodes"), nodes("DeadNodes"));
                    // A DataNode is known by "host:port" (its name) and its transfer address's IP.
                    let is_dn = |name: &str, v: &serde_json::Value, h: &Host| {
                        let host_of =
                            |a: &str| a.rsplit_once(':').map_or(a, |(h, _)| h).to_string();
                        is_host(&host_of(name), h)
                            || is_host(&host_of(v["xferaddr"].as_str().unwrap_or("")), h)
                    };
                    let dns: Vec<&Host> = inv.hosts_with_role(DATANODE).collect();
                    let mut up = 0;
                    for h in &dns {
                        if let Some((name, v)) = live.iter().find(|(n, v)| is_dn(n, v, h)) {
                            // The NameNode calls a DataNode dead only after 10.5 minutes; three
                            // missed heartbeats (3 s each by default) already say it is gone.
                            let last = v["lastContact"].as_u64().unwrap_or(0);
                            if last > 9 {
                                out.push(Check::fail(
                                    &h.name,
                                    DATANODE,
                                    "live",
                                    format!("no heartbeat at the NameNode for {last}s ({name})"),
                                ));
                            } else {
                                up += 1;
                                out.push(Check::pass(
                                    &h.name,
                                    DATANODE,
                                    "live",
                                    format!(
                                        "live at the NameNode ({name}, last contact {last}s ago)"
                                    ),
                                ));
                            }
                        } else if dead.iter().any(|(n, v)| is_dn(n, v, h)) {
                            out.push(Check::fail(
                                &h.name,
                                DATANODE,
                                "live",
                                format!("the NameNode on {} lists it as dead", nn.name),
                            ));
                        } else {
                            out.push(Check::fail(
                                &h.name,
                                DATANODE,
                                "live",
                                format!("not live at the NameNode on {}", nn.name),
                            ));
                        }
                    }
                    let msg = format!("{up} of {} DataNodes live, {} dead", dns.len(), dead.len());
                    out.push(Check::pass_if(
                        up == dns.len(),
                        CLUSTER,
                        DATANODE,
                        "live",
                        msg,
                    ));
                }
                (Err(e), _) | (_, Err(e)) => {
                    out.push(Check::fail(&nn.name, NAMENODE, "state", format!("{e:#}")))
                }
            }
        }
        // YARN, from the ResourceManager: started, every NodeManager RUNNING.
        if let Ok((rm, http)) = Self::web_ui(inv, RESOURCEMANAGER) {
            match crate::remote::probe::json_get(&http, "/ws/v1/cluster/info", t) {
                Ok(v) => {
                    let state = v["clusterInfo"]["state"].as_str().unwrap_or("?");
                    let ev = format!(
                        "{state}, version {}",
                        v["clusterInfo"]["hadoopVersion"].as_str().unwrap_or("?")
                    );
                    out.push(Check::pass_if(
                        state == "STARTED",
                        &rm.name,
                        RESOURCEMANAGER,
                        "state",
                        ev,
                    ));
                }
                Err(e) => out.push(Check::fail(
                    &rm.name,
                    RESOURCEMANAGER,
                    "state",
                    format!("{e:#}"),
                )),
            }
            let nms: Vec<&Host> = inv.hosts_with_role(NODEMANAGER).collect();
            match crate::remote::probe::json_get(&http, "/ws/v1/cluster/nodes", t) {
                Ok(v) => {
                    let nodes = v["nodes"]["node"].as_array().cloned().unwrap_or_default();
                    let mut up = 0;
                    for h in &nms {
                        let mine: Vec<&serde_json::Value> = nodes
                            .iter()
                            .filter(|n| is_host(n["nodeHostName"].as_str().unwrap_or(""), h))
                            .collect();
                        if let Some(n) = mine.iter().find(|n| n["state"] == "RUNNING") {
                            up += 1;
                            out.push(Check::pass(
                                &h.name,
                                NODEMANAGER,
                                "active",
                                format!(
                                    "RUNNING at the ResourceManager ({})",
                                    n["id"].as_str().unwrap_or("?")
                                ),
                            ));
                        } else if let Some(n) = mine.first() {
                            out.push(Check::fail(
                                &h.name,
                                NODEMANAGER,
                                "active",
                                format!(
                                    "{} at the ResourceManager on {}",
                                    n["state"].as_str().unwrap_or("?"),
                                    rm.name
                                ),
                            ));
                        } else {
                            out.push(Check::fail(
                                &h.name,
                                NODEMANAGER,
                                "active",
                                format!("not known to the ResourceManager on {}", rm.name),
                            ));
                        }
                    }
                    let msg = format!("{up} of {} NodeManagers running", nms.len());
                    out.push(Check::pass_if(
                        up == nms.len(),
                        CLUSTER,
                        NODEMANAGER,
                        "active",
                        msg,
                    ));
                }
                Err(e) => out.push(Check::fail(
                    CLUSTER,
                    NODEMANAGER,
                    "active",
                    format!("{e:#}"),
                )),
            }
        }
        out
    }
}

/// The nodes of a ResourceManager's `/ws/v1/cluster/nodes` answer that are not RUNNING, with
/// their state and health report, as "; host1:42709 UNHEALTHY (...)"; empty when all run.
pub fn not_running(nodes: &serde_json::Value) -> String {
    let list = nodes["nodes"]["node"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = String::new();
    for n in list
        .iter()
        .filter(|n| n["state"].as_str() != Some("RUNNING"))
    {
        let id = n["id"].as_str().unwrap_or("?");
        let state = n["state"].as_str().unwrap_or("?");
        let report = n["healthReport"].as_str().unwrap_or("").trim();
        out.push_str(&format!("; {id} {state}"));
        if !report.is_empty() {
            let report: String = report.chars().take(200).collect();
            out.push_str(&format!(" ({report})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_nodemanager_that_is_not_running_says_why() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"nodes":{"node":[
              {"id":"host1:42709","state":"UNHEALTHY","healthReport":"1/1 local-dirs usable space is below configured utilization percentage/no more usable space [ /data/stack/yarn/local : used space above threshold of 90.0% ]"},
              {"id":"host2:40027","state":"RUNNING","healthReport":""},
              {"id":"host3:38875","state":"NEW"}]}}"#,
        )
        .unwrap();
        let why = super::not_running(&v);
        assert!(
            why.starts_with("; host1:42709 UNHEALTHY (1/1 local-dirs usable space"),
            "{why}"
        );
        assert!(
            why.contains("; host3:38875 NEW") && !why.contains("host2"),
            "{why}"
        );
        assert_eq!(super::not_running(&serde_json::json!({"nodes": null})), "");
    }
}
