//! The run log (`--log FILE`) and the verbosity (`-q`, `-v`, `-vv`): one process-wide sink,
//! set once by the command, that the transport reports every remote command and upload to and
//! the engine its phases. Everything it writes passes through the secrets mask first.
//!
//! What goes where: the file gets everything (connections, commands with their exit status,
//! duration and byte counts, uploads with their rate, phases, progress events); `-v` prints
//! the phases and their timings on stderr, `-vv` also one line per remote command.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// How much stackctl says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors and the result only: no progress, no hints.
    Quiet,
    Normal,
    /// `-v`: also each phase and its timing.
    Phases,
    /// `-vv`: also every remote command.
    Commands,
}

struct Log {
    verbosity: Verbosity,
    file: Option<Mutex<File>>,
    secrets: RwLock<Arc<Vec<String>>>,
    start: Instant,
}

static LOG: OnceLock<Log> = OnceLock::new();

/// The longest command text one record keeps (a file batch can be large; its head says what
/// it is).
const COMMAND_CAP: usize = 16 << 10;

/// Sets the verbosity and opens `file` for appending (created 0600). Once per process; a
/// second call changes nothing. `line` is the command line, for the log's header.
pub fn init(verbosity: Verbosity, file: Option<&Path>, line: &str) -> std::io::Result<()> {
    let file = match file {
        None => None,
        Some(p) => {
            let mut o = std::fs::OpenOptions::new();
            o.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(p)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            writeln!(
                f,
                "# stackctl {} run log: pid {}, started at unix time {now}: {line}",
                env!("CARGO_PKG_VERSION"),
                std::process::id()
            )?;
            Some(Mutex::new(f))
        }
    };
    let _ = LOG.set(Log {
        verbosity,
        file,
        secrets: RwLock::default(),
        start: Instant::now(),
    });
    Ok(())
}

/// The verbosity in effect (`Normal` when nothing was set: library use, tests).
pub fn verbosity() -> Verbosity {
    LOG.get().map_or(Verbosity::Normal, |l| l.verbosity)
}

/// The secret values of the plan: masked in everything written from now on.
pub fn mask(values: &[String]) {
    if let Some(l) = LOG.get() {
        *l.secrets.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(values.to_vec());
    }
}

fn with<F: FnOnce(&Log)>(f: F) {
    if let Some(l) = LOG.get() {
        f(l)
    }
}

impl Log {
    fn redact(&self, text: &str) -> String {
        let values = self
            .secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        crate::secrets::redact(text, &values)
    }

    /// One record: `[  12.345s] KIND  rest`, then `body` indented (a command's text).
    fn write(&self, kind: &str, rest: &str, body: Option<&str>) {
        let Some(file) = &self.file else { return };
        let t = self.start.elapsed().as_secs_f64();
        let mut rec = format!("[{t:9.3}s] {kind:<7} {}\n", self.redact(rest));
        if let Some(body) = body {
            let body = self.redact(body);
            let (shown, cut) = match body.char_indices().nth(COMMAND_CAP) {
                Some((at, _)) => (&body[..at], body.len() - at),
                None => (body.as_str(), 0),
            };
            for line in shown.lines() {
                rec.push_str("    | ");
                rec.push_str(line);
                rec.push('\n');
            }
            if cut > 0 {
                rec.push_str(&format!("    | ... ({cut} more bytes)\n"));
            }
        }
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(rec.as_bytes()).and_then(|()| f.flush());
    }

