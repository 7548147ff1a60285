//! `stackctl plan`: everything `up` would do, computed offline and side-effect free. The lock
//! file is written only when asked (`read_only: false`: `up` and `plan --write-lock`; `down` records nothing).
//!
//! The plan is a plain data structure; `output::plan` prints it as text, serde as JSON.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::compat::{ComponentVersions, Level, Verdict};
use crate::components::{self, Cluster, RoleDef};
use crate::diag::{Diagnostic, Diagnostics, InvalidInput};
use crate::inventory::{self, Inventory};
use crate::lock::{self, Ids, LockState};
use crate::render::{FileSpec, RenderedFile, Renderer};
use crate::secrets::Policy;
use crate::versions;

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub templates: Option<PathBuf>,
    /// Fail instead of writing the lock file (CI).
    pub locked: bool,
    /// Resolve ids in memory and never write the lock file (`plan` without `--write-lock`,
    /// `verify`): a preview retires and assigns nothing.
    pub read_only: bool,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub inventory: String,
    pub cluster: String,
    pub lock: LockSummary,
    /// Cluster ids kept in the lock file, by component (Kafka in KRaft mode).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cluster_ids: BTreeMap<String, String>,
    pub hosts: Vec<HostPlan>,
    pub versions: Vec<ComponentVersions>,
    pub compat: Vec<Verdict>,
    pub stages: Vec<Stage>,
    pub diagnostics: Vec<Diagnostic>,
    /// The compatibility errors of `compat`, each at its inventory line with a fix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compat_errors: Vec<Diagnostic>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates_overridden: Vec<String>,
    /// Daemons whose classpath, read from the archives, holds two versions of one artifact
    /// (each also an error in `diagnostics`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classpath_conflicts: Vec<versions::ClasspathConflict>,
    /// Which keys are secret: every output masks their values.
    #[serde(skip)]
    pub secrets: Policy,
    /// The secret values the rendered files hold, for masking free text (events, errors).
    #[serde(skip)]
    pub secret_values: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LockSummary {
    /// Empty for an inventory read from stdin, which has no lock file.
    pub path: String,
    pub state: LockState,
    pub changes: Vec<String>,
    /// Whether this run wrote the changes to the lock file (else they are a preview).
    pub written: bool,
}

#[derive(Debug, Serialize)]
pub struct HostPlan {
    pub name: String,
    pub address: String,
    pub roles: Vec<String>,
    pub ids: BTreeMap<String, u64>,
    pub java_home: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub java_version: Option<String>,
    /// `sudo` when every remote step runs through `sudo -n` (`become`), else none.
    pub r#become: Option<String>,
    /// The account each service runs as when the session is root (a root login or become);
    /// otherwise every service runs as the login user.
    pub run_as: Vec<RunAs>,
    pub files: Vec<RenderedFile>,
}

/// The account one service runs as.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunAs {
    pub role: String,
    /// None: the session's own user (no switch).
    pub user: Option<String>,
    pub group: Option<String>,
}

/// One start stage: a role started on all its hosts in parallel, then a health gate.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Stages in the same wave have no dependency on each other.
    pub wave: usize,
    pub role: String,
    pub service: String,
    pub hosts: Vec<String>,
    pub after: Vec<String>,
    pub gate: String,
}

impl Plan {
    /// The stable ids of every planned host, by identity field: what `up` and its probes use.
    pub fn ids(&self) -> Ids {
        let mut ids = Ids::new();
        ids.cluster_ids = self.cluster_ids.clone();
        for h in &self.hosts {
            for (field, id) in &h.ids {
                ids.entry(field.clone())
                    .or_default()
                    .insert(h.name.clone(), *id);
            }
        }
        ids
    }

    pub fn has_errors(&self) -> bool {
        self.compat.iter().any(|v| v.level == Level::Error)
            || self.diagnostics.iter().any(|d| d.is_error())
    }
}

/// Why a plan could not be made at all.
#[derive(Debug)]
pub enum PlanError {
    /// The inventory or lock file is wrong (exit 2).
    Invalid(InvalidInput),
    /// `--locked` and the lock file would change (exit 2).
    LockOutdated { path: PathBuf, changes: Vec<String> },
    /// Anything else: templates, I/O (exit 1).
    Other(anyhow::Error),
}

