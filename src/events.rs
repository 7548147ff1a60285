//! Progress of remote work: indicatif bars (one line per host and one for the stage) on a
//! terminal, plain lines on stderr otherwise, JSON lines on stdout for scripts, or nothing.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The `schema_version` of every `--json` document and JSON line stackctl prints:
/// `MAJOR.MINOR`, where a minor bump only adds (keys, event names) and a major bump breaks.
/// The schemas are under `docs/schemas/`.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Clone)]
pub struct Events {
    sink: Sink,
    start: Instant,
    /// Secret values never shown, whatever a host printed (a log tail quoting its config).
    secrets: Arc<Vec<String>>,
}

#[derive(Clone)]
enum Sink {
    Quiet,
    Json(Arc<JsonOut>),
    Plain,
    Bars(Arc<Bars>),
    /// A read-only command's one bar (`verify`, `plan --live`): hosts done of the total and
    /// the current step; the events themselves are not shown.
    Count(Arc<Counter>),
}

struct Counter(ProgressBar);

impl Drop for Counter {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Where JSON lines go (stdout, or any writer in tests). A write that fails (a closed pipe:
/// `stackctl up --json | head -1`) is recorded and the rest are dropped: output errors never
/// panic and never stop a running deploy.
pub struct JsonOut {
    out: Mutex<Box<dyn Write + Send>>,
    failed: AtomicBool,
}

struct Bars {
    multi: MultiProgress,
    main: ProgressBar,
    hosts: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Ok(hosts) = self.hosts.lock() {
            for pb in hosts.values() {
                pb.finish_and_clear();
            }
        }
        self.main.finish_and_clear();
        let _ = self.multi.clear();
    }
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {prefix:<8} {elapsed:>4} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

impl Events {
    /// JSON lines when asked, nothing with `-q`, bars when stderr is a terminal (and no `-v`),
    /// plain lines otherwise.
    pub fn new(json: bool) -> Self {
        let sink = if json {
            Sink::Json(Arc::new(JsonOut {
                out: Mutex::new(Box::new(std::io::stdout())),
                failed: AtomicBool::new(false),
            }))
        } else if crate::runlog::verbosity() == crate::runlog::Verbosity::Quiet {
            Sink::Quiet
        } else if std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
            // -v/-vv print their own lines: plain lines around them, not bars they would tear.
            && crate::runlog::verbosity() == crate::runlog::Verbosity::Normal
        {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let main = multi.add(spinner("starting"));
            main.set_prefix("stackctl");
            Sink::Bars(Arc::new(Bars {
                multi,
                main,
                hosts: Mutex::new(BTreeMap::new()),
            }))
        } else {
            Sink::Plain
        };
        Events {
            sink,
            start: Instant::now(),
            secrets: Arc::default(),
        }
    }

    /// The same events with every one of `values` masked in what they show.
    pub fn masking(mut self, values: Vec<String>) -> Self {
        self.secrets = Arc::new(values);
        self
    }

    /// JSON lines to `out` (what `--json` does with stdout): for tests of the writer.
    pub fn json_to(out: Box<dyn Write + Send>) -> Self {
        Events {
            sink: Sink::Json(Arc::new(JsonOut {
                out: Mutex::new(out),
                failed: AtomicBool::new(false),
            })),
            start: Instant::now(),
            secrets: Arc::default(),
        }
    }

    /// Whether writing the events failed (their reader went away); the work went on regardless.
    pub fn output_failed(&self) -> bool {
        match &self.sink {
            Sink::Json(j) => j.failed.load(Ordering::Relaxed),
            _ => false,
        }
    }

    /// No progress at all (for `plan --live`, whose output is the report).
    pub fn quiet() -> Self {
        Events {
            sink: Sink::Quiet,
            start: Instant::now(),
            secrets: Arc::default(),
        }
    }

    /// One bar counting `total` hosts, on a terminal only: nothing when stderr is not one,
    /// under CI, when `hidden` (`--json`), with `-q`, or with `-v`/`-vv` (their lines would
    /// tear it).
    pub fn counting(total: usize, hidden: bool) -> Self {
        let shown = !hidden
            && total > 0
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
            && crate::runlog::verbosity() == crate::runlog::Verbosity::Normal;
        if !shown {
            return Events::quiet();
        }
        let pb = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner:.cyan} {elapsed:>4} [{bar:20.cyan/blue}] {pos}/{len} hosts  {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        Events {
            sink: Sink::Count(Arc::new(Counter(pb))),
            start: Instant::now(),
            secrets: Arc::default(),
        }
    }

    /// One more host is done (its facts are in): counted on the bar of [`Events::counting`].
    pub fn host_done(&self, _host: &str) {
        if let Sink::Count(c) = &self.sink {
            c.0.inc(1);
        }
    }

    /// Something happened: logged for good.
    pub fn emit(&self, host: Option<&str>, event: &str, detail: &str) {
        let detail = &crate::secrets::redact(detail, &self.secrets);
        crate::runlog::event(host, event, detail);
        // Details may quote a host (launcher output, a remote error): JSON escapes it, a
        // terminal must not interpret it.
        let shown = || crate::diag::terminal_safe(detail);
        match &self.sink {
            Sink::Quiet | Sink::Count(_) => {}
            Sink::Json(j) => {
                if j.failed.load(Ordering::Relaxed) {
                    return;
                }
                let v = serde_json::json!({ "schema_version": SCHEMA_VERSION, "t": (self.start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0, "event": event, "host": host, "detail": detail });
                let mut out = j.out.lock().unwrap_or_else(|e| e.into_inner());
                if writeln!(out, "{v}").and_then(|()| out.flush()).is_err() {
                    j.failed.store(true, Ordering::Relaxed);
                }
            }
            Sink::Plain => {
                let line = match host {
                    Some(h) => format!("[{h}] {}\n", shown()),
                    None => format!("{}\n", shown()),
                };
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            Sink::Bars(b) => {
                let line = match host {
                    Some(h) => format!("[{h}] {}", shown()),
                    None => shown().into_owned(),
                };
                let _ = b.multi.println(line);
                if let Some(h) = host {
                    b.host_bar(h).set_message(shown().into_owned());
                }
            }
        }
    }

    /// What is going on now (a stage waiting at its gate, a host busy uploading): shown on the
    /// live lines of a terminal only.
    pub fn status(&self, host: Option<&str>, msg: &str) {
        let shown = || {
            let msg = crate::secrets::redact(msg, &self.secrets);
            crate::diag::terminal_safe(&msg).into_owned()
        };
        match &self.sink {
            Sink::Bars(b) => match host {
                Some(h) => b.host_bar(h).set_message(shown()),
                None => b.main.set_message(shown()),
            },
            Sink::Count(c) if host.is_none() => c.0.set_message(shown()),
            _ => {}
        }
    }
}

impl Bars {
    fn host_bar(&self, host: &str) -> ProgressBar {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                let pb = self.multi.add(spinner(""));
                pb.set_prefix(host.to_string());
                pb
            })
            .clone()
    }
}
