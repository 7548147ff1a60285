//! SSH masters kept between runs (`--ssh-persist SECONDS`), as Ansible's ControlPersist does:
//! the next `status` or `verify` within that time reuses each host's connection instead of a
//! new handshake and login. Off by default.
//!
//! The masters live in one private directory: `$XDG_RUNTIME_DIR/stackctl-ssh`, else
//! `/tmp/stk-<uid>-ssh`; it must be ours, a real directory and mode 0700, or nothing is reused
//! and the run fails naming it (someone else's directory could hand us their socket). Each
//! host's master is recorded under a key of everything that decides how ssh connects (the
//! destination, user, port, proxy, the ssh_config file, the host-key policy): a run with other
//! settings never takes another's connection. A recorded socket is used only if it sits in
//! that directory, is a socket we own and its master answers ssh's check; else it is removed.
//!
//! What this trades: while a kept master lives, a run does not authenticate again nor check
//! the host key again (both were checked when the master was made).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Result};
use openssh::Session;
use sha2::{Digest, Sha256};

use crate::inventory::Host;
use crate::remote::sshcfg::Route;

/// The record of one host's kept master in the directory.
pub struct Kept {
    dir: PathBuf,
    record: PathBuf,
}

/// What decides how ssh connects to `host`, hashed: two runs share a master only when all of
/// it is the same.
pub fn key(host: &Host, route: &Route, config: Option<&Path>, accept_new: bool) -> String {
    let parts = [
        route.destination.as_str(),
        route.user.as_deref().unwrap_or(""),
        route.port.as_deref().unwrap_or(""),
        route.proxy.as_deref().unwrap_or(""),
        host.ssh_user.as_deref().unwrap_or(""),
        &host.ssh_port.map(|p| p.to_string()).unwrap_or_default(),
        &config.map(|c| c.display().to_string()).unwrap_or_default(),
        if accept_new { "accept-new" } else { "strict" },
    ];
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.len().to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..12])
}

/// The directory of kept masters: `$XDG_RUNTIME_DIR/stackctl-ssh`, else `/tmp/stk-<uid>-ssh`.
pub fn dir() -> Result<PathBuf> {
    let uid = own_uid()?;
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(run) => PathBuf::from(run).join("stackctl-ssh"),
        None => PathBuf::from(format!("/tmp/stk-{uid}-ssh")),
    };
    private_dir(&dir, uid).map_err(|e| anyhow!("--ssh-persist: {e}"))?;
    Ok(dir)
}

/// The uid this process runs as: the owner of what it creates, read from /proc/self.
fn own_uid() -> Result<u32> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/self")
        .map_err(|e| anyhow!("--ssh-persist: /proc/self: {e}"))?
        .uid())
}