impl PlanError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PlanError::Invalid(_) | PlanError::LockOutdated { .. } => crate::exit::INVALID,
            PlanError::Other(_) => crate::exit::FAILED,
        }
    }

    /// The error as `--json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            PlanError::Invalid(inv) => {
                serde_json::json!({ "ok": false, "kind": "invalid", "diagnostics": inv.diagnostics })
            }
            PlanError::LockOutdated { path, changes } => {
                serde_json::json!({ "ok": false, "kind": "lock_outdated", "lock": path, "changes": changes })
            }
            PlanError::Other(err) => {
                serde_json::json!({ "ok": false, "kind": "error", "message": format!("{err:#}") })
            }
        }
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Invalid(e) => write!(f, "{e}"),
            PlanError::LockOutdated { path, changes } => {
                writeln!(
                    f,
                    "error: the lock file {} is out of date and --locked forbids updating it:",
                    path.display()
                )?;
                for c in changes {
                    writeln!(f, "  - {c}")?;
                }
                write!(
                    f,
                    "   = help: run `stackctl plan` without --locked and commit the lock file"
                )
            }
            PlanError::Other(e) => write!(f, "error: {e:#}"),
        }
    }
}

pub fn plan(path: &Path, opts: &PlanOptions) -> Result<Plan, PlanError> {
    load_and_plan(path, opts).map(|(_, p)| p)
}

/// Loads an inventory and plans it: where `plan`, `up`, `plan --live` and `verify` start.
pub fn load_and_plan(path: &Path, opts: &PlanOptions) -> Result<(Inventory, Plan), PlanError> {
    let (inv, warnings) =
        inventory::load(path, components::catalog()).map_err(PlanError::Invalid)?;
    let renderer = Renderer::new(opts.templates.as_deref()).map_err(PlanError::Other)?;
    let plan = plan_inventory(&inv, warnings, &renderer, opts)?;
    Ok((inv, plan))
}

/// [`load_and_plan`], with each archive not written as a path taken from the download cache
/// when `stackctl fetch` (or `up`) put it there; a missing one is a warning saying how to get
/// it. Nothing is downloaded.
pub fn load_and_plan_cached(
    path: &Path,
    opts: &PlanOptions,
) -> Result<(Inventory, Plan), PlanError> {
    let (mut inv, mut warnings) =
        inventory::load(path, components::catalog()).map_err(PlanError::Invalid)?;
    warnings.extend(crate::archives::use_cached(&mut inv));
    let renderer = Renderer::new(opts.templates.as_deref()).map_err(PlanError::Other)?;
    let plan = plan_inventory(&inv, warnings, &renderer, opts)?;
    Ok((inv, plan))
}

