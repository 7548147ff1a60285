//! Carrying out a host's changes: archive uploads (skipped when the host has the same
//! checksum), atomic unpacks, and every changed file in one tar stream, each renamed into place.

use anyhow::{anyhow, bail, Result};

use super::changes::{
    archive_dest, journal_path, manifest_path, restart_marker, Archives, HostChanges,
};
use super::session::Target;
use crate::components;
use crate::events::Events;
use crate::inventory::{self, Inventory};
use crate::shell::shell_quote;

/// What one host's install did.
#[derive(Debug, Default, Clone, Copy)]
pub struct InstallStats {
    pub uploaded_bytes: u64,
    pub archives_uploaded: usize,
    pub archives_unpacked: usize,
    pub files_written: usize,
}

/// Uploads and unpacks one component's distribution on a host, as `ch` asks.
pub async fn install_dist(
    inv: &Inventory,
    t: &Target<'_>,
    archives: &Archives<'_>,
    ch: &HostChanges,
    component: &str,
    ev: &Events,
) -> Result<InstallStats> {
    let h = t.host;
    let mut stats = InstallStats::default();
    for spec in inv.components.values().filter(|s| s.name == component) {
        let c = components::find(spec.name).expect("known");
        let Some((local, sum)) = archives.get(spec.name) else {
            continue;
        };
        let dest = archive_dest(h, local);
        if ch.upload.iter().any(|u| u == spec.name) {
            let size = std::fs::metadata(local).map(|m| m.len()).unwrap_or(0);
            ev.emit(
                Some(&h.name),
                "upload",
                &format!("uploading {} ({} MiB)", local.display(), size / (1 << 20)),
            );
            // Checked whole on the host before it replaces anything; the checksum record (read
            // back by facts) is written in the same step.
            t.remote
                .put_file_verified(&dest, 0o644, local, size, sum)
                .await?;
            stats.uploaded_bytes += size;
            stats.archives_uploaded += 1;
        }
        if ch.unpack.iter().any(|u| u == spec.name) {
            let home = components::home_dir(h, c, spec);
            let top = crate::compat::detect::Listing::read(local)
                .ok()
                .and_then(|l| l.top_dir())
                .ok_or_else(|| {
                    anyhow!(
                        "{}: cannot find the top directory of {}",
                        h.name,
                        local.display()
                    )
                })?;
            ev.emit(
                Some(&h.name),
                "unpack",
                &format!("unpacking {} into {home}", local.display()),
            );
            t.remote
                .run_ok(
                    &unpack_script(&dest, &home, &top, sum, &h.install_dir),
                    &format!("unpacking {}", local.display()),
                )
                .await?;
            stats.archives_unpacked += 1;
        }
    }
    Ok(stats)
}

