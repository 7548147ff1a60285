//! Printing a plan for people: hosts x roles, compatibility, start order, files.

use std::fmt::Write;

use crate::compat::Level;
use crate::components;
use crate::lock::LockState;
use crate::plan::Plan;

pub struct TextOptions {
    pub show_files: bool,
    pub color: bool,
}

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn text(plan: &Plan, opts: &TextOptions) -> String {
    let mut o = String::new();
    let c = opts.color;
    let _ = writeln!(
        o,
        "{} {} — {} ({} host{})",
        paint(c, "1", "Cluster"),
        plan.cluster,
        plan.inventory,
        plan.hosts.len(),
        if plan.hosts.len() == 1 { "" } else { "s" }
    );
    let n = plan.lock.changes.len();
    let changes = format!("{n} change{}", if n == 1 { "" } else { "s" });
    let preview = "preview: `up` records them, or `plan --write-lock`";
    let lock_state = match (plan.lock.state, plan.lock.written) {
        (LockState::NotNeeded, _) => "not needed (no ZooKeeper or Kafka hosts)".to_string(),
        (LockState::Unchanged, _) => "unchanged".to_string(),
        (LockState::Created, true) => format!("created ({changes})"),
        (LockState::Updated, true) => format!("updated ({changes})"),
        (LockState::Created, false) => format!("would be created ({changes}; {preview})"),
        (LockState::Updated, false) => format!("would be updated ({changes}; {preview})"),
    };
    if plan.lock.path.is_empty() {
        let _ = writeln!(
            o,
            "Lock file: none (the inventory came from stdin): ids are computed fresh, as for a new cluster"
        );
    } else {
        let _ = writeln!(o, "Lock file: {} {lock_state}", plan.lock.path);
    }
    for ch in &plan.lock.changes {
        let _ = writeln!(o, "  - {ch}");
    }
    for (component, id) in &plan.cluster_ids {
        let _ = writeln!(
            o,
            "Cluster id ({component}): {id}, every log directory is formatted with it once"
        );
    }

    // Hosts x roles.
    let roles: Vec<&components::RoleDef> = components::all()
        .iter()
        .flat_map(|c| c.roles())
        .filter(|r| {
            plan.hosts
                .iter()
                .any(|h| h.roles.iter().any(|x| x == r.name))
        })
        .collect();
    let name_w = plan
        .hosts
        .iter()
        .map(|h| h.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let addr_w = plan
        .hosts
        .iter()
        .map(|h| h.address.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(o);
    let mut header = format!("{:name_w$}  {:addr_w$}", "HOST", "ADDRESS");
    for r in &roles {
        let _ = write!(header, "  {}", r.short);
    }
    header.push_str("  IDS");
    let _ = writeln!(o, "{}", paint(c, "1", &header));
    for h in &plan.hosts {
        let mut line = format!("{:name_w$}  {:addr_w$}", h.name, h.address);
        for r in &roles {
            let mark = if h.roles.iter().any(|x| x == r.name) {
                "●"
            } else {
                "·"
            };
            let _ = write!(line, "  {:<w$}", mark, w = r.short.len());
        }
        let ids: Vec<String> = h
            .ids
            .iter()
            .map(|(field, id)| {
                let what = components::all()
                    .iter()
                    .flat_map(|c| c.roles())
                    .filter_map(|r| r.id.as_ref())
                    .find(|d| d.field == field)
                    .map(|d| d.what)
                    .unwrap_or(field);
                format!("{what}={id}")
            })
            .collect();
        let _ = writeln!(o, "{line}  {}", ids.join(" "));
    }

    users_text(plan, c, &mut o);

    // Versions.
    let _ = writeln!(o, "\n{}", paint(c, "1", "Versions"));
    for v in &plan.versions {
        let mut line = format!("  {:10} {}", v.component, v.version);
        if let Some(d) = &v.detected {
            if let Some(s) = &d.scala {
                let _ = write!(line, " (Scala {s})");
            }
        }
        let bundles: Vec<String> = v.bundles.iter().map(|(k, b)| format!("{k} {b}")).collect();
        if !bundles.is_empty() {
            let _ = write!(
                line,
                "  ships {} [from {}]",
                bundles.join(", "),
                v.bundles_from
            );
        }
        if let Some(a) = &v.archive {
            let _ = write!(
                line,
                "  archive {a}{}",
                if v.detected.is_some() { " (read)" } else { "" }
            );
        }
        let _ = writeln!(o, "{line}");
    }

    // Compatibility.
    let _ = writeln!(o, "\n{}", paint(c, "1", "Compatibility"));
    if plan.compat.is_empty() {
        let _ = writeln!(o, "  (nothing to check)");
    }
    let mut verdicts: Vec<_> = plan.compat.iter().collect();
    verdicts.sort_by_key(|v| std::cmp::Reverse(v.level));
    for v in verdicts {
        let tag = match v.level {
            Level::Ok => paint(c, "32", "ok     "),
            Level::Warning => paint(c, "33", "warning"),
            Level::Error => paint(c, "31", "error  "),
        };
        o.push_str(&super::wrap::line(&format!("  {tag} {}", v.message), 10));
        let mut cite = Vec::new();
        if let Some(r) = &v.rule {
            cite.push(format!("rule {r}"));
        }
        if let Some(s) = v.status {
            cite.push(format!("{s:?}").to_lowercase());
        }
        if !v.source.is_empty() {
            cite.push(format!("source: {}", v.source));
        }
        if !v.hosts.is_empty() {
            cite.push(format!("hosts: {}", v.hosts.join(", ")));
        }
        if !cite.is_empty() && v.level != Level::Ok {
            let cite = format!("          {}", cite.join("; "));
            let cite = super::wrap::line(&cite, 12);
            for l in cite.lines() {
                let _ = writeln!(o, "{}", paint(c, "2", l));
            }
        }
    }

    // Start order.
    let _ = writeln!(o, "\n{}", paint(c, "1", "Start order"));
    for s in &plan.stages {
        let after = if s.after.is_empty() {
            String::new()
        } else {
            format!(" after {}", s.after.join(", "))
        };
        let _ = writeln!(
            o,
            "  {}. {} on {}{after}",
            s.wave,
            s.service,
            s.hosts.join(", ")
        );
        let _ = writeln!(o, "     wait for: {}", s.gate);
    }

    // Files: the path last, so the table fits 100 columns for paths of up to 66 characters;
    // a longer one is printed whole all the same (a path is copied, never wrapped), and so is
    // each file's content.
    let before = std::mem::take(&mut o);
    let _ = writeln!(
        o,
        "\n{} (size, mode, sha256 prefix, path)",
        paint(c, "1", "Files")
    );
    for h in &plan.hosts {
        let _ = writeln!(o, "  {}", h.name);
        for f in &h.files {
            let _ = writeln!(
                o,
                "    {:>6} B  {:04o}  {}  {}",
                f.size,
                f.mode,
                &f.sha256[..12],
                f.path
            );
            if opts.show_files {
                let shown = if f.secret {
                    plan.secrets.mask(&f.path, &f.content)
                } else {
                    f.content.to_string()
                };
                for line in shown.lines() {
                    let _ = writeln!(o, "      | {line}");
                }
            }
        }
    }

    let file_table = std::mem::take(&mut o);

    // Supervision: what the units are and where the logs go, once.
    if plan
        .hosts
        .iter()
        .flat_map(|h| &h.files)
        .any(|f| f.needs_systemd)
    {
        let _ = writeln!(o, "\n{}", paint(c, "1", "Supervision"));
        let _ = writeln!(
            o,
            "  units in {}: installed, enabled and run through systemctl only on hosts whose init is systemd (`up` asks each host); elsewhere the launchers start the JVMs under nohup and nothing restarts them after a crash or a reboot",
            crate::render::UNIT_DIR
        );
        let _ = writeln!(
            o,
            "  logs: each daemon's log4j file rolls over by size (log_max_size x log_max_files), under systemd too; the journal (or the launcher's <role>.out, rotated at each start) gets only what the JVM itself prints; GC logs rotate (gc_log_max_size x gc_log_max_files)"
        );
    }

    // Diagnostics and summary.
    if !plan.diagnostics.is_empty() {
        let _ = writeln!(o);
        for d in &plan.diagnostics {
            let _ = write!(o, "{}", d.render(None));
        }
    }
    let errors = plan
        .compat
        .iter()
        .filter(|v| v.level == Level::Error)
        .count()
        + plan.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = plan
        .compat
        .iter()
        .filter(|v| v.level == Level::Warning)
        .count()
        + plan.diagnostics.iter().filter(|d| !d.is_error()).count();
    let files: usize = plan.hosts.iter().map(|h| h.files.len()).sum();
    let _ = writeln!(
        o,
        "\nPlan: {} host{}, {} stage{}, {files} file{}; {errors} error{}, {warnings} warning{}.",
        plan.hosts.len(),
        if plan.hosts.len() == 1 { "" } else { "s" },
        plan.stages.len(),
        if plan.stages.len() == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    );
    // Everything but the file table fits 100 columns.
    super::wrap::block(&before) + &file_table + &super::wrap::block(&o)
}

/// `plan --live`: per host, what `up` would change, with a unified diff per changed file.
pub fn live_text(plan: &Plan, hosts: &[crate::deploy::LiveHost], color: bool) -> String {
    let c = color;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n{}",
        paint(c, "1", "Changes on the hosts (live, read only)")
    );
    for lh in hosts {
        let ch = &lh.changes;
        let login = ch.runs_as_login.as_ref().map(|u| {
            format!(" (every service runs as the login user {u}: the session is not root and has no become)")
        });
        if ch.is_empty() {
            o.push_str(&super::wrap::line(
                &format!("  {}: no changes{}", ch.host, login.unwrap_or_default()),
                4,
            ));
            continue;
        }
        let mut what = Vec::new();
        if !ch.create_users.is_empty() {
            what.push(format!("create users {}", ch.create_users.join(", ")));
        }
        if !ch.chown.is_empty() {
            what.push(format!(
                "give {} to their users",
                ch.chown
                    .iter()
                    .map(|(p, o)| format!("{p} ({o})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !ch.upload.is_empty() {
            what.push(format!("upload {}", ch.upload.join(", ")));
        }
        if !ch.unpack.is_empty() {
            what.push(format!("unpack {}", ch.unpack.join(", ")));
        }
        if !ch.files.is_empty() {
            what.push(format!(
                "write {} file{}",
                ch.files.len(),
                if ch.files.len() == 1 { "" } else { "s" }
            ));
        }
        if !ch.start.is_empty() {
            what.push(format!("start {}", ch.start.join(", ")));
        }
        if !ch.restart.is_empty() {
            what.push(format!("restart {}", ch.restart.join(", ")));
        }
        o.push_str(&super::wrap::line(
            &format!(
                "  {}: {}{}",
                paint(c, "1", &ch.host),
                what.join("; "),
                login.unwrap_or_default()
            ),
            4,
        ));
        let planned = plan.hosts.iter().find(|h| h.name == ch.host);
        for path in &ch.files {
            let new = planned
                .and_then(|h| h.files.iter().find(|f| &f.path == path))
                .map(|f| f.content.as_str())
                .unwrap_or("");
            match lh.current.get(path).and_then(|c| c.as_deref()) {
                None => {
                    let _ = writeln!(
                        o,
                        "    {} {path} ({} lines)",
                        paint(c, "32", "new"),
                        new.lines().count()
                    );
                }
                Some(old) => {
                    // Masked on both sides: a changed secret is a changed line that says so.
                    let (old, new) = plan.secrets.mask_pair(path, old, new);
                    let diff = similar::TextDiff::from_lines(&old, &new);
                    let text = diff
                        .unified_diff()
                        .context_radius(2)
                        .header(
                            &format!("{path} (on {})", ch.host),
                            &format!("{path} (planned)"),
                        )
                        .to_string();
                    for line in text.lines() {
                        // The old side is the host's file: its bytes are shown, not obeyed.
                        let line = &*crate::diag::terminal_safe(line);
                        let code = if line.starts_with("+++") || line.starts_with("---") {
                            "1"
                        } else if line.starts_with('+') {
                            "32"
                        } else if line.starts_with('-') {
                            "31"
                        } else if line.starts_with("@@") {
                            "36"
                        } else {
                            ""
                        };
                        let line = if code.is_empty() {
                            line.to_string()
                        } else {
                            paint(c, code, line)
                        };
                        let _ = writeln!(o, "    {line}");
                    }
                }
            }
        }
    }
    let changed = hosts.iter().filter(|h| !h.changes.is_empty()).count();
    let _ = writeln!(
        o,
        "\n{} of {} host{} would change.",
        changed,
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
    o
}

/// `plan --live`: the preflight warnings (production checks: data directories, clocks,
/// open-file limits), one line each; nothing when there are none.
pub fn findings_text(findings: &[crate::deploy::preflight::Finding], color: bool) -> String {
    let mut o = String::new();
    if findings.is_empty() {
        return o;
    }
    let _ = writeln!(o, "\n{}", paint(color, "1", "Preflight warnings"));
    for f in findings {
        o.push_str(&super::wrap::line(
            &format!(
                "  {} {}",
                paint(color, "33", "warning:"),
                crate::diag::terminal_safe(&f.message)
            ),
            4,
        ));
    }
    o
}

/// `plan --live --json`: the plan with what each host has now, every secret masked (the
/// current content of a changed file is the host's file as it is).
pub fn live_json(plan: &Plan, hosts: &[crate::deploy::LiveHost]) -> serde_json::Value {
    let mut doc = serde_json::to_value(plan).expect("plan serialises");
    let mut live = serde_json::to_value(hosts).expect("live serialises");
    for (lh, out) in hosts.iter().zip(live.as_array_mut().into_iter().flatten()) {
        for (path, current) in &lh.current {
            if let Some(text) = current {
                out["current"][path] = serde_json::Value::String(plan.secrets.mask(path, text));
            }
        }
    }
    doc["live"] = live;
    doc
}

/// Who runs what: the hosts that share one description on one line.
fn users_text(plan: &Plan, c: bool, o: &mut String) {
    let mut lines: Vec<(String, Vec<&str>)> = Vec::new();
    for h in &plan.hosts {
        if h.run_as.is_empty() && h.r#become.is_none() {
            continue;
        }
        let runs: Vec<String> = h
            .run_as
            .iter()
            .map(|r| match (&r.user, &r.group) {
                (Some(u), Some(g)) if g != u => format!("{} as {u}:{g}", r.role),
                (Some(u), _) => format!("{} as {u}", r.role),
                (None, _) => format!("{} as the session's user", r.role),
            })
            .collect();
        let how = match &h.r#become {
            Some(b) => format!("login, then {b} -n to root"),
            None => "no become: switches to service users only when the login is root".to_string(),
        };
        let line = format!("{how}; {}", runs.join(", "));
        match lines.iter_mut().find(|(l, _)| *l == line) {
            Some((_, hosts)) => hosts.push(&h.name),
            None => lines.push((line, vec![&h.name])),
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{}", paint(c, "1", "Users"));
    for (line, hosts) in lines {
        let names = if hosts.len() > 4 {
            format!("{} and {} more", hosts[..3].join(", "), hosts.len() - 3)
        } else {
            hosts.join(", ")
        };
        let _ = writeln!(o, "  {names}: {line}");
    }
    let _ = writeln!(
        o,
        "  (a non-root session without become runs every service as the login user; missing service users are created when root, unless create_users: false)"
    );
}
