//! SSH to the hosts through the system OpenSSH (`openssh` crate, one multiplexed master
//! connection per host), so `~/.ssh/config`, agents, ProxyJump and known_hosts all apply.
//!
//! Every command is one `sh -c` script whose variable parts are quoted with `shell_quote`; every
//! file is written to a temporary name beside its target and renamed, so an interrupted run
//! never leaves half a file.
//!
//! Every command is bounded: it has a deadline (`SshOptions::command_timeout`, more for an
//! upload in proportion to its size) and its output a cap (`STDOUT_CAP`, `STDERR_CAP`). Past
//! either, the command's channel is closed and the step fails naming the host and the step.
//! On the host the script also runs under coreutils `timeout` (when there is one), a little
//! longer than our own deadline, so a command we gave up on does not run on forever: sshd does
//! not signal a command without a terminal when its channel closes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use std::num::NonZeroUsize;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::inventory::Host;
use crate::remote::{persist, sshcfg};
use crate::shell::shell_quote;

#[derive(Debug, Clone)]
pub struct SshOptions {
    /// `-F FILE`: another ssh_config.
    pub config: Option<PathBuf>,
    /// Trust host keys not yet in known_hosts (never keys that changed). Off by default.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// How long an idle master connection outlives its last use. The masters are separate ssh
    /// processes: if stackctl is killed they would otherwise stay forever. Must exceed the
    /// longest quiet spell of a run (a health gate's timeout).
    pub master_idle: Duration,
    /// How long one remote command may take, from opening its channel to its exit, before it
    /// is stopped and its step fails. Commands that carry data on stdin (uploads, file
    /// batches) get this plus the time their data takes at `transfer_rate`.
    pub command_timeout: Duration,
    /// The slowest link an upload is allowed to be on, in bytes per second: an upload of N
    /// bytes may take `command_timeout + N / transfer_rate`.
    pub transfer_rate: u64,
    /// `--ssh-persist`: keep each master this long after the run, for the next run to reuse
    /// (ssh's ControlPersist, as Ansible does); `None` closes every master at the end.
    pub persist: Option<Duration>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            config: None,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            master_idle: Duration::from_secs(300),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            transfer_rate: DEFAULT_TRANSFER_RATE,
            persist: None,
        }
    }
}

/// Long enough for the slowest ordinary step (unpacking a 700 MB Hadoop on a slow disk, a
/// service's stop with its own 30 s grace), short enough that a hung host is noticed.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// 1 MiB/s: a Hadoop archive (~700 MB) may take 120 s + ~12 min before it counts as hung.
pub const DEFAULT_TRANSFER_RATE: u64 = 1 << 20;
/// The most a remote command may print on stdout (facts read files of up to 1 MiB each).
pub const STDOUT_CAP: usize = 16 << 20;
/// The most a remote command may print on stderr (only its last lines are ever shown).
pub const STDERR_CAP: usize = 1 << 20;
/// How much longer the host's own `timeout` guard gives a command than we wait for it, so our
/// deadline fires first and says so; then `timeout` ends the script's whole process group,
/// with SIGKILL `REMOTE_KILL_AFTER` seconds after SIGTERM.
const REMOTE_GRACE_SECS: u64 = 2;
const REMOTE_KILL_AFTER: u64 = 5;

/// The output of a remote script.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
    /// The output as an error with the last lines of stderr, for messages.
    pub fn error(&self, what: &str) -> anyhow::Error {
        let tail: Vec<&str> = self
            .stderr
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        anyhow!(
            "{what} failed (exit {}): {}",
            self.status.map_or("signal".to_string(), |s| s.to_string()),
            tail.join("\n")
        )
    }
}

pub struct Remote {
    /// The inventory name, for messages.
    pub name: String,
    session: Session,
    command_timeout: Duration,
    transfer_rate: u64,
    /// `become: sudo`: every script runs as root through `sudo -n`.
    become_sudo: bool,
    /// How this host is reached (destination, proxy, whether probes go through SSH).
    pub route: sshcfg::Route,
    /// A master kept for later runs (`--ssh-persist`): left running at the end, not closed.
    keep: bool,
}

/// `ssh -G` of a name no ssh_config block matches, once per run (the config is the same for
/// every host): what every host's own answer is compared with.
async fn plain_config(opts: &SshOptions) -> Result<sshcfg::Effective> {
    static PLAIN: tokio::sync::OnceCell<sshcfg::Effective> = tokio::sync::OnceCell::const_new();
    PLAIN
        .get_or_try_init(|| async {
            sshcfg::effective(
                opts.config.as_deref(),
                None,
                None,
                sshcfg::SENTINEL,
                opts.connect_timeout,
            )
            .await
        })
        .await
        .cloned()
}

/// Removes this process's (empty) control directory; the sockets inside went with the sessions.
pub fn cleanup() {
    if let Some(Ok(dir)) = CONTROL_DIR.get() {
        // Only sockets of closed sessions (or of masters about to exit) are left inside.
        let _ = std::fs::remove_dir_all(dir);
    }
}

static CONTROL_DIR: std::sync::OnceLock<std::result::Result<PathBuf, String>> =
    std::sync::OnceLock::new();

