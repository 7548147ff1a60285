//! HBase's live part: the master and RegionServer gates over JMX and `verify`'s checks (active
//! master, live RegionServers, ZooKeeper quorum in use), probed from this machine.

use super::*;
use crate::components::core::Live;

impl Live for HBase {
    fn health(&self, cl: &Cluster, role: &str, _hosts: &[&Host]) -> anyhow::Result<String> {
        let inv = cl.inv;
        // The active master's view: it may be any of the masters.
        let mut last = anyhow::anyhow!("no HBase master answered");
        for m in inv.hosts_with_role(MASTER) {
            let Some(ep) = endpoint(self, inv, m, MASTER, "web UI") else {
                continue;
            };
            let bean = match crate::remote::probe::jmx_bean(
                &ep,
                "Hadoop:service=HBase,name=Master,sub=Server",
                PROBE_TIMEOUT,
            ) {
                Ok(b) => b,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            if bean["tag.isActiveMaster"].as_str() != Some("true")
                && bean["tag.isActiveMaster"].as_bool() != Some(true)
            {
                last = anyhow::anyhow!("{}: master not active yet", m.name);
                continue;
            }
            if role == MASTER {
                return Ok(format!("active master on {}", m.name));
            }
            let live = bean["numRegionServers"].as_u64().unwrap_or(0);
            let dead = bean["numDeadRegionServers"].as_u64().unwrap_or(0);
            let want = inv.count_role(REGIONSERVER) as u64;
            if live < want || dead > 0 {
                anyhow::bail!("{live} of {want} RegionServers live, {dead} dead");
            }
            return Ok(format!("{live} RegionServers live, none dead"));
        }
        Err(last)
    }
    fn verify(&self, cx: &VerifyCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let mut out = Vec::new();
        let mut active: Option<(String, serde_json::Value)> = None;
        for m in inv.hosts_with_role(MASTER) {
            let ep = endpoint(self, inv, m, MASTER, "web UI").unwrap_or_default();
            match crate::remote::probe::jmx_bean(
                &ep,
                "Hadoop:service=HBase,name=Master,sub=Server",
                PROBE_TIMEOUT,
            ) {
                Ok(b) => {
                    let is_active = b["tag.isActiveMaster"].as_str() == Some("true")
                        || b["tag.isActiveMaster"].as_bool() == Some(true);
                    out.push(Check::pass(
                        &m.name,
                        MASTER,
                        "state",
                        if is_active {
                            "active master".to_string()
                        } else {
                            "backup master".to_string()
                        },
                    ));
                    if is_active {
                        match &active {
                            None => active = Some((m.name.clone(), b)),
                            Some((first, _)) => out.push(Check::fail(
                                CLUSTER,
                                MASTER,
                                "state",
                                format!("two active masters: {first} and {}", m.name),
                            )),
                        }
                    }
                }
                Err(e) => out.push(Check::fail(&m.name, MASTER, "state", format!("{e:#}"))),
            }
        }
        let Some((master, bean)) = active else {
            if inv.count_role(MASTER) > 0 {
                out.push(Check::fail(
                    CLUSTER,
                    MASTER,
                    "state",
                    "no active HBase master",
                ));
            }
            return out;
        };
        // "host2,16020,1795560141406;host3,16020,..." -> host names
        let servers = |key: &str| -> Vec<String> {
            bean[key]
                .as_str()
                .unwrap_or("")
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let live = servers("tag.liveRegionServers");
        let host_of = |s: &str| s.split(',').next().unwrap_or("").to_string();
        // A RegionServer that restarted leaves its old instance ("host,port,oldstartcode") on
        // the dead list until the master processes it: dead only counts without a live one.
        let dead: Vec<String> = servers("tag.deadRegionServers")
            .into_iter()
            .filter(|d| !live.iter().any(|l| host_of(l) == host_of(d)))
            .collect();
        let rss: Vec<&Host> = inv.hosts_with_role(REGIONSERVER).collect();
        let mut up = 0;
        for h in &rss {
            if let Some(s) = live.iter().find(|s| is_host(&host_of(s), h)) {
                up += 1;
                out.push(Check::pass(
                    &h.name,
                    REGIONSERVER,
                    "live",
                    format!("live at the master ({s})"),
                ));
            } else if dead.iter().any(|s| is_host(&host_of(s), h)) {
                out.push(Check::fail(
                    &h.name,
                    REGIONSERVER,
                    "live",
                    format!("the master on {master} lists it as dead"),
                ));
            } else {
                out.push(Check::fail(
                    &h.name,
                    REGIONSERVER,
                    "live",
                    format!("not live at the master on {master}"),
                ));
            }
        }
        let msg = format!(
            "{up} of {} RegionServers live, {} dead",
            rss.len(),
            dead.len()
        );
        out.push(Check::pass_if(
            up == rss.len() && dead.is_empty(),
            CLUSTER,
            REGIONSERVER,
            "live",
            msg,
        ));
        // The ZooKeeper quorum the master uses is this ensemble.
        if inv.component(zookeeper::NAME).is_some() {
            let have: std::collections::BTreeSet<&str> = bean["tag.zookeeperQuorum"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .collect();
            let want_s = ZooKeeper::connect_string(inv);
            let want: std::collections::BTreeSet<&str> = want_s.split(',').collect();
            if have == want {
                out.push(Check::pass(
                    &master,
                    MASTER,
                    "zookeeper quorum",
                    format!("{want_s} (this ensemble)"),
                ));
            } else {
                out.push(Check::fail(
                    &master,
                    MASTER,
                    "zookeeper quorum",
                    format!(
                        "the master uses {}, but the ensemble is {want_s}",
                        bean["tag.zookeeperQuorum"].as_str().unwrap_or("?")
                    ),
                ));
            }
        }
        out
    }
}
