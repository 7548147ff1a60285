//! SSH to the hosts through the system OpenSSH (`openssh` crate, one multiplexed master
//! connection per host), so `~/.ssh/config`, agents, ProxyJump and known_hosts all apply.
//!
//! Every command is one `sh -c` script whose variable parts are quoted with `shell_quote`; every
//! file is written to a temporary name beside its target and renamed, so an interrupted run
//! never leaves half a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use std::num::NonZeroUsize;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;

use crate::inventory::Host;
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
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            config: None,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            master_idle: Duration::from_secs(300),
        }
    }
}

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
}

/// Removes this process's (empty) control directory; the sockets inside went with the sessions.
pub fn cleanup() {
    let _ = std::fs::remove_dir(format!("/tmp/stk-{}", std::process::id()));
}

/// A short control directory: unix socket paths are limited to about 100 bytes.
fn control_dir() -> Result<PathBuf> {
    let dir = PathBuf::from(format!("/tmp/stk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

impl Remote {
    pub async fn connect(host: &Host, opts: &SshOptions) -> Result<Remote> {
        let mut b = SessionBuilder::default();
        b.user(host.ssh_user.clone())
            .port(host.ssh_port)
            .known_hosts_check(if opts.accept_new_host_keys {
                KnownHosts::Accept
            } else {
                KnownHosts::Strict
            })
            .connect_timeout(opts.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            .control_directory(control_dir()?)
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(opts.master_idle.as_secs().max(1) as usize)
                    .expect("at least one second"),
            ));
        if let Some(cfg) = &opts.config {
            b.config_file(cfg);
        }
        let session = b
            .connect_mux(&host.address)
            .await
            .map_err(|e| anyhow!("{}", ssh_error_text(&e)))
            .with_context(|| {
                format!(
                    "cannot connect to {} ({}@{}:{})",
                    host.name, host.ssh_user, host.address, host.ssh_port
                )
            })?;
        Ok(Remote {
            name: host.name.clone(),
            session,
        })
    }

    /// Runs `script` with `sh -c` and collects its output.
    pub async fn run(&self, script: &str) -> Result<RunOutput> {
        let out = self
            .session
            .raw_command(format!("sh -c {}", shell_quote(script)))
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("{}: running a command", self.name))?;
        Ok(RunOutput {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs `script` and fails with its stderr unless it exits 0.
    pub async fn run_ok(&self, script: &str, what: &str) -> Result<String> {
        let out = self.run(script).await?;
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
        self.run_with_reader(script, &mut data, what).await
    }

    /// Streams a local file to `dest` atomically.
    pub async fn put_file(&self, dest: &str, mode: u32, local: &Path) -> Result<()> {
        let mut file = tokio::fs::File::open(local)
            .await
            .with_context(|| format!("cannot open {}", local.display()))?;
        self.run_with_reader(
            &atomic_write_script(dest, mode),
            &mut file,
            &format!("uploading {} to {dest}", local.display()),
        )
        .await
        .map(|_| ())
    }

    /// Runs `script` with everything `input` yields on its stdin.
    async fn run_with_reader<R: tokio::io::AsyncRead + Unpin>(
        &self,
        script: &str,
        input: &mut R,
        what: &str,
    ) -> Result<String> {
        let mut child = self
            .session
            .raw_command(format!("sh -c {}", shell_quote(script)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .with_context(|| format!("{}: {what}", self.name))?;
        let mut stdin = child.stdin().take().ok_or_else(|| anyhow!("no stdin"))?;
        tokio::io::copy(input, &mut stdin)
            .await
            .with_context(|| format!("{}: {what}: sending data", self.name))?;
        stdin.shutdown().await.ok();
        drop(stdin);
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            return Err(anyhow!(
                "{}: {what} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn close(self) {
        let _ = self.session.close().await;
    }
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
