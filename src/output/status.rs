//! `status` as a table: one line per service instance, then the notes of those not up, each
//! wrapped to 100 columns.

use crate::status::{Instance, State, StatusReport};

/// The width text output keeps to.
const COLUMNS: usize = super::wrap::WIDTH;

/// "45 s", "12m05s", "3h07m", "5d04h".
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// KiB as "512K", "12.3M", "4.0G".
pub fn size(kib: u64) -> String {
    let k = kib as f64;
    if kib < 1024 {
        format!("{kib}K")
    } else if k < 1024.0 * 1024.0 {
        format!("{:.1}M", k / 1024.0)
    } else if k < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1}G", k / 1024.0 / 1024.0)
    } else {
        format!("{:.1}T", k / 1024.0 / 1024.0 / 1024.0)
    }
}

fn status_cell(i: &Instance) -> String {
    match &i.role_state {
        Some(s) => format!("{}|{s}", i.status.word()),
        None => i.status.word().to_string(),
    }
}

/// "40K fs 29% /data/stack/zookeeper": the size first, so a path cut to fit stays readable.
fn data_cell(i: &Instance) -> String {
    data_cells(i).join(", ")
}

fn data_cells(i: &Instance) -> Vec<String> {
    i.data_dirs
        .iter()
        .map(|d| {
            let size = d.kib.map(size).unwrap_or_else(|| "-".into());
            match d.fs_used_percent {
                Some(p) => format!("{size} fs {p}% {}", d.path),
                None => format!("{size} {}", d.path),
            }
        })
        .collect()
}

/// A one-directory data cell cut to `width` columns: the size stays whole and the path loses
/// its start, at a `/` when one is near ("44K fs 29% …/stack/zookeeper").
fn elide(s: &str, width: usize) -> String {
    let n = s.chars().count();
    let Some(at) = s.find(" /") else {
        return s.to_string();
    };
    let (head, path) = s.split_at(at + 1);
    let room = width.saturating_sub(head.chars().count() + 1);
    if n <= width || room < 8 {
        return s.to_string();
    }
    let chars: Vec<char> = path.chars().collect();
    let tail: String = chars[chars.len() - room..].iter().collect();
    let tail = match tail.find('/') {
        Some(k) if k > 0 && tail.len() - k >= 8 => tail[k..].to_string(),
        _ => tail,
    };
    format!("{head}…{tail}")
}

