//! `verify`'s report as a table: one line per check, then a count.

use crate::components::{Check, Status};
use crate::verify::Report;

/// The report as a table: one line per check.
pub fn text(r: &Report, color: bool) -> String {
    use std::fmt::Write;
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let width = |head: &str, f: fn(&Check) -> &str| {
        r.checks
            .iter()
            .map(|c| f(c).len())
            .fold(head.len(), usize::max)
    };
    let hw = width("HOST", |c| &c.host);
    let sw = width("SERVICE", |c| &c.service);
    let cw = width("CHECK", |c| &c.check);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        paint(
            "1",
            &format!(
                "{:hw$}  {:sw$}  {:cw$}  {:6}  EVIDENCE",
                "HOST", "SERVICE", "CHECK", "RESULT"
            )
        )
    );
    // Long evidence wraps under the evidence column (or 8 columns in when that is far right).
    let evidence_at = hw + sw + cw + 6 + 8;
    let hang = if evidence_at <= 60 { evidence_at } else { 8 };
    for c in &r.checks {
        let st = match c.status {
            Status::Pass => paint("32", "pass  "),
            Status::Warn => paint("33", "warn  "),
            Status::Fail => paint("31", "FAIL  "),
        };
        let evidence = crate::diag::terminal_safe(&c.evidence);
        let mut lines = evidence.lines();
        let first = format!(
            "{:hw$}  {:sw$}  {:cw$}  {st}  {}",
            c.host,
            c.service,
            c.check,
            lines.next().unwrap_or("")
        );
        o.push_str(&super::wrap::line(&first, hang));
        for more in lines {
            o.push_str(&super::wrap::line(
                &format!("{}{more}", " ".repeat(hang)),
                hang,
            ));
        }
    }
    let count = |s: Status| r.checks.iter().filter(|c| c.status == s).count();
    let summary = format!(
        "verify: {} checks: {} pass, {} warn, {} fail{} ({:.2}s)",
        r.checks.len(),
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail),
        if r.unreachable.is_empty() {
            String::new()
        } else {
            format!(
                "; unreachable: {}",
                r.unreachable
                    .iter()
                    .map(|(h, _)| h.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        r.seconds
    );
    o.push('\n');
    o.push_str(&super::wrap::line(&summary, 8));
    o
}