pub fn plan_inventory(
    inv: &Inventory,
    warnings: Diagnostics,
    renderer: &Renderer,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let lock_path = lock::lock_path(&inv.path);
    let stdin = inv.from_stdin();
    let existing = if stdin {
        None
    } else {
        lock::read(&lock_path, components::catalog()).map_err(PlanError::Invalid)?
    };
    let resolved = lock::resolve(inv, existing, components::catalog());
    if resolved.diagnostics.has_errors() {
        let mut d = resolved.diagnostics;
        d.sort();
        return Err(PlanError::Invalid(InvalidInput {
            diagnostics: d,
            source: Some(inv.source.clone()),
        }));
    }
    let mut diagnostics = warnings;
    diagnostics.extend(resolved.diagnostics.clone());
    let mut written = false;
    match resolved.state {
        LockState::Created | LockState::Updated if opts.locked && !stdin => {
            let mut changes = resolved.changes.clone();
            if resolved.state == LockState::Created {
                changes.insert(0, format!("{} does not exist", lock_path.display()));
            }
            return Err(PlanError::LockOutdated {
                path: lock_path,
                changes,
            });
        }
        LockState::Created | LockState::Updated if !opts.read_only && !stdin => {
            lock::write(&resolved.path, &lock::render(&resolved.lock, &inv.path))
                .with_context(|| format!("cannot write lock file {}", resolved.path.display()))
                .map_err(PlanError::Other)?;
            written = true;
        }
        _ => {}
    }
    for (path, name, guess) in &renderer.unused {
        diagnostics.push(
            Diagnostic::warning(
                path,
                crate::diag::Pos::default(),
                "",
                format!("template `{name}` overrides nothing: no built-in template has that name, and no template includes it"),
            )
            .with_help(match guess {
                Some(g) => format!("did you mean `{g}`? rename the file to replace the built-in one"),
                None => "a file under --templates replaces the built-in template of the same relative path (e.g. `kafka/server.properties`)".to_string(),
            }),
        );
    }
    let (versions, version_diags) = versions::resolve_versions(inv);
    diagnostics.0.extend(version_diags);
    let verdicts = versions::check(inv, &versions);
    let compat_errors = versions::compat_diagnostics(inv, &verdicts);
    let (classpath_conflicts, classpath_diags) =
        versions::classpath_conflicts(inv, &Cluster::new(inv, &resolved.ids));
    diagnostics.0.extend(classpath_diags);
    let policy = Policy::new(&inv.secret_keys);
    let mut hosts = render_hosts(inv, &resolved.ids, renderer).map_err(PlanError::Other)?;
    for f in hosts.iter_mut().flat_map(|h| h.files.iter_mut()) {
        if policy.holds_secret(&f.path, &f.content) {
            f.secret = true;
            // The owner's bits only: 0644 becomes 0600, a 0755 script 0700.
            f.mode &= 0o700;
        }
    }
    let secret_values = policy.values(
        hosts
            .iter()
            .flat_map(|h| h.files.iter())
            .filter(|f| f.secret)
            .map(|f| (f.path.as_str(), f.content.as_str())),
    );
    diagnostics.sort();
    Ok(Plan {
        inventory: inv.path.display().to_string(),
        cluster: inv.cluster.clone(),
        lock: LockSummary {
            path: if stdin {
                String::new()
            } else {
                resolved.path.display().to_string()
            },
            state: resolved.state,
            changes: resolved.changes,
            written,
        },
        cluster_ids: resolved.ids.cluster_ids.clone(),
        hosts,
        versions,
        compat: verdicts,
        stages: stages(inv),
        diagnostics: diagnostics.0,
        compat_errors,
        templates_overridden: renderer.overridden.clone(),
        classpath_conflicts,
        secrets: policy,
        secret_values,
    })
}

fn render_hosts(inv: &Inventory, ids: &Ids, renderer: &Renderer) -> Result<Vec<HostPlan>> {
    let cl = Cluster::new(inv, ids);
    // What to render is decided sequentially (cheap); the rendering itself runs on every core.
    let specs: Vec<Vec<FileSpec>> = inv
        .hosts
        .iter()
        .map(|host| {
            components::all()
                .iter()
                .filter(|c| inv.component(c.name()).is_some())
                .flat_map(|c| c.files(&cl, host))
                .chain(components::service_files(&cl, host))
                .collect()
        })
        .collect();
    // Files whose content is the same on every host (worker lists) are rendered once.
    let mut shared: HashMap<&'static str, RenderedFile> = HashMap::new();
    for spec in specs.iter().flatten().filter(|s| s.shared) {
        if !shared.contains_key(spec.template) {
            shared.insert(spec.template, renderer.render(spec)?);
        }
    }
    let render_host = |files: &Vec<FileSpec>| -> Result<Vec<RenderedFile>> {
        files
            .iter()
            .map(
                |spec| match shared.get(spec.template).filter(|_| spec.shared) {
                    Some(f) => Ok(RenderedFile {
                        path: spec.path.clone(),
                        mode: spec.mode,
                        ..f.clone()
                    }),
                    None => renderer.render(spec),
                },
            )
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let rendered: Vec<Vec<RenderedFile>> = if threads < 2 || specs.len() < 64 {
        specs.iter().map(render_host).collect::<Result<_>>()?
    } else {
        let chunk = specs.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = specs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(render_host).collect::<Result<Vec<_>>>())
                })
                .collect();
            let mut all = Vec::with_capacity(specs.len());
            for h in handles {
                all.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a rendering thread panicked"))??,
                );
            }
            Ok::<_, anyhow::Error>(all)
        })?
    };
    let mut out = Vec::with_capacity(inv.hosts.len());
    for (host, files) in inv.hosts.iter().zip(rendered) {
        let mut host_ids = BTreeMap::new();
        for (field, m) in ids.iter() {
            if let Some(id) = m.get(&host.name) {
                host_ids.insert(field.clone(), *id);
            }
        }
        out.push(HostPlan {
            name: host.name.clone(),
            address: host.address.clone(),
            roles: host.roles.iter().map(|r| r.name.to_string()).collect(),
            ids: host_ids,
            java_home: host.java_home.clone(),
            java_version: host.java_version.as_ref().map(|(j, _)| j.raw.clone()),
            r#become: host.become_sudo.then(|| "sudo".to_string()),
            run_as: components::all()
                .iter()
                .filter(|c| inv.component(c.name()).is_some())
                .flat_map(|c| c.services(&cl, host))
                .map(|s| RunAs {
                    role: s.role.to_string(),
                    group: s
                        .user
                        .as_ref()
                        .map(|u| s.group.clone().unwrap_or(u.clone())),
                    user: s.user,
                })
                .collect(),
            files,
        });
    }
    Ok(out)
}