/// This process's control directory for the SSH masters: short (unix socket paths are limited
/// to about 100 bytes), created fresh with 0700, never one that already exists (someone could
/// have made it, or a symlink, to watch or hijack our connections).
pub fn control_dir() -> Result<PathBuf> {
    CONTROL_DIR
        .get_or_init(|| {
            let tag = &crate::remote::facts::mark()["@@stackctl-".len()..][..8];
            let dir = PathBuf::from(format!("/tmp/stk-{}-{tag}", std::process::id()));
            fresh_private_dir(&dir).map(|()| dir)
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

fn fresh_private_dir(dir: &Path) -> std::result::Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create the control directory {}: {e}", dir.display()))?;
        // create() fails on an existing path, symlink or not; check what we made anyway.
        let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
        if !meta.is_dir() || meta.file_type().is_symlink() {
            return Err(format!("{} is not a fresh directory", dir.display()));
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir(dir).map_err(|e| e.to_string())?;
    Ok(())
}

impl Remote {
    pub async fn connect(host: &Host, opts: &SshOptions) -> Result<Remote> {
        let started = std::time::Instant::now();
        let result = Self::connect_untimed(host, opts).await;
        let target = match &result {
            Ok((r, _)) => r.route.target(),
            Err(_) => match host.ssh_port {
                Some(p) => format!("{}:{p}", host.address),
                None => host.address.clone(),
            },
        };
        crate::runlog::connect(
            &host.name,
            &target,
            started.elapsed(),
            result
                .as_ref()
                .map(|(_, reused)| if *reused { "reused" } else { "ok" })
                .map_err(|e| format!("{e:#}")),
        );
        result.map(|(r, _)| r)
    }

    /// The connection, and whether it is a master an earlier run kept (`--ssh-persist`).
    async fn connect_untimed(host: &Host, opts: &SshOptions) -> Result<(Remote, bool)> {
        let plain = plain_config(opts).await?;
        let route = sshcfg::resolve(host, opts.config.as_deref(), &plain, opts.connect_timeout)
            .await
            .with_context(|| format!("cannot connect to {}", host.name))?;
        let kept = match opts.persist {
            Some(_) => Some(persist::Kept::new(&persist::key(
                host,
                &route,
                opts.config.as_deref(),
                opts.accept_new_host_keys,
            ))?),
            None => None,
        };
        let reused = match &kept {
            Some(k) => k.resume(opts.connect_timeout).await,
            None => None,
        };
        let (session, reused) = match reused {
            Some(s) => (s, true),
            None => (
                Self::launch(host, &route, opts, kept.as_ref()).await?,
                false,
            ),
        };
        if route.probe_via_ssh {
            let via = match &route.proxy {
                Some(p) => format!("through the SSH connection ({p})"),
                None => "through the SSH connection".to_string(),
            };
            crate::remote::probe::route_through(
                &[host.name.as_str(), host.address.as_str()],
                session.control_socket(),
                &via,
            );
        }
        Ok((
            Remote {
                name: host.name.clone(),
                session,
                command_timeout: opts.command_timeout,
                transfer_rate: opts.transfer_rate.max(1),
                become_sudo: host.become_sudo,
                route,
                keep: kept.is_some(),
            },
            reused,
        ))
    }

    /// A new master; in `kept`'s directory (and recorded there) when it outlives the run.
    async fn launch(
        host: &Host,
        route: &sshcfg::Route,
        opts: &SshOptions,
        kept: Option<&persist::Kept>,
    ) -> Result<Session> {
        let mut b = SessionBuilder::default();
        // Only what the inventory sets: the rest is the operator's ssh_config's to decide.
        if let Some(u) = &host.ssh_user {
            b.user(u.clone());
        }
        if let Some(p) = host.ssh_port {
            b.port(p);
        }
        b.known_hosts_check(if opts.accept_new_host_keys {
            // accept-new: an unknown host's key is recorded, a changed key is still refused.
            KnownHosts::Add
        } else {
            KnownHosts::Strict
        });
        // A kept master must also outlive the run's own quiet spells (a gate's wait).
        let idle = match opts.persist {
            Some(p) => p.max(opts.master_idle),
            None => opts.master_idle,
        };
        let dir = match kept {
            Some(k) => k.dir().to_path_buf(),
            None => control_dir()?,
        };
        b.connect_timeout(opts.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            .control_directory(dir)
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(idle.as_secs().max(1) as usize).expect("at least one second"),
            ));
        if let Some(cfg) = &opts.config {
            b.config_file(cfg);
        }
        let session = b
            .connect_mux(&route.destination)
            .await
            .map_err(|e| anyhow!("{}", ssh_error_text(&e)))
            .with_context(|| format!("cannot connect to {} ({})", host.name, route.target()))?;
        if let Some(k) = kept {
            k.record(session.control_socket());
        }
        Ok(session)
    }

    /// Runs `script` with `sh -c` and collects its output; `what` names the step in errors.
    /// Fails (naming host and step) when the command takes longer than the command timeout or
    /// prints more than the caps; a non-zero exit is an answer, not an error.
    pub async fn run(&self, script: &str, what: &str) -> Result<RunOutput> {
        self.exec(
            script,
            None::<&mut tokio::io::Empty>,
            0,
            self.command_timeout,
            what,
        )
        .await
    }

    /// [`Remote::run`] bounded by `timeout` in place of the command timeout.
    pub async fn run_within(
        &self,
        script: &str,
        what: &str,
        timeout: Duration,
    ) -> Result<RunOutput> {
        self.exec(script, None::<&mut tokio::io::Empty>, 0, timeout, what)
            .await
    }

    /// [`Remote::run_ok`] for a command that may legitimately wait `extra` longer than the
    /// command timeout (a graceful stop that has its own timeout).
    pub async fn run_ok_within(&self, script: &str, what: &str, extra: Duration) -> Result<String> {
        let out = self
            .exec(
                script,
                None::<&mut tokio::io::Empty>,
                0,
                self.command_timeout + extra,
                what,
            )
            .await?;
        if !out.success() {
            return Err(out.error(&format!("{}: {what}", self.name)));
        }
        Ok(out.stdout)
    }

    /// Runs `script` and fails with its stderr unless it exits 0.
    pub async fn run_ok(&self, script: &str, what: &str) -> Result<String> {
        let out = self.run(script, what).await?;
        if !out.success() {
            return Err(out.error(&format!("{}: {what}", self.name)));
        }
        Ok(out.stdout)
    }

    /// Writes `data` to `dest` atomically (temp file beside it, then rename), with `mode`.
    pub async fn put(&self, dest: &str, mode: u32, data: &[u8]) -> Result<()> {
        self.run_with_input(
            &atomic_write_script(dest, mode),
            data,
            &format!("writing {dest}"),
        )
        .await
        .map(|_| ())
    }

    /// Runs `script` with `data` on its stdin; fails with its stderr unless it exits 0.
    pub async fn run_with_input(&self, script: &str, data: &[u8], what: &str) -> Result<String> {
        let mut data = data;
        let (timeout, sent) = (self.transfer_timeout(data.len() as u64), data.len() as u64);
        self.run_with_reader(script, &mut data, sent, timeout, what)
            .await
    }

    /// Streams a local file to `dest` atomically.
    pub async fn put_file(&self, dest: &str, mode: u32, local: &Path) -> Result<()> {
        let mut file = tokio::fs::File::open(local)
            .await
            .with_context(|| format!("cannot open {}", local.display()))?;
        let size = file
            .metadata()
            .await
            .with_context(|| format!("cannot read {}", local.display()))?
            .len();
        self.run_with_reader(
            &atomic_write_script(dest, mode),
            &mut file,
            size,
            self.transfer_timeout(size),
            &format!("uploading {} to {dest}", local.display()),
        )
        .await
        .map(|_| ())
    }

    /// Streams a local file to `dest` and commits it only whole: the host checks its size and
    /// sha256 against `size`/`sha256`, fsyncs it, renames it into place and records the checksum
    /// beside it (`<dest>.sha256`, with the size and mtime it belongs to). A cut stream, a full
    /// disk or a corrupted byte leaves `dest` as it was and no temporary file behind.
    pub async fn put_file_verified(
        &self,
        dest: &str,
        mode: u32,
        local: &Path,
        size: u64,
        sha256: &str,
    ) -> Result<()> {
        let mut file = tokio::fs::File::open(local)
            .await
            .with_context(|| format!("cannot open {}", local.display()))?;
        self.run_with_reader(
            &verified_write_script(dest, mode, size, sha256),
            &mut file,
            size,
            self.transfer_timeout(size),
            &format!("uploading {} to {dest}", local.display()),
        )
        .await
        .map(|_| ())
    }

    /// The deadline of a command that sends `bytes` on its stdin.
    pub fn transfer_timeout(&self, bytes: u64) -> Duration {
        transfer_timeout(self.command_timeout, self.transfer_rate, bytes)
    }

    /// Runs `script` with everything `input` yields on its stdin.
    async fn run_with_reader<R: AsyncRead + Unpin>(
        &self,
        script: &str,
        input: &mut R,
        sent: u64,
        timeout: Duration,
        what: &str,
    ) -> Result<String> {
        let out = self.exec(script, Some(input), sent, timeout, what).await?;
        if !out.success() {
            return Err(out.error(&format!("{}: {what}", self.name)));
        }
        Ok(out.stdout)
    }

    /// Every remote command goes through here, so here it is logged (`runlog`: host, text,
    /// exit status, duration, bytes; `sent` is what its stdin carries).
    async fn exec<R: AsyncRead + Unpin>(
        &self,
        script: &str,
        input: Option<&mut R>,
        sent: u64,
        timeout: Duration,
        what: &str,
    ) -> Result<RunOutput> {
        let started = std::time::Instant::now();
        let result = self.exec_bounded(script, input, timeout, what).await;
        crate::runlog::command(&crate::runlog::CommandRecord {
            host: &self.name,
            what,
            script,
            become_sudo: self.become_sudo,
            took: started.elapsed(),
            sent,
            result: match &result {
                Ok(o) => Ok((o.status, o.stdout.len(), o.stderr.len())),
                Err(e) => Err(format!("{e:#}")),
            },
        });
        result
    }

    /// Spawned under the host's `timeout` guard, its stdin fed and its stdout/stderr read
    /// concurrently, all of it before one deadline. Returning early (deadline, cap) drops the
    /// child, which closes its channel.
    async fn exec_bounded<R: AsyncRead + Unpin>(
        &self,
        script: &str,
        input: Option<&mut R>,
        timeout: Duration,
        what: &str,
    ) -> Result<RunOutput> {
        let deadline = Instant::now() + timeout;
        let fail = |e: Bounded| e.into_error(&self.name, what, timeout);
        let guarded = guarded_command(script, remote_limit(timeout));
        let line = if self.become_sudo {
            become_command(&guarded)
        } else {
            guarded
        };
        let mut cmd = self.session.raw_command(line);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = match tokio::time::timeout_at(deadline, cmd.spawn()).await {
            Err(_) => return Err(fail(Bounded::TimedOut)),
            Ok(Err(e)) => {
                return Err(fail(Bounded::Io(anyhow!(
                    "cannot start the command: {}",
                    ssh_error_text(&e)
                ))))
            }
            Ok(Ok(c)) => c,
        };
        let stdin = child.stdin().take();
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        let exit = async move {
            match child.wait().await {
                Ok(s) => Ok(s.code()),
                // Killed by a signal: no exit code.
                Err(openssh::Error::RemoteProcessTerminated) => Ok(None),
                // openssh reads exit 127 as "command not found": still an exit code here.
                Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok(Some(127))
                }
                Err(e) => Err(anyhow!("{}", ssh_error_text(&e))),
            }
        };
        let input = match (input, stdin) {
            (Some(i), Some(s)) => Some((i, s)),
            _ => None,
        };
        bounded(
            input,
            stdout,
            stderr,
            exit,
            Limits {
                deadline,
                stdout_cap: STDOUT_CAP,
                stderr_cap: STDERR_CAP,
            },
        )
        .await
        .map_err(fail)
        .and_then(|out| match become_failure(&out) {
            Some(why) => Err(anyhow!("{}: {why}", self.name)),
            None => Ok(out),
        })
    }

    pub async fn close(self) {
        crate::remote::probe::unroute(self.session.control_socket());
        if self.keep {
            // Left running for the next run; it exits on its own after `--ssh-persist` idle.
            let _ = self.session.detach();
        } else {
            let _ = self.session.close().await;
        }
    }
}

/// How long a command that sends `bytes` may take: the command timeout plus the time the data
/// takes at `rate` bytes per second, in whole seconds.
pub fn transfer_timeout(command_timeout: Duration, rate: u64, bytes: u64) -> Duration {
    command_timeout + Duration::from_secs(bytes.div_ceil(rate.max(1)))
}

/// The host's own limit for a command we wait `timeout` for: a little longer, whole seconds.
fn remote_limit(timeout: Duration) -> u64 {
    timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0) + REMOTE_GRACE_SECS
}

