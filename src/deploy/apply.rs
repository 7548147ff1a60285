//! Carrying out a host's changes: archive uploads (skipped when the host has the same
//! checksum), atomic unpacks, and every changed file in one tar stream, each renamed into place.

use anyhow::{anyhow, bail, Result};

use super::changes::{archive_dest, manifest_path, Archives, HostChanges};
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

/// Uploads the archives `ch` names, unpacks them atomically, and writes every changed file in
/// one round trip.
pub async fn install_host(
    inv: &Inventory,
    t: &Target<'_>,
    archives: &Archives<'_>,
    ch: &HostChanges,
    ev: &Events,
) -> Result<InstallStats> {
    let h = t.host;
    let mut stats = InstallStats::default();
    for spec in inv.components.values() {
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
            t.remote.put_file(&dest, 0o644, local).await?;
            // Record the checksum with the size and mtime it belongs to (read back by facts).
            let rec = shell_quote(&format!("{dest}.sha256"));
            let q = shell_quote(&dest);
            t.remote
                .run_ok(
                    &format!("printf '%s %s\\n' {sum} \"$(stat -c '%s %Y' {q})\" > {rec}"),
                    "recording the archive checksum",
                )
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
    // Every changed file, plus the manifest, in one tar stream.
    if !ch.files.is_empty() {
        let mut manifest = String::new();
        for f in &t.plan.files {
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
        let (tar, script) = file_batch(&entries)?;
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
    Ok(stats)
}

/// A tar of the files (named by index) and a script that puts each in place atomically:
/// copied next to its target under a temporary name, then renamed.
pub fn file_batch(entries: &[(String, u32, Vec<u8>)]) -> Result<(Vec<u8>, String)> {
    let mut b = tar::Builder::new(Vec::new());
    let mut script = String::from(
        "set -e; umask 022; s=$(mktemp -d /var/tmp/.stackctl-batch.XXXXXX); trap 'rm -rf \"$s\"' EXIT; tar -xf - -C \"$s\"\n",
    );
    for (i, (path, mode, data)) in entries.iter().enumerate() {
        if !inventory::plain_abs_path(path) {
            bail!("refusing to write {path}: not a plain absolute path");
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, format!("{i}"), data.as_slice())?;
        let q = shell_quote(path);
        script.push_str(&format!(
            "mkdir -p \"$(dirname {q})\"; cp \"$s/{i}\" {q}.stackctl-tmp; chmod {mode:o} {q}.stackctl-tmp; mv -f {q}.stackctl-tmp {q}\n"
        ));
    }
    Ok((b.into_inner()?, script))
}

pub fn unpack_script(archive: &str, home: &str, top: &str, sum: &str, install_dir: &str) -> String {
    let (a, d, t, s, i) = (
        shell_quote(archive),
        shell_quote(home),
        shell_quote(top),
        shell_quote(sum),
        shell_quote(install_dir),
    );
    format!(
        "set -e; mkdir -p {i}; tmp=$(mktemp -d {i}/.stackctl-unpack.XXXXXX); trap 'rm -rf \"$tmp\"' EXIT; \
         tar -xf {a} -C \"$tmp\"; [ -d \"$tmp\"/{t} ] || {{ echo \"the archive has no {top}/ directory\" >&2; exit 1; }}; \
         echo {s} > \"$tmp\"/{t}/.stackctl-unpacked; if [ -e {d} ]; then mv {d} \"$tmp/previous\"; fi; mv \"$tmp\"/{t} {d}"
    )
}