/// The start order: each present role is a stage; its wave is one more than the latest wave it
/// waits for. Dependencies on roles absent from the inventory pass through to theirs.
pub fn stages(inv: &Inventory) -> Vec<Stage> {
    let roles: Vec<&'static RoleDef> = components::all().iter().flat_map(|c| c.roles()).collect();
    let present = |name: &str| inv.count_role(name) > 0;
    fn effective(
        role: &str,
        roles: &[&'static RoleDef],
        present: &dyn Fn(&str) -> bool,
        depth: usize,
    ) -> Vec<&'static str> {
        let Some(def) = roles.iter().find(|r| r.name == role) else {
            return vec![];
        };
        let mut out = Vec::new();
        for dep in def.after {
            if present(dep) {
                out.push(*dep);
            } else if depth < 16 {
                out.extend(effective(dep, roles, present, depth + 1));
            }
        }
        out.sort();
        out.dedup();
        out
    }
    let mut waves: BTreeMap<&str, usize> = BTreeMap::new();
    // Role definitions are few; iterate to a fixed point instead of a full topological sort.
    for _ in 0..roles.len() + 1 {
        for r in roles.iter().filter(|r| present(r.name)) {
            let after = effective(r.name, &roles, &present, 0);
            let w = after
                .iter()
                .map(|d| waves.get(d).copied().unwrap_or(1))
                .max()
                .map(|m| m + 1)
                .unwrap_or(1);
            waves.insert(r.name, w);
        }
    }
    let mut out: Vec<Stage> = roles
        .iter()
        .filter(|r| present(r.name))
        .map(|r| Stage {
            wave: waves[r.name],
            role: r.name.to_string(),
            service: r.service.to_string(),
            hosts: inv
                .hosts_with_role(r.name)
                .map(|h| h.name.clone())
                .collect(),
            after: effective(r.name, &roles, &present, 0)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            gate: r.gate.to_string(),
        })
        .collect();
    out.sort_by_key(|s| s.wave);
    out
}

/// Writes every host's files under `dir/<host>/<absolute path>`.
pub fn write_out(plan: &Plan, dir: &Path) -> Result<usize> {
    let mut n = 0;
    for h in &plan.hosts {
        // The host name is a directory under DIR: one plain segment (the loader's name rule).
        if !crate::inventory::text::NAME.accepts_text(&h.name) {
            anyhow::bail!(
                "refusing to write under DIR/{}: not a plain host name",
                h.name
            );
        }
        for f in &h.files {
            // Never write outside DIR, whatever a path turned out to be.
            if !crate::inventory::plain_abs_path(&f.path) {
                anyhow::bail!(
                    "refusing to write {} for {}: not a plain absolute path",
                    f.path,
                    h.name
                );
            }
            let rel = f.path.trim_start_matches('/');
            let target = dir.join(&h.name).join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            write_private(&target, f.content.as_bytes(), f.mode)
                .with_context(|| format!("cannot write {}", target.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Writes a new file created with `mode`, so the kernel applies the umask (a file is never
/// looser than the umask allows) and a secret is never readable by others, not even for a
/// moment: an existing file is replaced, not rewritten in place with its old mode.
fn write_private(target: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(target) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    o.open(target)?.write_all(data)
}