/// The command line that runs `script` with `sh -c`, under `timeout -k 5 SECS` when the host
/// has a `timeout` that takes `-k` (coreutils, recent busybox), else bare. The script is passed
/// as one argument (`$1`), quoted once: the guard is fixed text around it.
pub fn guarded_command(script: &str, secs: u64) -> String {
    let k = REMOTE_KILL_AFTER;
    let guard = format!(
        "if command -v timeout >/dev/null 2>&1 && timeout -k {k} 1 true >/dev/null 2>&1; then exec timeout -k {k} {secs} sh -c \"$1\"; fi; exec sh -c \"$1\""
    );
    format!("sh -c {} sh {}", shell_quote(&guard), shell_quote(script))
}

/// The exit status of the become wrapper when sudo itself cannot run the script.
const BECOME_FAILED: i32 = 125;
const BECOME_TAG: &str = "stackctl-become:";

/// `line` (a guarded command) run as root through `sudo -n`: non-interactive, so a sudo that
/// wants a password fails at once instead of hanging. sudo is tried first with `true`, so its
/// own refusal is told apart from the script's exit status; the script, its stdin (which is
/// where file contents and secrets travel) and the `timeout` guard all run under one sudo.
pub fn become_command(line: &str) -> String {
    let wrapper = format!(
        "if ! command -v sudo >/dev/null 2>&1; then echo '{BECOME_TAG} not-installed' >&2; exit {BECOME_FAILED}; fi
         if ! e=$(sudo -n true 2>&1 </dev/null); then printf '{BECOME_TAG} %s\n' \"$e\" >&2; exit {BECOME_FAILED}; fi
         exec sudo -n -- {line}"
    );
    format!("sh -c {}", shell_quote(&wrapper))
}

