//! Each component's archive, resolved: the `archive:` path as written, or the official release
//! (its place on the mirror says the component, `Component::dist_archive`) or an `archive:` URL,
//! fetched and verified into the cache by `dist`. `plan` only looks in the cache; `fetch` and
//! `up` download what is missing.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::components::{self, DistArchive};
use crate::diag::{Diagnostic, Diagnostics};
use crate::dist::{self, Mirror, Origin, Resolved};
use crate::inventory::{ComponentSpec, Inventory};

/// One component's archive, resolved without a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    pub component: &'static str,
    pub resolved: Resolved,
}

/// Every component's archive against `mirror` and the cache at `cache`. Pure: `cached` says
/// whether a verified copy sits at a cache path. A component with neither `archive:` nor an
/// official archive is left out (`up` then needs the distribution on the host).
pub fn resolve(
    inv: &Inventory,
    mirror: &Mirror,
    cache: &Path,
    cached: &dyn Fn(&Path) -> bool,
) -> Vec<Needed> {
    let mut out = Vec::new();
    for spec in inv.components.values() {
        let official = components::find(spec.name).and_then(|c| c.dist_archive(spec));
        let Some(origin) = origin(spec, official.as_ref()) else {
            continue;
        };
        out.push(Needed {
            component: spec.name,
            resolved: dist::resolve(origin, mirror, cache, cached),
        });
    }
    out
}

fn origin<'a>(spec: &'a ComponentSpec, official: Option<&'a DistArchive>) -> Option<Origin<'a>> {
    if let Some((p, _)) = &spec.archive {
        return Some(Origin::Local(p));
    }
    if let Some((u, _)) = &spec.archive_url {
        return Some(Origin::Url(u));
    }
    official.map(|d| Origin::Mirror {
        paths: &d.paths,
        keys: Some(&d.keys),
    })
}

/// The mirror in effect for `inv` (`STACKCTL_MIRROR`, else `mirror:`, else the Apache archive).
pub fn mirror(inv: &Inventory) -> Result<Mirror> {
    let (m, _) = dist::mirror_in_effect(
        std::env::var_os(dist::MIRROR_ENV),
        inv.mirror.as_ref().map(|(m, _)| m),
    )?;
    Ok(m)
}

/// For `plan`: every archive not written as a path is taken from the cache when a verified
/// copy is there (so the version and jar checks read it); a missing one is a warning saying
/// how to get it. Nothing is downloaded.
pub fn use_cached(inv: &mut Inventory) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mirror = match mirror(inv) {
        Ok(m) => m,
        Err(e) => {
            diags.push(Diagnostic::warning(
                &inv.path,
                Default::default(),
                "mirror",
                format!("{e:#}"),
            ));
            return diags;
        }
    };
    let cache = dist::cache_root_here().unwrap_or_else(|_| PathBuf::from("/nonexistent"));
    let needed = resolve(inv, &mirror, &cache, &dist::is_cached);
    let shown = if inv.from_stdin() {
        "<inventory>".to_string()
    } else {
        inv.path.display().to_string()
    };
    for n in needed {
        let Some(spec) = inv.components.get_mut(n.component) else {
            continue;
        };
        match n.resolved {
            Resolved::Local(_) => {}
            Resolved::Cached(p) => spec.archive = Some((p, at(spec))),
            Resolved::Missing(job) => {
                let url = job
                    .sources
                    .first()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                diags.push(
                    Diagnostic::warning(
                        &inv.path,
                        at(spec),
                        format!("components.{}.archive", spec.name),
                        format!(
                            "the {} {} archive {} is not fetched yet; versions come from the inventory and the rules file",
                            spec.name, spec.version, job.name
                        ),
                    )
                    .with_help(format!(
                        "run `stackctl fetch -i {shown}`, or set mirror:/{}; it would come from {url}",
                        dist::MIRROR_ENV
                    )),
                );
            }
        }
    }
    diags
}

/// Where a fetched archive's diagnostics point: its `archive:` URL, else the component.
fn at(spec: &ComponentSpec) -> crate::diag::Pos {
    spec.archive_url.as_ref().map_or(spec.pos, |(_, p)| *p)
}

/// One archive `fetch` or `up` made ready.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ready {
    pub component: &'static str,
    /// `archive:` as written (a local path): neither fetched nor checked.
    pub local: bool,
    pub path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched: Option<dist::Fetched>,
}

/// For `fetch` and `up`: every archive not written as a path is fetched and verified into the
/// cache (or its cached copy hashed again), and the inventory then points at the cache. The
/// first failure stops it: nothing unverified is used.
pub fn fetch_all(
    inv: &mut Inventory,
    ui: dist::Ui,
    mut each: impl FnMut(&Ready),
) -> Result<Vec<Ready>> {
    let mirror = mirror(inv)?;
    let cache = dist::cache_root_here()?;
    // Everything resolves as "missing": `dist::fetch` reuses a verified cached copy itself.
    let needed = resolve(inv, &mirror, &cache, &|_| false);
    let agent = dist::http::agent();
    let mut out = Vec::new();
    for n in needed {
        let ready = match n.resolved {
            Resolved::Local(path) => Ready {
                component: n.component,
                local: true,
                path,
                fetched: None,
            },
            Resolved::Cached(path) => Ready {
                component: n.component,
                local: false,
                path,
                fetched: None,
            },
            Resolved::Missing(job) => {
                let f = dist::fetch(&job, &agent, ui)?;
                Ready {
                    component: n.component,
                    local: false,
                    path: f.path.clone(),
                    fetched: Some(f),
                }
            }
        };
        if let Some(spec) = inv.components.get_mut(n.component) {
            if !ready.local {
                spec.archive = Some((ready.path.clone(), at(spec)));
            }
        }
        each(&ready);
        out.push(ready);
    }
    Ok(out)
}
