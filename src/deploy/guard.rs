//! One operator at a time: `up` and `down` hold a cluster lock on every host they change, a
//! file created with O_EXCL (`set -C`) that says who holds it, since when and from where. A
//! second run refuses, naming the holder; a holder that died on this same machine (its pid gone
//! or reused) is taken over with a warning, so `kill -9` then `up` just works; a holder on
//! another machine is released only with `--force-unlock`. Read-only commands never lock.

use anyhow::{anyhow, Result};

use crate::events::Events;
use crate::remote::transport::{Remote, RunOutput};
use crate::shell::shell_quote;

/// Who we are, as written into the lock.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub user: String,
    pub machine: String,
    pub pid: u32,
    /// The process's start time in clock ticks since boot (/proc/PID/stat field 22), so a
    /// reused pid is told apart.
    pub started: u64,
    pub since: String,
    pub command: String,
    /// Unique per run: only the run that wrote a lock removes it.
    pub token: String,
}

impl Holder {
    pub fn me(command: &str) -> Holder {
        let pid = std::process::id();
        Holder {
            user: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            machine: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            pid,
            started: start_time(pid).unwrap_or(0),
            since: now_utc(),
            command: command.to_string(),
            token: crate::remote::facts::mark()
                .trim_start_matches("@@stackctl-")
                .to_string(),
        }
    }

    /// The lock file's text: one `key=value` per line.
    pub fn render(&self) -> String {
        format!(
            "user={}\nmachine={}\npid={}\nstarted={}\nsince={}\ncommand={}\ntoken={}\n",
            self.user, self.machine, self.pid, self.started, self.since, self.command, self.token
        )
    }

    pub fn parse(text: &str) -> Option<Holder> {
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
                .map(|v| v.trim().to_string())
        };
        Some(Holder {
            user: get("user")?,
            machine: get("machine")?,
            pid: get("pid")?.parse().ok()?,
            started: get("started")?.parse().ok()?,
            since: get("since")?,
            command: get("command").unwrap_or_default(),
            token: get("token")?,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "`stackctl {}` by {} on {} (pid {}) since {}",
            self.command, self.user, self.machine, self.pid, self.since
        )
    }

    /// A holder that ran on this machine and whose process is gone (or is another process
    /// under the same pid) cannot release its lock any more.
    pub fn is_dead_here(&self, me: &Holder) -> bool {
        self.machine == me.machine && start_time(self.pid) != Some(self.started)
    }
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn lock_path(cluster: &str) -> String {
    format!("/var/lib/stackctl/{cluster}.lock")
}

/// Creates the lock unless it exists (O_EXCL); prints ACQUIRED, or HELD and the holder's text.
/// With `take_from`, a lock holding exactly that token is replaced first. `then` runs (in a
/// subshell, after the ACQUIRED line) only when the lock was taken: the first work of a run
/// shares the lock's round trip, and the script's status is then `then`'s.
fn acquire_script(path: &str, text: &str, take_from: Option<&str>, then: &str) -> String {
    let p = shell_quote(path);
    let t = shell_quote(text);
    let take = take_from
        .map(|tok| {
            format!(
                "if grep -qx {} {p} 2>/dev/null; then rm -f {p}; fi; ",
                shell_quote(&format!("token={tok}"))
            )
        })
        .unwrap_or_default();
    let then = if then.trim().is_empty() {
        String::new()
    } else {
        format!(" (\n{then}\n)")
    };
    format!(
        "mkdir -p \"$(dirname {p})\" && {take}if (set -C; printf '%s' {t} > {p}) 2>/dev/null; then echo ACQUIRED;{then}\nelse echo HELD; cat {p}; fi"
    )
}

fn release_script(path: &str, token: &str) -> String {
    let p = shell_quote(path);
    format!(
        "if grep -qx {} {p} 2>/dev/null; then rm -f {p}; fi",
        shell_quote(&format!("token={token}"))
    )
}

/// What a host answered to an acquire.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Taken; what follows the ACQUIRED line is the output of the work that came with it.
    Acquired(String),
    Held(Option<Holder>, String),
}