/// Creates `dir` 0700, or accepts it as it is only if it is a real directory of `uid` that no
/// one else can enter.
pub fn private_dir(dir: &Path, uid: u32) -> std::result::Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(format!("{} is not a directory (a symlink?)", dir.display()));
    }
    if meta.uid() != uid {
        return Err(format!(
            "{} belongs to uid {}, not to this user ({uid})",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{} has mode {:o}: others could reach our connections (it must be 0700)",
            dir.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    Ok(())
}

/// A recorded socket path is taken only when it is a `master` socket one level down in `dir`,
/// owned by `uid` (a record is a file anyone who can write the directory could edit).
pub fn acceptable_socket(dir: &Path, sock: &Path, uid: u32) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let inside = sock.parent().and_then(Path::parent) == Some(dir)
        && sock.file_name().is_some_and(|n| n == "master")
        && !sock
            .components()
            .any(|c| c == std::path::Component::ParentDir);
    inside
        && std::fs::symlink_metadata(sock)
            .is_ok_and(|m| m.file_type().is_socket() && m.uid() == uid)
}

impl Kept {
    pub fn new(key: &str) -> Result<Kept> {
        let dir = dir()?;
        let record = dir.join(format!("{key}.ctl"));
        Ok(Kept { dir, record })
    }

    /// Where a new master's socket directory goes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The kept master, if there is one that answers; a stale record is removed.
    pub async fn resume(&self, within: Duration) -> Option<Session> {
        let text = std::fs::read_to_string(&self.record).ok()?;
        let sock = PathBuf::from(text.trim());
        let uid = own_uid().ok()?;
        if !acceptable_socket(&self.dir, &sock, uid) {
            self.forget(&sock);
            return None;
        }
        let s = Session::resume_mux(sock.clone().into_boxed_path(), None);
        match tokio::time::timeout(within, s.check()).await {
            Ok(Ok(())) => Some(s),
            _ => {
                // Dropping a resumed session leaves the master alone; it is gone or dying.
                let _ = s.detach();
                self.forget(&sock);
                None
            }
        }
    }

    /// Records a new master's socket for the next run (written whole, then renamed).
    pub fn record(&self, sock: &Path) {
        let tmp = self
            .record
            .with_extension(format!("ctl.{}", std::process::id()));
        if std::fs::write(&tmp, sock.display().to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.record);
        }
    }

    fn forget(&self, sock: &Path) {
        let _ = std::fs::remove_file(&self.record);
        if let Some(d) = sock
            .parent()
            .filter(|d| d.parent() == Some(self.dir.as_path()))
        {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dest: &str, user: Option<&str>) -> Route {
        Route {
            destination: dest.into(),
            proxy: None,
            probe_via_ssh: false,
            user: user.map(String::from),
            port: Some("22".into()),
        }
    }

    fn host() -> Host {
        Host {
            name: "h1".into(),
            address: "10.0.0.1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_key_changes_with_everything_that_decides_the_connection() {
        let h = host();
        let k = |r: &Route| key(&h, r, None, false);
        let base = k(&route("10.0.0.1", Some("root")));
        assert_eq!(base, k(&route("10.0.0.1", Some("root"))));
        assert_eq!(base.len(), 24);
        assert_ne!(base, k(&route("10.0.0.2", Some("root"))));
        assert_ne!(base, k(&route("10.0.0.1", Some("ops"))));
        let mut r = route("10.0.0.1", Some("root"));
        r.proxy = Some("jump".into());
        assert_ne!(base, k(&r));
        let plain = route("10.0.0.1", Some("root"));
        assert_ne!(base, key(&h, &plain, None, true), "accept-new");
        let other = Path::new("/etc/other_config");
        assert_ne!(
            base,
            key(&h, &plain, Some(other), false),
            "another ssh_config"
        );
        let mut h2 = host();
        h2.ssh_port = Some(2222);
        assert_ne!(base, key(&h2, &plain, None, false));
        // Field boundaries count: ("ab", "") is not ("a", "b").
        assert_ne!(k(&route("ab", None)), k(&route("a", Some("b"))));
    }

    #[test]
    fn only_a_private_directory_of_ours_is_used() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let uid = own_uid().unwrap();
        let d = t.path().join("kept");
        private_dir(&d, uid).unwrap();
        assert_eq!(
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        private_dir(&d, uid).unwrap();
        let e = private_dir(&d, uid + 1).unwrap_err();
        assert!(e.contains("belongs to uid"), "{e}");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = private_dir(&d, uid).unwrap_err();
        assert!(e.contains("mode 755"), "{e}");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(t.path(), &link).unwrap();
        let e = private_dir(&link, uid).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn a_recorded_socket_is_taken_only_from_our_directory() {
        let t = tempfile::tempdir().unwrap();
        let uid = own_uid().unwrap();
        let dir = t.path();
        let conn = dir.join(".ssh-connectionAbC");
        std::fs::create_dir(&conn).unwrap();
        let sock = conn.join("master");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(acceptable_socket(dir, &sock, uid));
        assert!(!acceptable_socket(dir, &sock, uid + 1), "another owner");
        // A plain file, a socket elsewhere, another name, a path with "..": refused.
        let file = conn.join("other");
        std::fs::write(&file, "").unwrap();
        assert!(!acceptable_socket(dir, &file, uid));
        let elsewhere = tempfile::tempdir().unwrap();
        let c2 = elsewhere.path().join(".ssh-connectionX");
        std::fs::create_dir(&c2).unwrap();
        let s2 = c2.join("master");
        let _l2 = std::os::unix::net::UnixListener::bind(&s2).unwrap();
        assert!(!acceptable_socket(dir, &s2, uid));
        let dotted = dir.join(".ssh-connectionAbC/../.ssh-connectionAbC/master");
        assert!(!acceptable_socket(dir, &dotted, uid));
    }
}