    fn stderr(&self, at: Verbosity, line: &str) {
        if self.verbosity >= at {
            let line = crate::diag::terminal_safe(&self.redact(line)).into_owned();
            let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
        }
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// A connection attempt to `host` (`target`: `user@destination:port`) and how it ended.
/// One connection: `result` is how it was made (`ok`, or `reused` for a master kept from an
/// earlier run) or why it failed.
pub fn connect(host: &str, target: &str, took: Duration, result: Result<&str, String>) {
    with(|l| {
        let how = match &result {
            Ok(how) => how.to_string(),
            Err(e) => format!("failed: {e}"),
        };
        l.write(
            "connect",
            &format!("{host} {target} {how} ({} ms)", ms(took)),
            None,
        );
        l.stderr(
            Verbosity::Commands,
            &format!("[{host}] connect {target}: {how} ({} ms)", ms(took)),
        );
    })
}

/// What one remote command did.
pub struct CommandRecord<'a> {
    pub host: &'a str,
    /// The step it belongs to, in the operator's words.
    pub what: &'a str,
    /// The script as given to `sh -c` (before the timeout guard and `sudo -n`).
    pub script: &'a str,
    pub become_sudo: bool,
    pub took: Duration,
    /// Bytes sent on its stdin (uploads, file batches).
    pub sent: u64,
    /// Exit status and bytes on stdout and stderr; or why it did not finish.
    pub result: Result<(Option<i32>, usize, usize), String>,
}

/// A remote command, after it ended: the file gets its text, `-vv` one line.
pub fn command(r: &CommandRecord) {
    with(|l| {
        let how = match &r.result {
            Ok((status, out, err)) => format!(
                "exit={} out={out}B err={err}B",
                status.map_or("signal".to_string(), |s| s.to_string())
            ),
            Err(e) => format!("failed: {e}"),
        };
        let sent = if r.sent > 0 {
            format!(" in={}B", r.sent)
        } else {
            String::new()
        };
        let sudo = if r.become_sudo { " sudo" } else { "" };
        l.write(
            "run",
            &format!("{} {how}{sent} {} ms{sudo}: {}", r.host, ms(r.took), r.what),
            Some(r.script),
        );
        if r.sent > 0 {
            let secs = r.took.as_secs_f64().max(0.001);
            l.write(
                "upload",
                &format!(
                    "{} {} bytes in {} ms ({:.1} MiB/s): {}",
                    r.host,
                    r.sent,
                    ms(r.took),
                    r.sent as f64 / secs / f64::from(1 << 20),
                    r.what
                ),
                None,
            );
        }
        if l.verbosity >= Verbosity::Commands {
            let first = r
                .script
                .lines()
                .find(|s| !s.trim().is_empty())
                .unwrap_or("");
            let first: String = first.trim().chars().take(80).collect();
            l.stderr(
                Verbosity::Commands,
                &format!(
                    "[{}] {}: {first} ({how}, {} ms)",
                    r.host,
                    r.what,
                    ms(r.took)
                ),
            );
        }
    })
}

/// A progress event (what `up` shows), for the file only.
pub fn event(host: Option<&str>, event: &str, detail: &str) {
    with(|l| {
        if l.file.is_some() {
            l.write(
                "event",
                &format!("{} {event}: {detail}", host.unwrap_or("-")),
                None,
            );
        }
    })
}

/// A phase of the run, timed from now until it is dropped: logged at its end, and shown on
/// stderr with `-v`.
pub struct Phase {
    name: String,
    start: Instant,
}

/// Starts the phase `name` ("connect and gather facts", "checks").
pub fn phase(name: &str) -> Phase {
    with(|l| l.write("phase", &format!("{name}: started"), None));
    Phase {
        name: name.to_string(),
        start: Instant::now(),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        let took = self.start.elapsed();
        let name = &self.name;
        with(|l| {
            l.write("phase", &format!("{name}: done ({} ms)", ms(took)), None);
            l.stderr(
                Verbosity::Phases,
                &format!("stackctl: {name}: {:.2}s", took.as_secs_f64()),
            );
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The log is process-wide: this is the one test that sets it (at the normal verbosity, so
    // no other test of this binary sees a difference).
    #[test]
    fn every_record_is_written_with_its_numbers_and_no_secret() {
        let dir = tempfile_dir();
        let path = dir.join("run.log");
        init(Verbosity::Normal, Some(&path), "stackctl test").unwrap();
        mask(&["s3cret-Value".to_string()]);
        connect("a", "root@10.0.0.1:22", Duration::from_millis(12), Ok("ok"));
        command(&CommandRecord {
            host: "a",
            what: "writing /opt/x.properties",
            script: "printf '%s' 'ssl.key.password=s3cret-Value' > /opt/x.properties",
            become_sudo: true,
            took: Duration::from_millis(34),
            sent: 2 << 20,
            result: Ok((Some(0), 5, 7)),
        });
        command(&CommandRecord {
            host: "b",
            what: "facts",
            script: "uname -a",
            become_sudo: false,
            took: Duration::from_millis(120_000),
            sent: 0,
            result: Err("b: facts timed out after 120 s".into()),
        });
        drop(phase("checks"));
        event(Some("a"), "start", "started zookeeper");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# stackctl "), "{text}");
        assert!(!text.contains("s3cret-Value"), "{text}");
        for want in [
            "connect a root@10.0.0.1:22 ok (12 ms)",
            "run     a exit=0 out=5B err=7B in=2097152B 34 ms sudo: writing /opt/x.properties",
            "    | printf '%s' 'ssl.key.password=<secret>' > /opt/x.properties",
            "upload  a 2097152 bytes in 34 ms",
            "run     b failed: b: facts timed out after 120 s 120000 ms: facts",
            "phase   checks: done (",
            "event   a start: started zookeeper",
        ] {
            assert!(text.contains(want), "no {want:?} in:\n{text}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("stackctl-runlog-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