pub fn parse_answer(out: &str) -> Answer {
    match out.split_once('\n') {
        Some(("ACQUIRED", rest)) => Answer::Acquired(rest.to_string()),
        None if out.trim() == "ACQUIRED" => Answer::Acquired(String::new()),
        Some(("HELD", rest)) => Answer::Held(Holder::parse(rest), rest.to_string()),
        _ => Answer::Held(None, out.to_string()),
    }
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum Refused {
    /// Another run holds it: the message names the holder.
    Locked(String),
    /// A host could not be asked.
    Failed(anyhow::Error),
}

/// Takes the lock on one host, running `then` in the same round trip once it is ours. Ok(Err)
/// names the holder that refuses us.
async fn take_one(
    name: &str,
    remote: &Remote,
    path: &str,
    me: &Holder,
    force: bool,
    then: &str,
    what: &str,
    ev: &Events,
) -> Result<Result<RunOutput, String>> {
    let mut take_from: Option<String> = None;
    for tries in 1..=2 {
        let script = if force {
            format!(
                "rm -f {}; {}",
                shell_quote(path),
                acquire_script(path, &me.render(), None, then)
            )
        } else {
            acquire_script(path, &me.render(), take_from.as_deref(), then)
        };
        let out = remote.run(&script, what).await?;
        match parse_answer(&out.stdout) {
            Answer::Acquired(rest) => {
                return Ok(Ok(RunOutput {
                    stdout: rest,
                    ..out
                }))
            }
            // Not a lock answer at all (the shell failed before it): an error, not a holder.
            Answer::Held(None, _) if !out.success() => {
                return Err(out.error(&format!("{name}: {what}")))
            }
            Answer::Held(Some(h), _) if h.token == me.token => {
                // Ours already: the work still has to run.
                let rest = if then.trim().is_empty() {
                    RunOutput {
                        status: Some(0),
                        stdout: String::new(),
                        stderr: String::new(),
                    }
                } else {
                    remote.run(then, what).await?
                };
                return Ok(Ok(rest));
            }
            Answer::Held(Some(h), _) if h.is_dead_here(me) && tries == 1 => {
                ev.emit(
                    Some(name),
                    "lock",
                    &format!(
                        "taking over the cluster lock of {}: that process is gone",
                        h.describe()
                    ),
                );
                take_from = Some(h.token.clone());
            }
            Answer::Held(Some(h), _) => return Ok(Err(h.describe())),
            Answer::Held(None, raw) => {
                return Ok(Err(format!("an unreadable lock ({})", raw.trim())))
            }
        }
    }
    Ok(Err("a lock that could not be taken over".into()))
}

/// Takes the cluster lock on every target: the first host in name order alone, then all the
/// others at once. Two runs meet at the same first host and only one gets past it, so neither
/// holds half the cluster, and the rest costs one round trip, not one per host. On refusal,
/// releases what it took and says who holds it.
pub async fn acquire(
    targets: &[(&str, &Remote)],
    cluster: &str,
    me: &Holder,
    force: bool,
    ev: &Events,
) -> Result<(), Refused> {
    let thens = vec![String::new(); targets.len()];
    acquire_then(
        targets,
        &thens,
        "taking the cluster lock",
        cluster,
        me,
        force,
        ev,
    )
    .await
    .map(|_| ())
}

/// [`acquire`], running `thens[i]` on `targets[i]` in the same round trip as its lock (`what`
/// names that step in errors); returns each one's output (its status and stdout), in the
/// order of `targets`.
pub async fn acquire_then(
    targets: &[(&str, &Remote)],
    thens: &[String],
    what: &str,
    cluster: &str,
    me: &Holder,
    force: bool,
    ev: &Events,
) -> Result<Vec<RunOutput>, Refused> {
    let path = lock_path(cluster);
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| targets[a].0.cmp(targets[b].0));
    let mut outs: Vec<Option<RunOutput>> = (0..targets.len()).map(|_| None).collect();
    let mut refusal: Option<Refused> = None;
    let one = |i: usize| {
        let (name, remote) = targets[i];
        let (path, then) = (&path, &thens[i]);
        async move {
            (
                i,
                take_one(name, remote, path, me, force, then, what, ev).await,
            )
        }
    };
    let first: Vec<_> = match order.first() {
        Some(&i) => vec![one(i).await],
        None => vec![],
    };
    let rest = if matches!(first.first(), Some((_, Ok(Ok(_))))) {
        futures_util::future::join_all(order[1..].iter().map(|&i| one(i))).await
    } else {
        vec![]
    };
    let attempted: Vec<usize> = first.iter().chain(rest.iter()).map(|(i, _)| *i).collect();
    for (i, r) in first.into_iter().chain(rest) {
        let name = targets[i].0;
        match r {
            Ok(Ok(out)) => outs[i] = Some(out),
            Ok(Err(who)) => {
                refusal.get_or_insert(Refused::Locked(format!(
                    "{name}: the cluster is locked by {who} ({path}); wait for it to finish, or if that run is gone, add --force-unlock"
                )));
            }
            Err(e) => {
                refusal.get_or_insert(Refused::Failed(e));
            }
        }
    }
    if let Some(r) = refusal {
        // Every host we asked, not only those that answered: one whose round trip failed
        // after the lock was created (its facts timed out) holds our lock too. The release
        // removes only a lock with our token.
        let taken: Vec<(&str, &Remote)> = attempted.iter().map(|&i| targets[i]).collect();
        release(&taken, cluster, me).await;
        return Err(r);
    }
    Ok(outs
        .into_iter()
        .map(|o| o.expect("every host answered"))
        .collect())
}

