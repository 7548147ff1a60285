//! The one line `up` and `down` end with, and their `--json` closing event.

use crate::deploy::{Purge, Summary};

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The closing line of a successful `up` or `down` (`what`).
pub fn text(s: &Summary, what: &str) -> String {
    if what == "up" && !s.changed() {
        format!(
            "up: nothing to do: {} host{} already as planned ({:.2}s)",
            s.hosts,
            plural(s.hosts),
            s.seconds
        )
    } else if what == "up" {
        format!(
            "up: {} host{}: uploaded {} archive{} ({} MiB), unpacked {}, wrote {} file{}, started {}, restarted {} ({:.1}s)",
            s.hosts, plural(s.hosts), s.archives_uploaded, plural(s.archives_uploaded),
            s.uploaded_bytes / (1 << 20), s.archives_unpacked, s.files_written, plural(s.files_written),
            s.started.len(), s.restarted.len(), s.seconds
        )
    } else {
        format!(
            "down: stopped {} service{} on {} host{} ({:.1}s)",
            s.stopped.len(),
            plural(s.stopped.len()),
            s.hosts,
            plural(s.hosts),
            s.seconds
        )
    }
}

/// The `--json` event a run ends with.
pub fn done_json(result: Result<&Summary, String>) -> serde_json::Value {
    super::json::stamp(match result {
        Ok(s) => serde_json::json!({ "event": "done", "ok": true, "summary": s }),
        Err(e) => serde_json::json!({ "event": "done", "ok": false, "error": e }),
    })
}

/// What `down --purge` deletes, host by host, printed before anything happens.
pub fn purge_text(p: &Purge) -> String {
    let mut o = String::from("down --purge deletes, on each host:\n");
    for h in &p.hosts {
        o.push_str(&format!("  {}:\n", h.host));
        if h.delete.is_empty() {
            o.push_str("    (nothing)\n");
        }
        for d in &h.delete {
            o.push_str(&format!("    {d}\n"));
        }
        for (d, why) in &h.refused {
            o.push_str(&format!(
                "    kept: {d} ({why}); delete it by hand if you mean to\n"
            ));
        }
    }
    for w in &p.warnings {
        o.push_str(&format!("warning: {w}\n"));
    }
    o
}