/// Why become failed on a host, in the operator's words, from the wrapper's answer.
pub fn become_failure(out: &RunOutput) -> Option<String> {
    if out.status != Some(BECOME_FAILED) {
        return None;
    }
    let said = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix(BECOME_TAG))?
        .trim();
    Some(if said == "not-installed" {
        "become: sudo is not installed (install it, or log in as root and drop `become`)".into()
    } else if said.contains("password is required") || said.contains("a terminal is required") {
        format!(
            "become: sudo asks for a password (sudo -n: {said}); stackctl never types one: allow the login user passwordless sudo (NOPASSWD in /etc/sudoers.d) or log in as root"
        )
    } else if said.contains("not in the sudoers")
        || said.contains("not allowed")
        || said.contains("may not run sudo")
    {
        format!("become: the login user may not use sudo (sudo -n: {said}); add it to sudoers with NOPASSWD")
    } else {
        format!("become: sudo -n refused (sudo -n: {said})")
    })
}

/// Why a bounded command did not give an answer.
#[derive(Debug)]
pub enum Bounded {
    /// The deadline passed.
    TimedOut,
    /// A stream went past its cap.
    TooLarge { stream: &'static str, cap: usize },
    /// Anything else (the channel failed, stdin could not be written to a command that then
    /// exited 0).
    Io(anyhow::Error),
}

impl Bounded {
    /// `<host>: <step>: <why>`.
    pub fn into_error(self, host: &str, what: &str, timeout: Duration) -> anyhow::Error {
        match self {
            Bounded::TimedOut => anyhow!("{host}: {what}: no answer within {}", secs(timeout)),
            Bounded::TooLarge { stream, cap } => {
                anyhow!("{host}: {what}: output larger than {cap} bytes (on {stream})")
            }
            Bounded::Io(e) => anyhow!("{host}: {what}: {e:#}"),
        }
    }
}

impl std::fmt::Display for Bounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bounded::TimedOut => write!(f, "no answer before the deadline"),
            Bounded::TooLarge { stream, cap } => {
                write!(f, "output larger than {cap} bytes (on {stream})")
            }
            Bounded::Io(e) => write!(f, "{e:#}"),
        }
    }
}