/// Removes our lock wherever we hold it (never someone else's). Best effort: a host that cannot
/// be reached keeps a lock that names a dead process, which the next run on this machine takes.
pub async fn release(targets: &[(&str, &Remote)], cluster: &str, me: &Holder) {
    let path = lock_path(cluster);
    let script = release_script(&path, &me.token);
    let runs = targets
        .iter()
        .map(|(_, r)| r.run_ok(&script, "releasing the cluster lock"));
    for r in futures_util::future::join_all(runs).await {
        let _ = r.map_err(|e: anyhow::Error| anyhow!("{e:#}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_round_trips_and_describes_itself() {
        let me = Holder::me("up");
        assert_eq!(Holder::parse(&me.render()), Some(me.clone()));
        assert!(me.describe().contains(&format!("pid {}", me.pid)));
        assert!(
            me.since.ends_with('Z') && me.since.len() == 20,
            "{}",
            me.since
        );
        // We are alive: not dead here.
        assert!(!me.is_dead_here(&me));
        // Same machine, another start time for the pid: dead (pid reused).
        let reused = Holder {
            started: me.started + 1,
            ..me.clone()
        };
        assert!(reused.is_dead_here(&me));
        // Another machine: never judged from here.
        let other = Holder {
            machine: "elsewhere".into(),
            started: 0,
            ..me.clone()
        };
        assert!(!other.is_dead_here(&me));
    }

    #[test]
    fn answers_are_parsed() {
        assert_eq!(parse_answer("ACQUIRED\n"), Answer::Acquired(String::new()));
        assert_eq!(parse_answer("ACQUIRED"), Answer::Acquired(String::new()));
        assert_eq!(
            parse_answer("ACQUIRED\nfacts\n"),
            Answer::Acquired("facts\n".into())
        );
        let me = Holder::me("down");
        match parse_answer(&format!("HELD\n{}", me.render())) {
            Answer::Held(Some(h), _) => assert_eq!(h.token, me.token),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_answer("HELD\ngarbage"),
            Answer::Held(None, _)
        ));
    }

    #[test]
    fn scripts_are_valid_shell_and_quote_everything() {
        let me = Holder {
            user: "o'brien $(id)".into(),
            ..Holder::me("up")
        };
        for s in [
            acquire_script("/var/lib/stackctl/c.lock", &me.render(), Some("abc"), ""),
            acquire_script(
                "/var/lib/stackctl/c.lock",
                &me.render(),
                None,
                "echo one\necho two",
            ),
            release_script("/var/lib/stackctl/c.lock", &me.token),
        ] {
            let st = std::process::Command::new("sh")
                .args(["-n", "-c", &s])
                .status()
                .unwrap();
            assert!(st.success(), "{s}");
        }
    }

    #[test]
    fn the_lock_is_exclusive_on_a_real_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.lock").display().to_string();
        let run = |s: String| {
            let o = std::process::Command::new("sh")
                .args(["-c", &s])
                .output()
                .unwrap();
            assert!(o.status.success());
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let a = Holder::me("up");
        let b = Holder {
            token: "other".into(),
            pid: 1,
            ..a.clone()
        };
        assert_eq!(
            parse_answer(&run(acquire_script(&path, &a.render(), None, ""))),
            Answer::Acquired(String::new())
        );
        match parse_answer(&run(acquire_script(&path, &b.render(), None, ""))) {
            Answer::Held(Some(h), _) => assert_eq!(h.token, a.token),
            other => panic!("{other:?}"),
        }
        // Only the holder's token releases it.
        run(release_script(&path, &b.token));
        assert!(std::path::Path::new(&path).exists());
        run(release_script(&path, &a.token));
        assert!(!std::path::Path::new(&path).exists());
        // A named stale holder is replaced in the same step.
        run(acquire_script(&path, &b.render(), None, ""));
        assert_eq!(
            parse_answer(&run(acquire_script(&path, &a.render(), Some(&b.token), ""))),
            Answer::Acquired(String::new())
        );
        // Work that comes with the lock runs only when the lock is taken, after its answer.
        let ran = dir.path().join("ran");
        let then = format!(
            "touch {}\necho facts",
            shell_quote(&ran.display().to_string())
        );
        assert!(matches!(
            parse_answer(&run(acquire_script(&path, &b.render(), None, &then))),
            Answer::Held(Some(_), _)
        ));
        assert!(!ran.exists(), "the work ran without the lock");
        run(release_script(&path, &a.token));
        assert_eq!(
            parse_answer(&run(acquire_script(&path, &b.render(), None, &then))),
            Answer::Acquired("facts\n".into())
        );
        assert!(ran.exists());
    }
}