/// Every changed file of a host, plus the manifest and the restarts they owe, as one batch.
pub async fn write_files(
    inv: &Inventory,
    t: &Target<'_>,
    ch: &HostChanges,
    ev: &Events,
) -> Result<InstallStats> {
    let h = t.host;
    let mut stats = InstallStats::default();
    if !ch.create_users.is_empty() {
        t.remote
            .run_ok(
                &create_users_script(&ch.create_users),
                "creating service users",
            )
            .await?;
        ev.emit(
            Some(&h.name),
            "users",
            &format!("created {}", ch.create_users.join(", ")),
        );
    }
    // Every changed file, plus the manifest, in one tar stream.
    if !ch.files.is_empty() {
        let mut manifest = String::new();
        for f in t.planned_files() {
            manifest.push_str(&format!("{}  {}\n", f.sha256, f.path));
        }
        let mut entries: Vec<(String, u32, Vec<u8>)> = t
            .plan
            .files
            .iter()
            .filter(|f| ch.files.contains(&f.path))
            .map(|f| (f.path.clone(), f.mode, f.content.as_bytes().to_vec()))
            .collect();
        entries.push((manifest_path(inv), 0o644, manifest.into_bytes()));
        // The restarts these files make owed, committed with them.
        for role in &ch.restart {
            entries.push((
                restart_marker(&inv.cluster, role),
                0o644,
                b"files changed; the next restart of this service clears this\n".to_vec(),
            ));
        }
        let planned: Vec<String> = t
            .planned_files()
            .map(|f| f.path.clone())
            .chain(std::iter::once(manifest_path(inv)))
            .chain(
                t.services
                    .iter()
                    .map(|s| restart_marker(&inv.cluster, s.role)),
            )
            .collect();
        let token = &crate::remote::facts::mark()["@@stackctl-".len()..];
        let (tar, script) = file_batch(&entries, &planned, &journal_path(&inv.cluster), token)?;
        t.remote
            .run_with_input(&script, &tar, "writing configuration files")
            .await?;
        stats.files_written += ch.files.len();
        ev.emit(
            Some(&h.name),
            "files",
            &format!(
                "wrote {} file{}",
                ch.files.len(),
                if ch.files.len() == 1 { "" } else { "s" }
            ),
        );
    }
    if !ch.chown.is_empty() {
        t.remote
            .run_ok(
                &chown_script(&ch.chown),
                "giving directories to their service users",
            )
            .await?;
        ev.emit(
            Some(&h.name),
            "owners",
            &format!(
                "gave {} to their service users",
                ch.chown
                    .iter()
                    .map(|(p, o)| format!("{p} ({o})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    Ok(stats)
}

/// Creates each missing `user:group` as a system account: no password, no login shell, no
/// home directory.
pub fn create_users_script(accounts: &[String]) -> String {
    let mut s = String::from(
        "set -e; for t in useradd groupadd; do command -v $t >/dev/null 2>&1 || { echo \"$t is not installed: cannot create service users\" >&2; exit 1; }; done\n\
         nl=$(command -v nologin 2>/dev/null || echo /bin/false)\n",
    );
    for a in accounts {
        let (u, g) = a.split_once(':').unwrap_or((a, a));
        let (u, g) = (shell_quote(u), shell_quote(g));
        s.push_str(&format!(
            "getent group {g} >/dev/null || groupadd --system {g}\n\
             getent passwd {u} >/dev/null || useradd --system --gid {g} --no-create-home --home-dir /nonexistent --shell \"$nl\" {u}\n"
        ));
    }
    s
}

/// Gives each path to its `user:group`: a directory (created when missing) with everything
/// inside, a file alone.
pub fn chown_script(paths: &[(String, String)]) -> String {
    let mut s = String::from("set -e; umask 022\n");
    for (p, o) in paths {
        let (p, o) = (shell_quote(p), shell_quote(o));
        s.push_str(&format!(
            "if [ -f {p} ]; then chown {o} {p}; else mkdir -p {p}; chown -R {o} {p}; fi\n"
        ));
    }
    s
}

/// A tar of the files (named by index) and a script that commits them as a whole:
/// 1. leftovers of runs that died before their commit point are removed (`planned`: every path
///    stackctl writes on the host);
/// 2. each file is staged beside its target under a name unique to this run (`token`), its
///    sha256 checked, everything fsynced; any failure (a full disk) removes what was staged and
///    leaves every target as it was;
/// 3. the commit point: a journal of the renames is written and fsynced, then replayed and
///    removed. A run killed after the commit point leaves the journal, which the next run (or
///    `recover_script`) replays, so the host never keeps a mix of two generations.
pub fn file_batch(
    entries: &[(String, u32, Vec<u8>)],
    planned: &[String],
    journal: &str,
    token: &str,
) -> Result<(Vec<u8>, String)> {
    use sha2::Digest;
    let mut b = tar::Builder::new(Vec::new());
    let j = shell_quote(journal);
    let staged: Vec<String> = entries
        .iter()
        .map(|(p, _, _)| format!("{p}.stackctl-new-{token}"))
        .collect();
    let quoted_staged: Vec<String> = staged.iter().map(|s| shell_quote(s)).collect();
    let mut script = format!(
        "set -e; umask 022; J={j}; w=$(dirname \"$J\"); mkdir -p \"$w\"\n\
         if [ -f \"$J\" ]; then sh \"$J\"; rm -f \"$J\"; fi\n\
         rm -rf \"$w\"/.stackctl-batch.*\n\
         s=$(mktemp -d \"$w/.stackctl-batch.XXXXXX\")\n\
         cleanup() {{ rm -rf \"$s\"; rm -f -- {}; }}\n\
         trap cleanup EXIT\n",
        quoted_staged.join(" ")
    );
    for p in planned {
        if !inventory::plain_abs_path(p) {
            bail!("refusing to write {p}: not a plain absolute path");
        }
        let q = shell_quote(p);
        script.push_str(&format!("rm -f -- {q}.stackctl-new-* {q}.stackctl-tmp\n"));
    }
    script.push_str("tar -xf - -C \"$s\"\n");
    let mut journal_lines = String::new();
    for (i, ((path, mode, data), st)) in entries.iter().zip(&quoted_staged).enumerate() {
        if !inventory::plain_abs_path(path) {
            bail!("refusing to write {path}: not a plain absolute path");
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, format!("{i}"), data.as_slice())?;
        let q = shell_quote(path);
        let sum = hex::encode(sha2::Sha256::digest(data));
        script.push_str(&format!(
            "mkdir -p \"$(dirname {q})\"; cp \"$s/{i}\" {st}; chmod {mode:o} {st}; \
             [ \"$(sha256sum < {st} | cut -d' ' -f1)\" = {sum} ] || {{ echo {msg} >&2; exit 1; }}\n",
            msg = shell_quote(&format!("{path}: the staged copy does not match what was sent")),
        ));
        journal_lines.push_str(&format!("if [ -e {st} ]; then mv -f {st} {q}; fi\n"));
    }
    // The renames are made durable by syncing the directories they happened in, not every
    // filesystem: a global `sync` on a broker host would also flush all of Kafka's dirty pages.
    let dirs: Vec<String> = entries
        .iter()
        .filter_map(|(p, _, _)| std::path::Path::new(p).parent())
        .map(|d| shell_quote(&d.display().to_string()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let eof = format!("STACKCTL_JOURNAL_{token}");
    script.push_str(&format!(
        "sync -- {staged} 2>/dev/null || sync\n\
         cat > \"$J.tmp\" <<'{eof}'\n{journal_lines}{eof}\n\
         sync -- \"$J.tmp\" 2>/dev/null || sync; mv -f \"$J.tmp\" \"$J\"\n\
         trap - EXIT; rm -rf \"$s\"\n\
         sh \"$J\"; sync -- {dirs} 2>/dev/null || sync; rm -f \"$J\"\n",
        staged = quoted_staged.join(" "),
        dirs = dirs.join(" "),
    ));
    Ok((b.into_inner()?, script))
}

/// Unpacks an archive *beside* the installed distribution and switches to it: the archive goes
/// to its own generation directory (`<install_dir>/.stackctl/gen/<dist>-<sha>`, atomically: a
/// temporary directory renamed into place), then `home` becomes a symlink to it (replaced by a
/// rename). Launchers resolve that link once when a service starts, so running JVMs keep their
/// generation until they restart. The previous generation is kept, so going back is a switch,
/// not a re-upload; older ones are removed unless a running process still uses them. A real
/// directory at `home` (an older stackctl's) becomes a generation of its own.
pub fn unpack_script(archive: &str, home: &str, top: &str, sum: &str, install_dir: &str) -> String {
    let dist = std::path::Path::new(home)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let gens = format!("{install_dir}/.stackctl/gen");
    let generation = format!("{gens}/{dist}-{}", &sum[..sum.len().min(12)]);
    let (a, h, t, s, g, gd, pat) = (
        shell_quote(archive),
        shell_quote(home),
        shell_quote(top),
        shell_quote(sum),
        shell_quote(&generation),
        shell_quote(&gens),
        shell_quote(&format!("{dist}-")),
    );
    format!(
        "set -e; gd={gd}; g={g}; h={h}; mkdir -p \"$gd\"\n\
         if [ \"$(cat \"$g/.stackctl-unpacked\" 2>/dev/null)\" != {s} ]; then\n\
           tmp=$(mktemp -d \"$gd/.stackctl-unpack.XXXXXX\"); trap 'rm -rf \"$tmp\"' EXIT\n\
           tar -xf {a} -C \"$tmp\"; [ -d \"$tmp\"/{t} ] || {{ echo \"the archive has no {top}/ directory\" >&2; exit 1; }}\n\
           echo {s} > \"$tmp\"/{t}/.stackctl-unpacked; rm -rf \"$g\"; mv \"$tmp\"/{t} \"$g\"\n\
         fi\n\
         prev=\n\
         if [ -L \"$h\" ]; then prev=$(readlink \"$h\"); elif [ -e \"$h\" ]; then prev=\"$gd/\"{pat}\"before-$(date +%s)\"; mv \"$h\" \"$prev\"; fi\n\
         ln -sfn \"$g\" \"$h.stackctl-link\"; mv -T \"$h.stackctl-link\" \"$h\"\n\
         for d in \"$gd\"/{pat}*; do\n\
           [ -d \"$d\" ] || continue; [ \"$d\" = \"$g\" ] && continue; [ \"$d\" = \"$prev\" ] && continue\n\
           if grep -qsF \"$d/\" /proc/[0-9]*/cmdline; then continue; fi\n\
           rm -rf \"$d\"\n\
         done\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::changes::recover_script;
    use std::path::Path;

    /// Runs `script` with `stdin` under `sh`, with `fake_bin` first on PATH.
    fn run(script: &str, stdin: &[u8], fake_bin: Option<&Path>) -> bool {
        use std::io::Write;
        let path = match fake_bin {
            Some(b) => format!("{}:{}", b.display(), std::env::var("PATH").unwrap()),
            None => std::env::var("PATH").unwrap(),
        };
        let mut c = std::process::Command::new("sh")
            .args(["-c", script])
            .env("PATH", path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _ = c.stdin.take().unwrap().write_all(stdin);
        c.wait().unwrap().success()
    }

    fn fake(dir: &Path, name: &str, body: &str) {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    struct Host {
        _dir: tempfile::TempDir,
        files: Vec<String>,
        journal: String,
        bin: std::path::PathBuf,
    }

    impl Host {
        fn new() -> Host {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("it's etc");
            std::fs::create_dir_all(&root).unwrap();
            let files: Vec<String> = ["zoo.cfg", "myid", "server.properties"]
                .iter()
                .map(|f| root.join(f).display().to_string())
                .collect();
            let bin = dir.path().join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let journal = dir.path().join("c.batch").display().to_string();
            let h = Host {
                _dir: dir,
                files,
                journal,
                bin,
            };
            h.set_all("old");
            h
        }
        fn set_all(&self, generation: &str) {
            for (i, f) in self.files.iter().enumerate() {
                std::fs::write(f, format!("{generation}-{i}")).unwrap();
            }
        }
        fn batch(&self, generation: &str, token: &str) -> (Vec<u8>, String) {
            let entries: Vec<(String, u32, Vec<u8>)> = self
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.clone(), 0o644, format!("{generation}-{i}").into_bytes()))
                .collect();
            file_batch(&entries, &self.files, &self.journal, token).unwrap()
        }
        fn contents(&self) -> Vec<String> {
            self.files
                .iter()
                .map(|f| std::fs::read_to_string(f).unwrap())
                .collect()
        }
        fn leftovers(&self) -> Vec<String> {
            let dir = Path::new(&self.files[0]).parent().unwrap();
            std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".stackctl-"))
                .collect()
        }
        fn generation(&self, g: &str) -> Vec<String> {
            (0..3).map(|i| format!("{g}-{i}")).collect()
        }
    }

    #[test]
    fn unpacks_go_beside_the_running_distribution_and_keep_one_generation_back() {
        let dir = tempfile::tempdir().unwrap();
        let install = dir.path().join("opt stack").display().to_string();
        std::fs::create_dir_all(&install).unwrap();
        let home = format!("{install}/pkg-1");
        // A real directory from an older stackctl, "running" from it.
        std::fs::create_dir_all(format!("{home}/lib")).unwrap();
        std::fs::write(format!("{home}/lib/old.jar"), "old").unwrap();
        let archive = |name: &str, jar: &str| {
            let src = dir.path().join(format!("src-{name}"));
            std::fs::create_dir_all(src.join("pkg-1/lib")).unwrap();
            std::fs::write(src.join("pkg-1/lib").join(jar), jar).unwrap();
            let a = dir.path().join(format!("{name}.tar")).display().to_string();
            let st = std::process::Command::new("tar")
                .args(["-cf", &a, "-C", src.to_str().unwrap(), "pkg-1"])
                .status()
                .unwrap();
            assert!(st.success());
            a
        };
        let gens = |install: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(format!("{install}/.stackctl/gen"))
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let unpack = |a: &str, sum: &str| {
            assert!(run(
                &unpack_script(a, &home, "pkg-1", sum, &install),
                b"",
                None
            ))
        };
        let (a1, a2, a3) = (
            archive("one", "v1.jar"),
            archive("two", "v2.jar"),
            archive("three", "v3.jar"),
        );
        unpack(&a1, "1111111111111111aaaa");
        assert!(std::fs::symlink_metadata(&home)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(Path::new(&format!("{home}/lib/v1.jar")).exists());
        // The old real directory is kept as the previous generation, whole.
        let g = gens(&install);
        assert_eq!(g.len(), 2, "{g:?}");
        assert!(g.iter().any(|n| n.starts_with("pkg-1-before-")), "{g:?}");
        // A process still using the first generation keeps it through two more switches.
        let g1 = format!("{install}/.stackctl/gen/pkg-1-111111111111");
        let mut user = std::process::Command::new("sh")
            .args(["-c", "sleep 20", &format!("{g1}/lib/v1.jar")])
            .spawn()
            .unwrap();
        unpack(&a2, "2222222222222222bbbb");
        unpack(&a3, "3333333333333333cccc");
        assert!(Path::new(&format!("{home}/lib/v3.jar")).exists());
        let g = gens(&install);
        assert!(
            g.contains(&"pkg-1-333333333333".to_string()),
            "current: {g:?}"
        );
        assert!(
            g.contains(&"pkg-1-222222222222".to_string()),
            "previous: {g:?}"
        );
        assert!(
            g.contains(&"pkg-1-111111111111".to_string()),
            "in use: {g:?}"
        );
        assert!(
            !g.iter().any(|n| n.starts_with("pkg-1-before-")),
            "unused and old: {g:?}"
        );
        user.kill().unwrap();
        let _ = user.wait();
        // Going back to the second archive is a switch: its generation is still there.
        unpack(&a2, "2222222222222222bbbb");
        assert!(Path::new(&format!("{home}/lib/v2.jar")).exists());
        let g = gens(&install);
        assert_eq!(g, ["pkg-1-222222222222", "pkg-1-333333333333"], "{g:?}");
        assert!(
            !g.iter().any(|n| n.starts_with(".stackctl-unpack")),
            "{g:?}"
        );
    }

    #[test]
    fn a_batch_commits_whole_and_cleans_up() {
        let h = Host::new();
        let (tar, script) = h.batch("new", "t1");
        assert!(run(&script, &tar, None));
        assert_eq!(h.contents(), h.generation("new"));
        assert!(h.leftovers().is_empty(), "{:?}", h.leftovers());
        assert!(!Path::new(&h.journal).exists());
    }

    #[test]
    fn a_batch_syncs_what_it_wrote_never_every_filesystem() {
        let h = Host::new();
        let log = h.bin.join("sync.log");
        // A `sync` that records its arguments, then does the real thing.
        fake(
            &h.bin,
            "sync",
            &format!(
                "echo \"[$*]\" >> '{}'; exec /bin/sync \"$@\"",
                log.display()
            ),
        );
        let (tar, script) = h.batch("new", "t1");
        assert!(run(&script, &tar, Some(&h.bin)));
        assert_eq!(h.contents(), h.generation("new"));
        let calls = std::fs::read_to_string(&log).unwrap();
        assert!(calls.lines().count() >= 3, "{calls}");
        // Every call names what it syncs: a bare `sync` would flush every dirty page of every
        // filesystem (all of a broker's log segments) on each config change.
        assert!(calls.lines().all(|l| l.starts_with("[-- /")), "{calls}");
    }

    #[test]
    fn killed_before_the_commit_point_the_old_generation_stays_whole() {
        let h = Host::new();
        // The first fsync (after staging) kills the batch: a controller or host dying there.
        fake(&h.bin, "sync", "kill -9 $PPID");
        let (tar, script) = h.batch("new", "t1");
        assert!(!run(&script, &tar, Some(&h.bin)));
        assert_eq!(
            h.contents(),
            h.generation("old"),
            "nothing of the new generation"
        );
        assert!(!Path::new(&h.journal).exists(), "no commit, no journal");
        assert!(!h.leftovers().is_empty(), "the kill left staged copies");
        let staging = || {
            std::fs::read_dir(Path::new(&h.journal).parent().unwrap())
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".stackctl-batch.")
                })
                .count()
        };
        assert_eq!(staging(), 1, "the killed batch left its staging directory");
        // The next batch (another run, another token) removes them and commits whole.
        let (tar, script) = h.batch("newer", "t2");
        assert!(run(&script, &tar, None));
        assert_eq!(h.contents(), h.generation("newer"));
        assert!(h.leftovers().is_empty(), "{:?}", h.leftovers());
        assert_eq!(staging(), 0, "and the next batch removed it");
    }

    #[test]
    fn killed_during_the_commit_the_journal_finishes_it() {
        let h = Host::new();
        // `mv` works for the commit point (the journal's own rename) and the first replayed
        // rename, then kills the replay and the batch: one file new, two old.
        let count = h.bin.join("count");
        fake(
            &h.bin,
            "mv",
            &format!(
                "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\n\
                 if [ $n -ge 3 ]; then gp=$(cut -d' ' -f4 /proc/$PPID/stat); kill -9 $PPID $gp; exit 1; fi\n\
                 exec /bin/mv \"$@\"",
                c = crate::shell::shell_quote(&count.display().to_string())
            ),
        );
        let (tar, script) = h.batch("new", "t1");
        assert!(!run(&script, &tar, Some(&h.bin)));
        let mixed = h.contents();
        assert_eq!(
            mixed.iter().filter(|c| c.starts_with("new")).count(),
            1,
            "{mixed:?}"
        );
        assert!(
            Path::new(&h.journal).exists(),
            "the commit point was passed"
        );
        // What the next `up` does before reading facts: replay the journal.
        assert!(run(&recover_script(&h.journal), b"", None));
        assert_eq!(
            h.contents(),
            h.generation("new"),
            "the whole new generation"
        );
        assert!(!Path::new(&h.journal).exists());
        assert!(h.leftovers().is_empty(), "{:?}", h.leftovers());
    }

    #[test]
    fn a_failed_staging_copy_leaves_every_target_alone() {
        let h = Host::new();
        // The third copy fails (a full disk): nothing is renamed, the staged ones are removed.
        let count = h.bin.join("count");
        fake(
            &h.bin,
            "cp",
            &format!(
                "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\n\
                 if [ $n -ge 3 ]; then echo 'No space left on device' >&2; exit 1; fi\n\
                 exec /bin/cp \"$@\"",
                c = crate::shell::shell_quote(&count.display().to_string())
            ),
        );
        let (tar, script) = h.batch("new", "t1");
        assert!(!run(&script, &tar, Some(&h.bin)));
        assert_eq!(h.contents(), h.generation("old"));
        assert!(h.leftovers().is_empty(), "{:?}", h.leftovers());
        assert!(!Path::new(&h.journal).exists());
    }
}