/// "120 s", "0.5 s".
fn secs(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The bounds of one command.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub deadline: Instant,
    pub stdout_cap: usize,
    pub stderr_cap: usize,
}

/// Feeds `input` (source, the child's stdin) and reads `stdout`/`stderr` concurrently, each to
/// its cap, then awaits `exit` (the child's exit code, `None` for a signal), all before
/// `limits.deadline`. Stdin is closed once the source is exhausted. Past the deadline or a cap
/// it returns at once; the caller then drops the child, which ends it (an ssh channel closes,
/// a local child with `kill_on_drop` is killed). Output is read to the end before the exit is
/// awaited: a finished exit may cut off output still in flight.
///
/// A command that exits non-zero is an answer (with its stderr), even if it stopped reading
/// its stdin early; one that exits 0 without taking all of its stdin is an error.
pub async fn bounded<I, W, O, E, F>(
    input: Option<(I, W)>,
    stdout: Option<O>,
    stderr: Option<E>,
    exit: F,
    limits: Limits,
) -> Result<RunOutput, Bounded>
where
    I: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
    F: Future<Output = Result<Option<i32>>>,
{
    let work = async {
        // Never an Err for try_join: a failed send must not hide what the command said.
        let send = async {
            let Some((mut src, mut dst)) = input else {
                return Ok::<_, Bounded>(Ok(()));
            };
            let r = tokio::io::copy(&mut src, &mut dst).await;
            let _ = dst.shutdown().await;
            drop(dst);
            Ok(r.map(|_| ()))
        };
        let (sent, out, err) = tokio::try_join!(
            send,
            read_capped(stdout, limits.stdout_cap, "stdout"),
            read_capped(stderr, limits.stderr_cap, "stderr"),
        )?;
        let status = exit.await.map_err(Bounded::Io)?;
        if let (Err(e), Some(0)) = (&sent, status) {
            return Err(Bounded::Io(anyhow!("sending data: {e}")));
        }
        Ok(RunOutput {
            status,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
        })
    };
    match tokio::time::timeout_at(limits.deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(Bounded::TimedOut),
    }
}

/// Reads `r` to its end, at most `cap` bytes: one byte more is an error, and nothing past it
/// is read or kept.
async fn read_capped<R: AsyncRead + Unpin>(
    r: Option<R>,
    cap: usize,
    stream: &'static str,
) -> Result<Vec<u8>, Bounded> {
    let Some(r) = r else {
        return Ok(Vec::new());
    };
    let mut buf = Vec::new();
    r.take(cap as u64 + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| Bounded::Io(anyhow!("reading {stream}: {e}")))?;
    if buf.len() > cap {
        return Err(Bounded::TooLarge { stream, cap });
    }
    Ok(buf)
}

/// A script that reads stdin into a temporary file beside `dest` and renames it into place.
/// A failed or interrupted transfer leaves only the temporary file, which is removed.
pub fn atomic_write_script(dest: &str, mode: u32) -> String {
    let d = shell_quote(dest);
    format!(
        "set -e; d=$(dirname {d}); mkdir -p \"$d\"; t=$(mktemp \"$d/.stackctl-tmp.XXXXXX\"); \
         trap 'rm -f \"$t\"' EXIT; cat > \"$t\"; chmod {mode:o} \"$t\"; mv -f \"$t\" {d}; trap - EXIT"
    )
}

