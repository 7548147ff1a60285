//! `stackctl status`: one line per service instance (TiUP's `display`): where it runs, its id,
//! the version installed, whether it runs and listens, its role in its cluster (leader,
//! follower, controller, active), how long it has run and how much its data takes. One SSH
//! round trip per host and a few bounded probes, read only; `verify` stays the deep check.
//!
//! The gathering is thin (`status`); turning facts and probe answers into instances is pure
//! (`instances`) and tested from fixtures.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::compat::detect::Listing;
use crate::components::{self, Cluster, RoleState, Service};
use crate::deploy::session;
use crate::inventory::{Host, Inventory};
use crate::plan::PlanError;
use crate::remote::facts::{self, FactRequest, HostFacts};
use crate::remote::transport::SshOptions;

#[derive(Debug, Clone)]
pub struct StatusOptions {
    pub inventory: PathBuf,
    pub templates: Option<PathBuf>,
    pub locked: bool,
    pub ssh: SshOptions,
    /// Only these hosts' instances (the probes still ask the whole cluster who leads).
    pub limit: Option<Vec<String>>,
    /// The bound of each probe (a leader question, a JMX bean).
    pub probe_timeout: Duration,
}

/// What an instance is: running and serving, running but not serving, stopped, or on a host
/// that could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    Degraded,
    Down,
    Unreachable,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Degraded => "degraded",
            State::Down => "down",
            State::Unreachable => "unreachable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataDir {
    pub path: String,
    /// KiB the directory holds (`du -sk`), when it exists and answered within 2 s.
    pub kib: Option<u64>,
    /// Percent of its filesystem in use.
    pub fs_used_percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    pub host: String,
    pub address: String,
    pub component: String,
    pub role: String,
    /// The identity the lock file assigns, as the service calls it ("myid=1", "broker.id=2").
    pub id: Option<String>,
    /// The port it serves clients on.
    pub port: Option<u16>,
    /// The version installed on the host (read from its jars), else None.
    pub version: Option<String>,
    pub status: State,
    /// Its role in its cluster, when a probe said one ("leader", "follower", "controller").
    pub role_state: Option<String>,
    /// Why it is degraded, down or unreachable.
    pub note: Option<String>,
    pub pid: Option<u32>,
    pub uptime_seconds: Option<u64>,
    pub data_dirs: Vec<DataDir>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub cluster: String,
    pub instances: Vec<Instance>,
    pub seconds: f64,
}

impl StatusReport {
    /// 0 every instance up, 1 one is degraded or down, 3 a host could not be reached (the
    /// meaning `verify`'s codes have).
    pub fn exit_code(&self) -> i32 {
        if self
            .instances
            .iter()
            .any(|i| i.status == State::Unreachable)
        {
            crate::exit::PREFLIGHT
        } else if self.instances.iter().any(|i| i.status != State::Up) {
            crate::exit::FAILED
        } else {
            crate::exit::OK
        }
    }
}

/// The services each selected host should run.
fn services_of(inv: &Inventory, cl: &Cluster, h: &Host) -> Vec<Service> {
    components::all()
        .iter()
        .filter(|c| inv.component(c.name()).is_some())
        .flat_map(|c| c.services(cl, h))
        .collect()
}

/// The fact script `status` sends: launchers (with uptime), data directories (size and
/// filesystem use), listening ports, and the distributions' jars (their version).
pub fn request(inv: &Inventory, cl: &Cluster, h: &Host) -> FactRequest {
    let svcs = services_of(inv, cl, h);
    let dirs = data_dirs(inv, cl, h, None);
    let mut req = FactRequest {
        java_home: h.java_home.clone(),
        launchers: svcs
            .iter()
            .map(|s| (s.role.to_string(), Service::launcher(h, s.role)))
            .collect(),
        since: true,
        du: dirs.clone(),
        dirs,
        ..Default::default()
    };
    for spec in inv.components.values().filter(|s| h.has_component(s.name)) {
        let c = components::find(spec.name).expect("known");
        req.jars.push(components::home_dir(h, c, spec));
    }
    req
}

/// The data directories of the services on `h` (of `role` only, when given): the component's
/// data dirs that the service writes.
fn data_dirs(inv: &Inventory, cl: &Cluster, h: &Host, role: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in components::all()
        .iter()
        .filter(|c| inv.component(c.name()).is_some())
    {
        let dirs = c.data_dirs(cl, h);
        for s in c.services(cl, h) {
            if role.is_some_and(|r| r != s.role) {
                continue;
            }
            for d in &dirs {
                let owned = s
                    .owned_dirs
                    .iter()
                    .any(|o| d == o || d.starts_with(&format!("{}/", o.trim_end_matches('/'))));
                if owned && !out.contains(d) {
                    out.push(d.clone());
                }
            }
        }
    }
    out
}