pub fn text(r: &StatusReport, color: bool) -> String {
    use std::fmt::Write;
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let heads = ["HOST", "ROLE", "ID", "PORT", "VERSION", "STATUS", "UPTIME"];
    let rows: Vec<[String; 7]> = r
        .instances
        .iter()
        .map(|i| {
            [
                i.host.clone(),
                i.role.clone(),
                i.id.clone().unwrap_or_else(|| "-".into()),
                i.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                i.version.clone().unwrap_or_else(|| "-".into()),
                status_cell(i),
                i.uptime_seconds.map(uptime).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut w = heads.map(str::len);
    for row in &rows {
        for (k, cell) in row.iter().enumerate() {
            w[k] = w[k].max(cell.chars().count());
        }
    }
    let mut o = String::new();
    let up = r.instances.iter().filter(|i| i.status == State::Up).count();
    let _ = writeln!(
        o,
        "Cluster {}: {} instance{}, {up} up ({:.2} s)",
        r.cluster,
        r.instances.len(),
        if r.instances.len() == 1 { "" } else { "s" },
        r.seconds
    );
    let mut head = String::new();
    for (k, h) in heads.iter().enumerate() {
        let _ = write!(head, "{:w$}  ", h, w = w[k]);
    }
    head.push_str("DATA");
    let _ = writeln!(o, "{}", paint("1", &head));
    let lead: usize = w.iter().map(|x| x + 2).sum();
    for (i, row) in r.instances.iter().zip(&rows) {
        let mut line = String::new();
        for (k, cell) in row.iter().enumerate() {
            let padded = format!("{:w$}", cell, w = w[k]);
            let cell = if k == 5 {
                let code = match i.status {
                    State::Up => "32",
                    State::Degraded => "33",
                    State::Down | State::Unreachable => "31",
                };
                paint(code, &padded)
            } else {
                padded
            };
            let _ = write!(line, "{cell}  ");
        }
        let data = data_cell(i);
        if data.is_empty() {
            let _ = writeln!(o, "{}", line.trim_end());
        } else if lead + data.chars().count() <= COLUMNS {
            let _ = writeln!(o, "{line}{data}");
        } else if i.data_dirs.len() == 1 && COLUMNS.saturating_sub(lead) >= 24 {
            // One directory: cut in the middle to fit (`--json` has the whole path).
            let _ = writeln!(o, "{line}{}", elide(&data, COLUMNS - lead));
        } else {
            // One line per directory under the instance, each cut to fit.
            let _ = writeln!(o, "{}", line.trim_end());
            for d in data_cells(i) {
                let _ = writeln!(o, "    {}", elide(&d, COLUMNS - 4));
            }
        }
    }
    let notes: Vec<&Instance> = r
        .instances
        .iter()
        .filter(|i| i.status != State::Up && i.note.is_some())
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(o);
        for i in notes {
            let text = format!(
                "{} {}: {}: {}",
                i.host,
                i.role,
                i.status.word(),
                i.note.as_deref().unwrap_or("")
            );
            o.push_str(&super::wrap::line(&text, 4));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::DataDir;

    fn inst(host: &str, status: State, note: Option<&str>) -> Instance {
        Instance {
            host: host.into(),
            address: "10.0.0.1".into(),
            component: "kafka".into(),
            role: "kafka".into(),
            id: Some("broker.id=1".into()),
            port: Some(9092),
            version: Some("2.4.0".into()),
            status,
            role_state: (status == State::Up).then(|| "controller".into()),
            note: note.map(str::to_string),
            pid: Some(42),
            uptime_seconds: Some(3725),
            data_dirs: vec![DataDir {
                path: "/data/stack/kafka".into(),
                kib: Some(2048),
                fs_used_percent: Some(43),
            }],
        }
    }

    #[test]
    fn uptimes_and_sizes_read_like_an_operator_writes_them() {
        assert_eq!(uptime(45), "45s");
        assert_eq!(uptime(725), "12m05s");
        assert_eq!(uptime(3725), "1h02m");
        assert_eq!(uptime(86_400 * 5 + 3600 * 4), "5d04h");
        assert_eq!(size(512), "512K");
        assert_eq!(size(12 * 1024 + 300), "12.3M");
        assert_eq!(size(4 * 1024 * 1024), "4.0G");
    }

    #[test]
    fn the_table_fits_100_columns_and_wraps_long_notes_and_data_dirs() {
        let long = "no broker answered Metadata: host1 (10.231.77.11:9092): connection refused; host2 (10.231.77.12:9092): connection refused; host3 (10.231.77.13:9092): connection refused";
        let mut wide = inst("host3", State::Up, None);
        wide.data_dirs = (0..4)
            .map(|k| DataDir {
                path: format!("/srv/very/long/path/to/a/kafka/log/directory/number-{k}"),
                kib: Some(10),
                fs_used_percent: Some(1),
            })
            .collect();
        let r = StatusReport {
            cluster: "seed".into(),
            instances: vec![
                inst("host1", State::Up, None),
                inst("host2", State::Degraded, Some(long)),
                wide,
            ],
            seconds: 0.12,
        };
        let t = text(&r, false);
        for line in t.lines() {
            assert!(line.chars().count() <= COLUMNS, "{line:?} in\n{t}");
        }
        assert!(t.contains("up|controller"), "{t}");
        assert!(t.contains("2.0M fs 43% /data/stack/kafka"), "{t}");
        assert!(t.contains("1h02m"), "{t}");
        assert!(
            t.contains("host2 kafka: degraded: no broker answered"),
            "{t}"
        );
        assert!(
            t.contains("10K fs 1% /srv/very/long/path/to/a/kafka/log/directory/number-3"),
            "{t}"
        );
        assert!(t.starts_with("Cluster seed: 3 instances, 2 up"), "{t}");
    }

    #[test]
    fn one_long_data_dir_is_cut_in_the_middle_to_fit() {
        let mut i = inst("host1", State::Up, None);
        i.data_dirs[0].path = format!("/data/{}/kafka-logs", "x".repeat(80));
        let r = StatusReport {
            cluster: "c".into(),
            instances: vec![i],
            seconds: 0.1,
        };
        let t = text(&r, false);
        let line = t.lines().find(|l| l.starts_with("host1")).unwrap();
        assert!(line.chars().count() <= COLUMNS, "{t}");
        assert!(
            line.contains("2.0M fs 43% …/") && line.ends_with("/kafka-logs"),
            "{t}"
        );
        assert_eq!(
            elide("44K fs 29% /data/stack/zookeeper", 31),
            "44K fs 29% …/stack/zookeeper"
        );
        assert_eq!(
            elide("8K fs 29% /data/stack/kafka", 31),
            "8K fs 29% /data/stack/kafka"
        );
    }
}