/// Like `atomic_write_script`, but the temporary file must have exactly `size` bytes and the
/// `sha256` before it is fsynced and renamed; then the checksum record is written beside it.
pub fn verified_write_script(dest: &str, mode: u32, size: u64, sha256: &str) -> String {
    let d = shell_quote(dest);
    let rec = shell_quote(&format!("{dest}.sha256"));
    let sum = shell_quote(sha256);
    format!(
        "set -e; f={d}; r={rec}; d=$(dirname \"$f\"); mkdir -p \"$d\"; t=$(mktemp \"$d/.stackctl-tmp.XXXXXX\"); \
         trap 'rm -f \"$t\" \"$r.tmp\"' EXIT; cat > \"$t\"; \
         n=$(wc -c < \"$t\"); if [ \"$n\" -ne {size} ]; then echo \"received $n of {size} bytes\" >&2; exit 1; fi; \
         h=$(sha256sum < \"$t\" | cut -d' ' -f1); if [ \"$h\" != {sum} ]; then echo \"sha256 $h, expected {sum}\" >&2; exit 1; fi; \
         chmod {mode:o} \"$t\"; sync -- \"$t\" 2>/dev/null || sync; mv -f \"$t\" \"$f\"; \
         printf '%s %s\\n' {sum} \"$(stat -c '%s %Y' \"$f\")\" > \"$r.tmp\"; mv -f \"$r.tmp\" \"$r\"; trap - EXIT"
    )
}