/// Facts and probe answers → one instance per service of the selected hosts, in inventory
/// order, then start order. `facts` holds a host's facts or why it could not be reached.
pub fn instances(
    inv: &Inventory,
    cl: &Cluster,
    hosts: &[&Host],
    facts: &BTreeMap<String, Result<HostFacts, String>>,
    states: &[RoleState],
) -> Vec<Instance> {
    let mut out = Vec::new();
    for h in hosts {
        let f = facts.get(&h.name);
        // The version each of the host's distributions holds.
        let mut versions: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(Ok(f)) = f {
            for spec in inv.components.values().filter(|s| h.has_component(s.name)) {
                let c = components::find(spec.name).expect("known");
                let home = components::home_dir(h, c, spec);
                let files = f.jars.get(&home).cloned().unwrap_or_default();
                if files.is_empty() {
                    continue;
                }
                let listing = Listing {
                    source: PathBuf::from(&home),
                    files,
                };
                if let Some(v) = c.detect(&listing).and_then(|d| d.version) {
                    versions.insert(spec.name, v.to_string());
                }
            }
        }
        for c in components::all()
            .iter()
            .filter(|c| inv.component(c.name()).is_some())
        {
            for s in c.services(cl, h) {
                let role = c.roles().iter().find(|r| r.name == s.role);
                let id = role
                    .and_then(|r| r.id.as_ref())
                    .and_then(|d| cl.id(d.field, h).map(|i| format!("{}={i}", d.what)));
                let port = c
                    .ports(inv, h)
                    .into_iter()
                    .find(|p| p.role == s.role)
                    .map(|p| p.port);
                let dirs = data_dirs(inv, cl, h, Some(s.role));
                let mut inst = Instance {
                    host: h.name.clone(),
                    address: h.address.clone(),
                    component: c.name().to_string(),
                    role: s.role.to_string(),
                    id,
                    port,
                    version: versions.get(c.name()).cloned(),
                    status: State::Down,
                    role_state: None,
                    note: None,
                    pid: None,
                    uptime_seconds: None,
                    data_dirs: Vec::new(),
                };
                match f {
                    None => {
                        inst.status = State::Unreachable;
                        inst.note = Some("not asked".into());
                    }
                    Some(Err(why)) => {
                        inst.status = State::Unreachable;
                        inst.note = Some(why.clone());
                    }
                    Some(Ok(f)) => {
                        inst.data_dirs = dirs
                            .iter()
                            .map(|d| DataDir {
                                path: d.clone(),
                                kib: f.du_kb.get(d).copied(),
                                fs_used_percent: f.disk_kb.get(d).and_then(|(size, used)| {
                                    (*size > 0).then(|| {
                                        (((*used as f64) * 100.0 / *size as f64).ceil() as u64)
                                            .min(100) as u8
                                    })
                                }),
                            })
                            .collect();
                        match f.running.get(s.role) {
                            None => {
                                inst.note = Some(format!(
                                    "not running (`{} status` says stopped)",
                                    Service::launcher(h, s.role)
                                ));
                            }
                            Some(pid) => {
                                inst.pid = Some(*pid);
                                inst.uptime_seconds = f.since.get(s.role).copied();
                                inst.status = State::Up;
                                if let Some(p) = port.filter(|p| !f.listening.contains(p)) {
                                    inst.status = State::Degraded;
                                    inst.note =
                                        Some(format!("running, but port {p} is not listening"));
                                }
                                if let Some(st) =
                                    states.iter().find(|x| x.host == h.name && x.role == s.role)
                                {
                                    if !st.state.is_empty() {
                                        inst.role_state = Some(st.state.clone());
                                    }
                                    if !st.healthy && inst.status == State::Up {
                                        inst.status = State::Degraded;
                                        inst.note = Some(st.note.clone());
                                    }
                                }
                            }
                        }
                    }
                }
                out.push(inst);
            }
        }
    }
    out
}

pub fn status(opts: &StatusOptions) -> Result<StatusReport, PlanError> {
    let started = Instant::now();
    let (inv, plan) = crate::verify::load_read_only(
        &opts.inventory,
        opts.templates.clone(),
        opts.locked,
        &opts.limit,
    )?;
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let hosts: Vec<&Host> = inv
        .hosts
        .iter()
        .filter(|h| opts.limit.as_ref().is_none_or(|l| l.contains(&h.name)))
        .collect();
    let scripts: Vec<String> = hosts
        .iter()
        .map(|h| facts::script(&request(&inv, &cl, h)))
        .collect();
    let rt = session::runtime().map_err(PlanError::Other)?;
    // Every host at once; the connections stay open while the probes run (behind a bastion
    // the probes go through them).
    let phase = crate::runlog::phase("connect and gather facts");
    let reqs: Vec<(&Host, String)> = hosts.iter().copied().zip(scripts).collect();
    let quiet = crate::events::Events::counting(reqs.len(), true);
    let (gathered, remotes) = rt.block_on(session::read_facts(
        &reqs,
        &opts.ssh,
        session::CONNECT_WINDOW,
        &quiet,
    ));
    drop(phase);
    let facts: BTreeMap<String, Result<HostFacts, String>> = gathered.into_iter().collect();
    // Each component's probes at once.
    let t = opts.probe_timeout;
    let (inv_ref, ids_ref) = (&inv, &ids);
    let states: Vec<RoleState> = std::thread::scope(|s| {
        let asks: Vec<_> = components::all()
            .iter()
            .filter(|c| inv.component(c.name()).is_some())
            .map(|c| s.spawn(move || c.states(&Cluster::new(inv_ref, ids_ref), t)))
            .collect();
        asks.into_iter()
            .flat_map(|a| a.join().unwrap_or_default())
            .collect()
    });
    rt.block_on(futures_util::future::join_all(
        remotes.into_iter().map(|r| r.close()),
    ));
    let mask = |s: &str| crate::secrets::redact(s, &plan.secret_values);
    let instances = instances(&inv, &cl, &hosts, &facts, &states)
        .into_iter()
        .map(|mut i| {
            i.note = i.note.map(|n| mask(&n));
            i
        })
        .collect();
    Ok(StatusReport {
        cluster: inv.cluster.clone(),
        instances,
        seconds: started.elapsed().as_secs_f64(),
    })
}
