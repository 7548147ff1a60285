//! Hadoop's live part: HDFS and YARN gates over JMX/REST and `verify`'s checks (NameNode state,
//! safe mode, live DataNodes, ResourceManager, NodeManagers), probed from this machine.

use super::*;
use crate::components::core::{Live, SmokeCx};
use crate::remote::probe::{self, HttpReply};
use std::time::{Duration, Instant};

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
    fn states(
        &self,
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        Self::namenode_states(cl, timeout)
    }
    fn smoke(&self, cx: &SmokeCx) -> Vec<Check> {
        let mut out = self.smoke_hdfs(cx);
        out.extend(self.smoke_yarn(cx));
        out
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

// --- verify --smoke (issue 13): HDFS through every DataNode's WebHDFS port, a YARN container.

/// The name every smoke check of HDFS and YARN carries.
pub const SMOKE_WRITE_READ: &str = "smoke: write/read";
pub const SMOKE_CONTAINER: &str = "smoke: container";
/// How long a complete file's replica list must stay short before the smoke says so.
const SETTLE: Duration = Duration::from_secs(3);

impl Hadoop {
    /// The HDFS superuser for WebHDFS's simple auth: the account the NameNode runs as (from
    /// /proc on its host), else the component's `user:`, else the session's login user.
    fn hdfs_user(cx: &SmokeCx, nn: &Host) -> String {
        let f = cx.facts.get(&nn.name);
        if let Some((_, name)) = f.and_then(|f| f.proc_owner.get(NAMENODE)) {
            return name.clone();
        }
        if let Some(spec) = cx.cl.inv.component(NAME) {
            if spec.scalar("user").is_some() {
                return crate::components::core::account(spec, "hdfs").0;
            }
        }
        if nn.become_sudo {
            return "root".into();
        }
        f.and_then(|f| f.login_user.clone())
            .or_else(|| nn.ssh_user.clone())
            .unwrap_or_else(|| "root".into())
    }

    /// HDFS: a file per DataNode, replication min(3, DataNodes), written with WebHDFS's CREATE
    /// sent to that DataNode's own web port (with the `namenoderpcaddress` the NameNode's
    /// redirect names, as a client following the redirect would), read back with OPEN through
    /// the same port, compared, its replicas looked up at the NameNode (one must be on that
    /// DataNode: a DataNode that cannot write makes the client write around it), deleted.
    fn smoke_hdfs(&self, cx: &SmokeCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let Ok((nn, nn_http)) = Self::web_ui(inv, NAMENODE) else {
            return vec![];
        };
        if !cx.reachable(nn) {
            return vec![];
        }
        let mut out = Vec::new();
        let dns: Vec<&Host> = inv.hosts_with_role(DATANODE).collect();
        let replication = dns.len().clamp(1, 3);
        let user = probe::url_encode(&Self::hdfs_user(cx, nn));
        let dir = format!("/{}", cx.tag);
        let t = cx.timeout;
        // The NameNode's redirect: where a client is sent, and the NameNode RPC address it carries.
        let first = format!("{dir}/probe");
        let nn_rpc = match probe::http_request(
            &nn_http,
            "PUT",
            &webhdfs_path(
                &first,
                "CREATE",
                &[
                    ("user.name", &user),
                    ("overwrite", "false"),
                    ("replication", &replication.to_string()),
                ],
            ),
            None,
            t,
        ) {
            Ok(r) if r.status == 307 => match r
                .header("location")
                .and_then(|l| probe::query_param(l, "namenoderpcaddress"))
            {
                Some(a) => a,
                None => {
                    out.push(Check::fail(
                        &nn.name,
                        NAMENODE,
                        SMOKE_WRITE_READ,
                        format!(
                            "the NameNode's CREATE redirect names no namenoderpcaddress: {:?}",
                            r.header("location")
                        ),
                    ));
                    return out;
                }
            },
            Ok(r) => {
                out.push(Check::fail(
                    &nn.name,
                    NAMENODE,
                    SMOKE_WRITE_READ,
                    format!(
                        "WebHDFS CREATE at the NameNode ({nn_http}): HTTP {} {}",
                        r.status,
                        remote_exception(&r)
                    ),
                ));
                return out;
            }
            Err(e) => {
                out.push(Check::fail(
                    &nn.name,
                    NAMENODE,
                    SMOKE_WRITE_READ,
                    format!("WebHDFS CREATE at the NameNode: {e:#}"),
                ));
                return out;
            }
        };
        for h in dns.iter().filter(|h| cx.reachable(h)) {
            let Some(dn_http) = endpoint(self, inv, h, DATANODE, "web UI") else {
                continue;
            };
            let path = format!("{dir}/{}", h.name);
            let data = payload(&cx.tag, &h.name);
            let r = Self::hdfs_round_trip(
                &nn_http,
                &dn_http,
                &nn_rpc,
                &user,
                &path,
                &data,
                replication,
                h,
                &dns,
                t,
            );
            out.push(match r {
                Ok(ev) => Check::pass(&h.name, DATANODE, SMOKE_WRITE_READ, ev),
                Err(e) => {
                    // The DataNode's own word on its volumes, when it has failed ones.
                    let vols = probe::jmx_bean(
                        &dn_http,
                        "Hadoop:service=DataNode,name=FSDatasetState*",
                        PROBE_TIMEOUT,
                    )
                    .ok()
                    .and_then(|b| failed_volumes(&b))
                    .map(|v| format!("; the DataNode reports failed volumes: {v}"))
                    .unwrap_or_default();
                    Check::fail(&h.name, DATANODE, SMOKE_WRITE_READ, format!("{e:#}{vols}"))
                }
            });
        }
        // Clean up: the run's directory, whatever was written.
        let del = probe::http_request(
            &nn_http,
            "DELETE",
            &webhdfs_path(
                &dir,
                "DELETE",
                &[("user.name", &user), ("recursive", "true")],
            ),
            None,
            t,
        );
        match del {
            Ok(r) if r.status == 200 => {}
            Ok(r) => out.push(Check::fail(
                &nn.name,
                NAMENODE,
                "smoke: clean up",
                format!("DELETE {dir}: HTTP {} {}", r.status, remote_exception(&r)),
            )),
            Err(e) => out.push(Check::fail(
                &nn.name,
                NAMENODE,
                "smoke: clean up",
                format!("DELETE {dir}: {e:#}"),
            )),
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn hdfs_round_trip(
        nn_http: &str,
        dn_http: &str,
        nn_rpc: &str,
        user: &str,
        path: &str,
        data: &[u8],
        replication: usize,
        dn: &Host,
        all: &[&Host],
        t: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + t;
        let left = || {
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        };
        let rpc = probe::url_encode(nn_rpc);
        let repl = replication.to_string();
        let t0 = Instant::now();
        let w = probe::http_request(
            dn_http,
            "PUT",
            &webhdfs_path(
                path,
                "CREATE",
                &[
                    ("namenoderpcaddress", &rpc),
                    ("user.name", user),
                    ("createflag", ""),
                    ("createparent", "true"),
                    ("overwrite", "false"),
                    ("replication", &repl),
                ],
            ),
            Some(("application/octet-stream", data)),
            left(),
        )
        .map_err(|e| anyhow::anyhow!("WebHDFS CREATE through the DataNode: {e:#}"))?;
        if w.status != 201 {
            anyhow::bail!(
                "WebHDFS CREATE through the DataNode at {dn_http}: HTTP {} {}",
                w.status,
                remote_exception(&w)
            );
        }
        let wrote = t0.elapsed();
        let r = probe::http_request(
            dn_http,
            "GET",
            &webhdfs_path(
                path,
                "OPEN",
                &[
                    ("namenoderpcaddress", &rpc),
                    ("user.name", user),
                    ("offset", "0"),
                ],
            ),
            None,
            left(),
        )
        .map_err(|e| anyhow::anyhow!("WebHDFS OPEN through the DataNode: {e:#}"))?;
        if r.status != 200 {
            anyhow::bail!(
                "WebHDFS OPEN through the DataNode at {dn_http}: HTTP {} {}",
                r.status,
                remote_exception(&r)
            );
        }
        if r.body != data {
            anyhow::bail!(
                "read back {} bytes through the DataNode at {dn_http}, not the {} written",
                r.body.len(),
                data.len()
            );
        }
        // The replicas, at the NameNode: every one reported (a DataNode reports a finished
        // block at once), one of them on this DataNode.
        let mut last;
        let mut complete_at: Option<Instant> = None;
        loop {
            let b = probe::http_request(
                nn_http,
                "GET",
                &webhdfs_path(path, "GET_BLOCK_LOCATIONS", &[("user.name", user)]),
                None,
                left(),
            )?;
            let hosts = if b.status == 200 {
                b.json().map(|v| block_hosts(&v)).unwrap_or_default()
            } else {
                vec![]
            };
            let here = hosts.iter().any(|(n, a)| is_host(n, dn) || is_host(a, dn));
            // Replicas by the inventory's names where they are the inventory's hosts.
            let names: Vec<String> = hosts
                .iter()
                .map(|(n, a)| {
                    all.iter()
                        .find(|h| is_host(n, h) || is_host(a, h))
                        .map_or_else(|| n.clone(), |h| h.name.clone())
                })
                .collect();
            let complete = b.json().is_some_and(|v| {
                v["LocatedBlocks"]["isLastBlockComplete"] == true
                    && v["LocatedBlocks"]["isUnderConstruction"] == false
            });
            if here && hosts.len() >= replication {
                return Ok(format!(
                    "{} bytes written through the DataNode's WebHDFS port ({dn_http}) in {} ms, read back identical; replication {replication}, replicas on {}",
                    data.len(),
                    wrote.as_millis(),
                    names.join(", ")
                ));
            }
            last = if hosts.is_empty() {
                format!("the NameNode lists no replica of {path}")
            } else if here {
                format!(
                    "only {} of {replication} replicas of {path} ({})",
                    hosts.len(),
                    names.join(", ")
                )
            } else {
                format!(
                    "no replica on {}: the file written through its WebHDFS port has replicas on {} only (the client wrote around it)",
                    dn.name,
                    names.join(", ")
                )
            };
            // A finished block's replicas are reported at once: a few seconds after the file
            // is complete the list is final.
            if complete {
                let since = *complete_at.get_or_insert_with(Instant::now);
                if since.elapsed() >= SETTLE {
                    anyhow::bail!("{last}");
                }
            }
            if Instant::now() + Duration::from_millis(250) >= deadline {
                anyhow::bail!("{last} after {t:?}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// YARN, through the ResourceManager's REST API: a new application whose AM container's
    /// command is `true` (no jars needed, unlike the distributed-shell example), polled until it
    /// ends; its AM container exiting 0 on a NodeManager is the proof (an AM that never
    /// registers ends the attempt as FAILED: the exit code in the diagnostics is what counts).
    /// Killed if still running at the bound.
    fn smoke_yarn(&self, cx: &SmokeCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let Ok((rm, http)) = Self::web_ui(inv, RESOURCEMANAGER) else {
            return vec![];
        };
        if !cx.reachable(rm) || inv.count_role(NODEMANAGER) == 0 {
            return vec![];
        }
        // The REST API's writable half (new-application, submit) came with Hadoop 2.5
        // (YARN-1695); Hadoop 2.4.1 answers new-application with HTTP 500 (seen on the bed).
        if inv
            .component(NAME)
            .is_some_and(|s| !s.version.at_least("2.5.0"))
        {
            return vec![Check::warn(
                &rm.name,
                RESOURCEMANAGER,
                SMOKE_CONTAINER,
                "not run: the ResourceManager's REST API submits applications from Hadoop 2.5 on (YARN-1695); this release has no such API, so no container round trip was made",
            )];
        }
        let fail = |e: String| vec![Check::fail(&rm.name, RESOURCEMANAGER, SMOKE_CONTAINER, e)];
        let deadline = Instant::now() + cx.timeout;
        let left = || {
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        };
        let id = match probe::http_request(
            &http,
            "POST",
            "/ws/v1/cluster/apps/new-application",
            None,
            left(),
        ) {
            Ok(r) if r.status == 200 => match r
                .json()
                .and_then(|v| v["application-id"].as_str().map(str::to_string))
            {
                Some(id) => id,
                None => {
                    return fail(format!(
                        "new-application answered without an id: {}",
                        r.text()
                    ))
                }
            },
            Ok(r) => {
                return fail(format!(
                    "POST /ws/v1/cluster/apps/new-application: HTTP {} {}",
                    r.status,
                    r.text().trim()
                ))
            }
            Err(e) => return fail(format!("{e:#}")),
        };
        let body = app_submission(&id, &cx.tag);
        match probe::http_request(
            &http,
            "POST",
            "/ws/v1/cluster/apps",
            Some(("application/json", body.as_bytes())),
            left(),
        ) {
            Ok(r) if r.status == 202 || r.status == 200 => {}
            Ok(r) => {
                return fail(format!(
                    "submitting {id}: HTTP {} {}",
                    r.status,
                    r.text().trim()
                ))
            }
            Err(e) => return fail(format!("submitting {id}: {e:#}")),
        }
        let app_path = format!("/ws/v1/cluster/apps/{id}");
        let mut last = serde_json::Value::Null;
        while Instant::now() < deadline {
            if let Ok(r) = probe::http_request(&http, "GET", &app_path, None, left()) {
                if let Some(v) = r.json() {
                    last = v["app"].clone();
                    if matches!(
                        last["state"].as_str(),
                        Some("FINISHED" | "FAILED" | "KILLED")
                    ) {
                        break;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let state = last["state"].as_str().unwrap_or("?").to_string();
        if !matches!(state.as_str(), "FINISHED" | "FAILED" | "KILLED") {
            let killed = probe::http_request(
                &http,
                "PUT",
                &format!("{app_path}/state"),
                Some(("application/json", br#"{"state":"KILLED"}"#)),
                PROBE_TIMEOUT * 5,
            )
            .map(|r| format!("HTTP {}", r.status))
            .unwrap_or_else(|e| format!("{e:#}"));
            return fail(format!(
                "{id} still {state} after {:?} (killed: {killed}); diagnostics: {}",
                cx.timeout,
                last["diagnostics"].as_str().unwrap_or("").trim()
            ));
        }
        // Which NodeManager ran the AM container: the attempt's node.
        let attempt = probe::http_request(
            &http,
            "GET",
            &format!("{app_path}/appattempts"),
            None,
            PROBE_TIMEOUT * 5,
        )
        .ok()
        .and_then(|r| r.json())
        .map(|v| {
            v["appAttempts"]["appAttempt"]
                .as_array()
                .and_then(|a| a.last())
                .cloned()
                .unwrap_or_default()
        })
        .unwrap_or_default();
        let node = attempt["nodeHttpAddress"]
            .as_str()
            .or(last["amHostHttpAddress"].as_str())
            .unwrap_or("")
            .to_string();
        let node_host = node
            .rsplit_once(':')
            .map_or(node.as_str(), |(h, _)| h)
            .to_string();
        let nm = inv
            .hosts_with_role(NODEMANAGER)
            .find(|h| is_host(&node_host, h));
        let diag = last["diagnostics"]
            .as_str()
            .unwrap_or("")
            .trim()
            .to_string();
        let exit = am_exit_code(&diag);
        let ok = state == "FINISHED" && last["finalStatus"] == "SUCCEEDED" || exit == Some(0);
        let host = nm
            .map(|h| h.name.clone())
            .unwrap_or_else(|| rm.name.clone());
        let svc = if nm.is_some() {
            NODEMANAGER
        } else {
            RESOURCEMANAGER
        };
        let container = attempt["containerId"].as_str().unwrap_or("?");
        let short: String = diag
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        vec![if ok {
            Check::pass(&host, svc, SMOKE_CONTAINER, format!(
                "application {id} ({}): AM container {container} launched on the NodeManager at {node} and exited 0 (the application ends {state}: its AM `true` never registers)",
                cx.tag
            ))
        } else {
            Check::fail(
                &host,
                svc,
                SMOKE_CONTAINER,
                format!(
                    "application {id} ended {state}/{} on {}: {short}",
                    last["finalStatus"].as_str().unwrap_or("?"),
                    if node.is_empty() {
                        "no NodeManager"
                    } else {
                        node.as_str()
                    }
                ),
            )
        }]
    }
}

/// `/webhdfs/v1{path}?op=OP&k=v...` (values already encoded; the path's segments encoded here).
pub fn webhdfs_path(path: &str, op: &str, params: &[(&str, &str)]) -> String {
    let segs: Vec<String> = path.split('/').map(probe::url_encode).collect();
    let mut s = format!("/webhdfs/v1{}?op={op}", segs.join("/"));
    for (k, v) in params {
        s.push_str(&format!("&{k}={v}"));
    }
    s
}

/// What a smoke file holds: the run's tag and host, then 64 KiB of bytes that differ per
/// position (a truncated or shifted read cannot compare equal).
pub fn payload(tag: &str, host: &str) -> Vec<u8> {
    let mut v = format!("{tag} {host}\n").into_bytes();
    let mut x: u32 = 2463534242;
    for _ in 0..64 * 1024 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x & 0xff) as u8);
    }
    v
}

/// A WebHDFS error's message: its `RemoteException` (exception and message), else the body.
pub fn remote_exception(r: &HttpReply) -> String {
    if let Some(v) = r.json() {
        let e = &v["RemoteException"];
        if e.is_object() {
            return format!(
                "{}: {}",
                e["exception"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("").trim()
            );
        }
    }
    r.text()
        .chars()
        .take(300)
        .collect::<String>()
        .trim()
        .to_string()
}

/// (host name, IP) of every replica of every block in a `GET_BLOCK_LOCATIONS` answer.
pub fn block_hosts(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for b in v["LocatedBlocks"]["locatedBlocks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        for l in b["locations"].as_array().cloned().unwrap_or_default() {
            let e = (
                l["hostName"].as_str().unwrap_or("").to_string(),
                l["ipAddr"].as_str().unwrap_or("").to_string(),
            );
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

/// The failed storage locations a DataNode's `FSDatasetState` bean lists, if any.
pub fn failed_volumes(bean: &serde_json::Value) -> Option<String> {
    let n = bean["NumFailedVolumes"].as_u64().unwrap_or(0);
    if n == 0 {
        return None;
    }
    let locs: Vec<&str> = bean["FailedStorageLocations"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    Some(if locs.is_empty() {
        format!("{n}")
    } else {
        locs.join(", ")
    })
}

/// The ResourceManager's submission of an application whose AM container runs `true`.
pub fn app_submission(id: &str, tag: &str) -> String {
    serde_json::json!({
        "application-id": id,
        "application-name": tag,
        "application-type": "stackctl-smoke",
        "am-container-spec": {"commands": {"command": "true"}},
        "unmanaged-AM": false,
        "max-app-attempts": 1,
        "resource": {"memory": 256, "vCores": 1},
        "keep-containers-across-application-attempts": false
    })
    .to_string()
}

/// The AM container's exit code in an application's diagnostics
/// ("... AM Container for appattempt_... exited with  exitCode: 0 ...").
pub fn am_exit_code(diag: &str) -> Option<i32> {
    let i = diag.find("exitCode:")?;
    let rest = diag[i + "exitCode:".len()..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/smoke")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn webhdfs_paths_and_replies_for_the_smoke() {
        assert_eq!(
            super::webhdfs_path(
                "/stackctl-smoke-1-2/host 1",
                "CREATE",
                &[("user.name", "root"), ("replication", "3")]
            ),
            "/webhdfs/v1/stackctl-smoke-1-2/host%201?op=CREATE&user.name=root&replication=3"
        );
        let v: serde_json::Value =
            serde_json::from_str(&fixture("block_locations_2_of_3.json")).unwrap();
        assert_eq!(
            super::block_hosts(&v),
            vec![
                ("10.231.77.11".to_string(), "10.231.77.11".to_string()),
                ("10.231.77.13".to_string(), "10.231.77.13".to_string())
            ]
        );
        assert!(super::block_hosts(&serde_json::json!({"LocatedBlocks": null})).is_empty());
        let r = crate::remote::probe::parse_reply(
            &std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/smoke/webhdfs_403.http"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            super::remote_exception(&r),
            "AccessControlException: Permission denied"
        );
        let a = super::payload("tag", "host1");
        assert_eq!(a.len(), "tag host1\n".len() + 65536);
        assert_ne!(a, super::payload("tag", "host2"));
        let bean = serde_json::json!({"NumFailedVolumes": 1, "FailedStorageLocations": ["/data/stack/hdfs/datanode"]});
        assert_eq!(
            super::failed_volumes(&bean).as_deref(),
            Some("/data/stack/hdfs/datanode")
        );
        assert_eq!(
            super::failed_volumes(&serde_json::json!({"NumFailedVolumes": 0})),
            None
        );
    }

    #[test]
    fn a_yarn_app_whose_am_exited_0_is_read_from_its_diagnostics() {
        let v: serde_json::Value =
            serde_json::from_str(&fixture("yarn_app_failed_exit0.json")).unwrap();
        let d = v["app"]["diagnostics"].as_str().unwrap();
        assert_eq!(super::am_exit_code(d), Some(0));
        assert_eq!(
            super::am_exit_code(
                "AM Container for appattempt_1 exited with  exitCode: -1000 due to: ..."
            ),
            Some(-1000)
        );
        assert_eq!(
            super::am_exit_code("exited with exitCode: 127\n"),
            Some(127)
        );
        assert_eq!(super::am_exit_code("Application killed by user."), None);
        let sub: serde_json::Value = serde_json::from_str(&super::app_submission(
            "application_1_0001",
            "stackctl-smoke-1-2",
        ))
        .unwrap();
        assert_eq!(sub["am-container-spec"]["commands"]["command"], "true");
        assert_eq!(sub["max-app-attempts"], 1);
        assert_eq!(sub["application-name"], "stackctl-smoke-1-2");
    }

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

impl Hadoop {
    /// `status`: the NameNode's HA state and safe mode (NameNodeStatus, NameNodeInfo beans);
    /// one in safe mode, or not answering, is degraded.
    fn namenode_states(
        cl: &Cluster,
        t: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        use crate::components::core::RoleState;
        let inv = cl.inv;
        inv.hosts_with_role(NAMENODE)
            .map(|nn| {
                let Some(http) = endpoint(&Hadoop, inv, nn, NAMENODE, "web UI") else {
                    return RoleState::degraded(&nn.name, NAMENODE, "no web UI port");
                };
                let st = crate::remote::probe::jmx_bean(
                    &http,
                    "Hadoop:service=NameNode,name=NameNodeStatus",
                    t,
                );
                let info = crate::remote::probe::jmx_bean(
                    &http,
                    "Hadoop:service=NameNode,name=NameNodeInfo",
                    t,
                );
                match (st, info) {
                    (Ok(st), Ok(info)) => {
                        let state = st["State"].as_str().unwrap_or("?").to_string();
                        let safemode = info["Safemode"].as_str().unwrap_or("");
                        if safemode.is_empty() {
                            RoleState::ok(&nn.name, NAMENODE, state)
                        } else {
                            RoleState {
                                state,
                                ..RoleState::degraded(
                                    &nn.name,
                                    NAMENODE,
                                    format!("in safe mode: {safemode}"),
                                )
                            }
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        RoleState::degraded(&nn.name, NAMENODE, format!("{e:#}"))
                    }
                }
            })
            .collect()
    }
}