/// openssh's error chain holds ssh's own words ("Host key verification failed.") in a source.
fn ssh_error_text(e: &openssh::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(text.trim());
        }
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a become command line locally with `bin` first in PATH (a fake sudo), `stdin` fed.
    fn become_run(bin: &Path, script: &str, stdin: &str) -> RunOutput {
        use std::io::Write;
        let line = become_command(&guarded_command(script, 30));
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        RunOutput {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    fn fake_sudo(dir: &Path, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join("sudo");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn become_runs_the_script_and_its_stdin_under_sudo_and_names_what_sudo_refused() {
        let base = std::env::temp_dir().join(format!("stackctl-become-{}", std::process::id()));
        // A sudo that logs its arguments and runs what follows `--`: the script, its
        // guard and its stdin all go through it, and no stdin data is on its command line.
        let ok = base.join("ok");
        let log = base.join("args");
        fake_sudo(
            &ok,
            &format!(
                "echo \"$*\" >> {}; [ \"$1\" = -n ] || exit 9; shift; [ \"$1\" = -- ] && shift; exec \"$@\"",
                log.display()
            ),
        );
        let out = become_run(&ok, "read x; echo \"got $x\"; exit 3", "secret-value\n");
        assert_eq!(out.status, Some(3), "{out:?}");
        assert_eq!(out.stdout.trim(), "got secret-value");
        assert!(become_failure(&out).is_none());
        let args = std::fs::read_to_string(&log).unwrap();
        assert!(args.lines().any(|l| l.starts_with("-n true")), "{args}");
        assert!(args.contains("-n -- sh -c"), "{args}");
        assert!(!args.contains("secret-value"), "{args}");
        // A sudo that wants a password.
        let pw = base.join("pw");
        fake_sudo(&pw, "echo 'sudo: a password is required' >&2; exit 1");
        let out = become_run(&pw, "echo never", "");
        assert!(!out.stdout.contains("never"));
        let why = become_failure(&out).expect("a become failure");
        assert!(why.contains("sudo asks for a password"), "{why}");
        // A user sudo does not know.
        let no = base.join("no");
        fake_sudo(
            &no,
            "echo 'Sorry, user ops may not run sudo on host1.' >&2; exit 1",
        );
        let why = become_failure(&become_run(&no, "true", "")).unwrap();
        assert!(why.contains("may not use sudo"), "{why}");
        // No sudo at all (an empty PATH directory first; /usr/bin has none on this machine,
        // or the case is skipped).
        let none = base.join("none");
        std::fs::create_dir_all(&none).unwrap();
        if !Path::new("/usr/bin/sudo").exists() && !Path::new("/bin/sudo").exists() {
            let why = become_failure(&become_run(&none, "true", "")).unwrap();
            assert!(why.contains("sudo is not installed"), "{why}");
        }
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_verified_upload_commits_only_whole_and_correct_data() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("it's a dist.tgz").display().to_string();
        let data = b"0123456789".repeat(1000);
        let sum = hex::encode(sha2::Sha256::digest(&data));
        let run = |script: &str, input: &[u8]| {
            use std::io::Write;
            let mut c = std::process::Command::new("sh")
                .args(["-c", script])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            c.stdin.take().unwrap().write_all(input).unwrap();
            let o = c.wait_with_output().unwrap();
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };
        let leftovers = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("stackctl-tmp") || n.ends_with(".tmp"))
                .collect::<Vec<_>>()
        };
        let script = verified_write_script(&dest, 0o644, data.len() as u64, &sum);
        // Cut short (the controller died mid-stream): nothing committed, nothing left.
        let (ok, err) = run(&script, &data[..4000]);
        assert!(!ok && err.contains("received 4000 of 10000 bytes"), "{err}");
        assert!(!std::path::Path::new(&dest).exists());
        assert!(leftovers().is_empty(), "{:?}", leftovers());
        // Whole but corrupted: refused too.
        let mut bad = data.clone();
        bad[5000] ^= 1;
        let (ok, err) = run(&script, &bad);
        assert!(!ok && err.contains("expected"), "{err}");
        assert!(!std::path::Path::new(&dest).exists() && leftovers().is_empty());
        // Whole and correct: in place, with its checksum record.
        let (ok, err) = run(&script, &data);
        assert!(ok, "{err}");
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        let rec = std::fs::read_to_string(format!("{dest}.sha256")).unwrap();
        assert!(rec.starts_with(&format!("{sum} 10000 ")), "{rec}");
        assert!(leftovers().is_empty(), "{:?}", leftovers());
    }

    #[test]
    fn the_control_directory_is_fresh_private_and_refuses_an_existing_path() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("stk");
        fresh_private_dir(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        // Already there (pre-created by someone else): refused.
        assert!(fresh_private_dir(&dir).is_err());
        // A symlink planted at the path: refused, and the target is left alone.
        let target = base.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let link = base.path().join("stk-link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(fresh_private_dir(&link).is_err());
        // Ours: created once per process, the same path every time.
        let a = control_dir().unwrap();
        assert_eq!(a, control_dir().unwrap());
        assert!(a.display().to_string().len() < 40, "{}", a.display());
    }
    use std::process::Stdio as PStdio;
    use tokio::process::{Child, Command};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A local child read by `bounded` exactly as a remote one is; killed when dropped.
    fn spawn(prog: &str, args: &[&str], stdin: bool) -> Child {
        Command::new(prog)
            .args(args)
            .stdin(if stdin {
                PStdio::piped()
            } else {
                PStdio::null()
            })
            .stdout(PStdio::piped())
            .stderr(PStdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    async fn run_local(
        mut child: Child,
        input: Option<&[u8]>,
        timeout: Duration,
        caps: (usize, usize),
    ) -> Result<RunOutput, Bounded> {
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let exit = async move { Ok(child.wait().await?.code()) };
        let input = input.zip(stdin);
        bounded(
            input,
            stdout,
            stderr,
            exit,
            Limits {
                deadline: Instant::now() + timeout,
                stdout_cap: caps.0,
                stderr_cap: caps.1,
            },
        )
        .await
    }

    /// Gone, or a zombie: either way no longer running.
    fn wait_gone(pid: u32) -> bool {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(st)
                    if st
                        .rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z') =>
                {
                    return true
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    #[test]
    fn endless_output_stops_at_the_cap_and_the_command_is_killed() {
        rt().block_on(async {
            // `yes` prints forever: at the real cap (16 MiB) the read stops, the child dies.
            let child = spawn("yes", &[], false);
            let pid = child.id().unwrap();
            let t0 = std::time::Instant::now();
            let r = run_local(
                child,
                None,
                Duration::from_secs(20),
                (STDOUT_CAP, STDERR_CAP),
            )
            .await;
            match r {
                Err(Bounded::TooLarge { stream, cap }) => {
                    assert_eq!((stream, cap), ("stdout", STDOUT_CAP))
                }
                other => panic!("{other:?}"),
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
            assert!(wait_gone(pid), "yes ({pid}) still runs");
            // The same on stderr, with its own (smaller) cap.
            let child = spawn("sh", &["-c", "exec yes >&2"], false);
            let pid = child.id().unwrap();
            match run_local(child, None, Duration::from_secs(20), (1 << 20, 4096)).await {
                Err(Bounded::TooLarge { stream, cap }) => {
                    assert_eq!((stream, cap), ("stderr", 4096))
                }
                other => panic!("{other:?}"),
            }
            assert!(wait_gone(pid), "yes ({pid}) still runs");
        });
    }

    #[test]
    fn a_command_that_never_answers_ends_at_the_deadline_and_is_killed() {
        rt().block_on(async {
            let child = spawn("sleep", &["600"], false);
            let pid = child.id().unwrap();
            let t0 = std::time::Instant::now();
            let r = run_local(child, None, Duration::from_millis(300), (1 << 20, 1 << 20)).await;
            assert!(matches!(r, Err(Bounded::TimedOut)), "{r:?}");
            let took = t0.elapsed();
            assert!(took >= Duration::from_millis(300), "{took:?}");
            assert!(took < Duration::from_secs(3), "{took:?}");
            assert!(wait_gone(pid), "sleep ({pid}) still runs");
            // One that does not read its stdin and does not exit: the deadline, not a hang on
            // the write.
            let child = spawn("sleep", &["600"], true);
            let pid = child.id().unwrap();
            let data = vec![b'x'; 4 << 20];
            let r = run_local(
                child,
                Some(&data),
                Duration::from_millis(300),
                (1 << 20, 1 << 20),
            )
            .await;
            assert!(matches!(r, Err(Bounded::TimedOut)), "{r:?}");
            assert!(wait_gone(pid), "sleep ({pid}) still runs");
        });
    }

    #[test]
    fn an_ordinary_command_gives_its_output_and_exit_code() {
        rt().block_on(async {
            let child = spawn("sh", &["-c", "echo out; echo err >&2; exit 3"], false);
            let out = run_local(child, None, Duration::from_secs(10), (1 << 20, 1 << 20))
                .await
                .unwrap();
            assert_eq!(
                (out.status, out.stdout.as_str(), out.stderr.as_str()),
                (Some(3), "out\n", "err\n")
            );
            // Exactly the cap is still an answer.
            let child = spawn("head", &["-c", "4096", "/dev/zero"], false);
            let out = run_local(child, None, Duration::from_secs(10), (4096, 16))
                .await
                .unwrap();
            assert_eq!(out.stdout.len(), 4096);
            // Input and output at once: 4 MiB through `cat` (far past any pipe buffer) would
            // deadlock if stdin were written before stdout is read.
            let data: Vec<u8> = (0..4u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
            let child = spawn("cat", &[], true);
            let out = run_local(
                child,
                Some(&data),
                Duration::from_secs(20),
                (8 << 20, 1 << 20),
            )
            .await
            .unwrap();
            assert!(out.success());
            assert_eq!(out.stdout.as_bytes(), &data[..]);
            // A command that fails before reading its input: its own error, not a broken pipe.
            let child = spawn("sh", &["-c", "echo 'no space left' >&2; exit 1"], true);
            let out = run_local(
                child,
                Some(&data),
                Duration::from_secs(10),
                (1 << 20, 1 << 20),
            )
            .await
            .unwrap();
            assert_eq!(out.status, Some(1));
            assert!(out.stderr.contains("no space left"));
        });
    }

    #[test]
    fn errors_name_the_host_and_the_step() {
        let t = Duration::from_secs(5);
        assert_eq!(
            Bounded::TimedOut
                .into_error("host2", "gathering facts", t)
                .to_string(),
            "host2: gathering facts: no answer within 5 s"
        );
        assert_eq!(
            Bounded::TooLarge {
                stream: "stdout",
                cap: 16
            }
            .into_error("host1", "reading /x", t)
            .to_string(),
            "host1: reading /x: output larger than 16 bytes (on stdout)"
        );
        assert_eq!(
            Bounded::TimedOut
                .into_error("h", "s", Duration::from_millis(1500))
                .to_string(),
            "h: s: no answer within 1.5 s"
        );
    }

    #[test]
    fn uploads_get_time_in_proportion_to_their_size() {
        let base = Duration::from_secs(120);
        assert_eq!(transfer_timeout(base, 1 << 20, 0), base);
        assert_eq!(
            transfer_timeout(base, 1 << 20, 1),
            base + Duration::from_secs(1)
        );
        assert_eq!(
            transfer_timeout(base, 1 << 20, 700 << 20),
            base + Duration::from_secs(700)
        );
        assert_eq!(
            transfer_timeout(base, 0, 10),
            base + Duration::from_secs(10)
        );
        assert_eq!(remote_limit(Duration::from_secs(5)), 5 + REMOTE_GRACE_SECS);
        assert_eq!(
            remote_limit(Duration::from_millis(4100)),
            5 + REMOTE_GRACE_SECS
        );
    }

    /// Runs a guarded command line as sshd would: the login shell's `-c`.
    fn sh_c(cmd: &str, path: Option<&Path>) -> std::process::Output {
        let mut c = std::process::Command::new("/bin/sh");
        c.arg("-c").arg(cmd).stdin(PStdio::null());
        if let Some(p) = path {
            c.env("PATH", p);
        }
        c.output().unwrap()
    }

    #[test]
    fn the_host_side_guard_runs_the_script_verbatim_and_ends_it_with_its_children() {
        // Quoting: the script reaches `sh -c` as it was written.
        let script =
            "x='it'\\''s'; printf '%s|%s\\n' \"$x\" \"$0\"; printf '%s\\n' \"$(echo '$HOME')\"";
        let guarded = sh_c(&guarded_command(script, 30), None);
        assert!(guarded.status.success(), "{guarded:?}");
        assert_eq!(String::from_utf8_lossy(&guarded.stdout), "it's|sh\n$HOME\n");
        // Exit codes come through.
        assert_eq!(
            sh_c(&guarded_command("exit 7", 30), None).status.code(),
            Some(7)
        );
        // Past its limit the script and what it started in the background are ended.
        let t0 = std::time::Instant::now();
        let out = sh_c(
            &guarded_command("sleep 30 & echo $!; wait; echo not-reached", 1),
            None,
        );
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
        assert_eq!(out.status.code(), Some(124), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("not-reached"), "{text}");
        let pid: u32 = text.trim().parse().unwrap();
        assert!(wait_gone(pid), "the background sleep ({pid}) still runs");
        // Without `timeout` on the host: the script runs bare.
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/bin/sh", dir.path().join("sh")).unwrap();
        let out = sh_c(&guarded_command("echo bare", 1), Some(dir.path()));
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "bare\n");
    }

    #[test]
    fn atomic_write_quotes_the_destination() {
        let s = atomic_write_script("/opt/x y/$(id)'z", 0o644);
        assert!(s.contains("'/opt/x y/$(id)'\\''z'"), "{s}");
        assert!(s.contains("chmod 644"));
        // The script parses as shell.
        let st = std::process::Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(&s)
            .status()
            .unwrap();
        assert!(st.success());
    }
}
