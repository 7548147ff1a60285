//! Release archives fetched from an Apache-archive mirror, verified and cached.
//!
//! Generic: the caller says which paths below the mirror base hold an archive (the components
//! know theirs); this module resolves them against the mirror and the cache, downloads
//! (resumably), checks the published SHA-512 (and the `.asc` signature when `gpgv` is there),
//! and moves the file into the cache only once it verifies. Nothing unverified is ever used:
//! a missing or wrong checksum is an error, and the download is deleted.

pub mod checksum;
pub mod http;
pub mod signature;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha512};

use self::http::{GetError, Progress};
use self::signature::SigCheck;

/// The mirror used when neither `mirror:` nor `STACKCTL_MIRROR` names one: the Apache archive
/// keeps every release ever published (downloads.apache.org and the CDN only current ones).
pub const DEFAULT_MIRROR: &str = "https://archive.apache.org/dist/";

/// The environment variable naming the mirror; it wins over the inventory's `mirror:`, so
/// shipped inventories work unchanged on a site with its own mirror.
pub const MIRROR_ENV: &str = "STACKCTL_MIRROR";
/// The environment variable naming the cache directory.
pub const CACHE_ENV: &str = "STACKCTL_CACHE_DIR";

/// A base laid out like `https://archive.apache.org/dist/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// `http(s)://…/`, always ending in `/`.
    Http(String),
    /// `file:///…` or a plain directory path.
    Dir(PathBuf),
}

impl Mirror {
    /// Parses a mirror setting; a relative directory is taken relative to `base_dir` (the
    /// inventory's directory, or the working directory for the environment variable).
    pub fn parse(s: &str, base_dir: &Path) -> Result<Mirror, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the mirror is empty".into());
        }
        if let Some(rest) = s.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(format!(
                    "`{s}` is not a file URL with an absolute path (write file:///srv/mirror)"
                ));
            }
            return Ok(Mirror::Dir(PathBuf::from(rest)));
        }
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let host = s.split_once("://").map_or("", |(_, r)| r);
            let host = host.split('/').next().unwrap_or("");
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(format!("`{s}` has no host name"));
            }
            if s.contains(char::is_whitespace) || s.contains(['?', '#']) {
                return Err(format!(
                    "`{s}` must be a plain base URL (no spaces, query or fragment)"
                ));
            }
            let base = if s.ends_with('/') {
                s.to_string()
            } else {
                format!("{s}/")
            };
            return Ok(Mirror::Http(base));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "unsupported scheme `{scheme}://`: a mirror is an http://, https:// or file:// URL, or a directory"
            ));
        }
        let p = PathBuf::from(s);
        Ok(Mirror::Dir(if p.is_absolute() {
            p
        } else {
            base_dir.join(p)
        }))
    }

    /// Where `rel` (a path below the base, `kafka/2.4.0/kafka_2.12-2.4.0.tgz`) is.
    pub fn at(&self, rel: &str) -> Location {
        match self {
            Mirror::Http(base) => Location::Url(format!("{base}{rel}")),
            Mirror::Dir(d) => Location::File(d.join(rel)),
        }
    }
}

impl std::fmt::Display for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mirror::Http(u) => write!(f, "{u}"),
            Mirror::Dir(d) => write!(f, "file://{}/", d.display()),
        }
    }
}

/// The mirror in effect: `STACKCTL_MIRROR` when set (relative to the working directory), else
/// the inventory's `mirror:` (already parsed), else the Apache archive. The second value says
/// where it came from, for messages.
pub fn mirror_in_effect(
    env: Option<OsString>,
    inventory: Option<&Mirror>,
) -> Result<(Mirror, &'static str)> {
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        let s = v.to_string_lossy();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let m = Mirror::parse(&s, &cwd).map_err(|e| anyhow!("{MIRROR_ENV}={s}: {e}"))?;
        return Ok((m, MIRROR_ENV));
    }
    Ok(match inventory {
        Some(m) => (m.clone(), "mirror:"),
        None => (Mirror::Http(DEFAULT_MIRROR.into()), "default"),
    })
}

/// A file on a mirror: a URL, or a path for a local mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Url(String),
    File(PathBuf),
}

impl Location {
    /// The same location with `suffix` appended (`.sha512`, `.asc`).
    pub fn with_suffix(&self, suffix: &str) -> Location {
        match self {
            Location::Url(u) => Location::Url(format!("{u}{suffix}")),
            Location::File(p) => {
                let mut s = p.as_os_str().to_owned();
                s.push(suffix);
                Location::File(PathBuf::from(s))
            }
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Url(u) => write!(f, "{u}"),
            Location::File(p) => write!(f, "file://{}", p.display()),
        }
    }
}

/// The cache root: `$STACKCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/stackctl`, else
/// `~/.cache/stackctl`. `env` looks a variable up (the process environment in real use).
pub fn cache_root(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    set(CACHE_ENV)
        .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("stackctl")))
        .or_else(|| set("HOME").map(|h| h.join(".cache").join("stackctl")))
}

/// [`cache_root`] of this process, or an error saying how to set one.
pub fn cache_root_here() -> Result<PathBuf> {
    cache_root(|k| std::env::var_os(k))
        .ok_or_else(|| anyhow!("no cache directory: set {CACHE_ENV} (or XDG_CACHE_HOME or HOME)"))
}

/// Where an archive comes from, as the inventory and its component say.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// `archive:` a local path: used as it is, never fetched or cached.
    Local(&'a Path),
    /// `archive:` an http(s) URL; its checksum is at the URL + `.sha512`.
    Url(&'a str),
    /// No `archive:`: the official release at these paths below the mirror (the first that
    /// exists; the others are tried on a 404), signed by a key in `keys` (the project's KEYS).
    Mirror {
        paths: &'a [String],
        keys: Option<&'a str>,
    },
}

/// One archive to fetch: where it may be (in order), where it is cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The archive's file name (`kafka_2.12-2.4.0.tgz`).
    pub name: String,
    pub sources: Vec<Location>,
    pub keys: Option<Location>,
    /// The cached file; its verified sum sits beside it ([`record_path`]).
    pub dest: PathBuf,
}

/// What an archive resolves to without any download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A local `archive:` path, as written.
    Local(PathBuf),
    /// Already fetched and verified: the cached file.
    Cached(PathBuf),
    /// To be fetched.
    Missing(Job),
}

/// Resolves an archive's origin against the mirror and the cache. Pure: `cached` says whether
/// a verified copy sits at a cache path ([`is_cached`] in real use).
pub fn resolve(
    origin: Origin,
    mirror: &Mirror,
    cache: &Path,
    cached: impl Fn(&Path) -> bool,
) -> Resolved {
    let job = match origin {
        Origin::Local(p) => return Resolved::Local(p.to_path_buf()),
        Origin::Url(u) => Job {
            name: file_name(u),
            sources: vec![Location::Url(u.to_string())],
            keys: None,
            dest: cache.join("url").join(url_cache_path(u)),
        },
        Origin::Mirror { paths, keys } => Job {
            name: paths.first().map(|p| file_name(p)).unwrap_or_default(),
            sources: paths.iter().map(|p| mirror.at(p)).collect(),
            keys: keys.map(|k| mirror.at(k)),
            // Cached under the first path whichever served it: `plan` finds it offline.
            dest: cache
                .join("dist")
                .join(paths.first().map(String::as_str).unwrap_or("")),
        },
    };
    if cached(&job.dest) {
        Resolved::Cached(job.dest)
    } else {
        Resolved::Missing(job)
    }
}

fn file_name(path_or_url: &str) -> String {
    path_or_url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string()
}

/// A URL's place below the cache's `url/`: host, then path, with nothing that climbs out.
fn url_cache_path(u: &str) -> PathBuf {
    let rest = u.split_once("://").map_or(u, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let mut p = PathBuf::new();
    for seg in rest.split('/') {
        let seg: String = seg
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !seg.is_empty() && seg != "." && seg != ".." {
            p.push(seg);
        }
    }
    p
}

/// The record of a cached file's verified SHA-512 (GNU `sha512sum` form) and how its
/// signature was checked.
pub fn record_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".sha512");
    PathBuf::from(s)
}

fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// Whether a verified copy is cached at `dest`: the file and its record, of the size the
/// record says. (`fetch` hashes it again before use; `plan` trusts this.)
pub fn is_cached(dest: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(dest) else {
        return false;
    };
    match read_record(dest) {
        Some(r) => meta.is_file() && r.size.is_none_or(|s| s == meta.len()),
        None => false,
    }
}

struct Record {
    sha512: String,
    size: Option<u64>,
    signature: Option<String>,
}

fn read_record(dest: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(dest)).ok()?;
    let sum = checksum::parse_sha512(&text)?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# {k}: ")).map(str::to_string))
    };
    Some(Record {
        sha512: sum.hex(),
        size: field("size").and_then(|s| s.parse().ok()),
        signature: field("signature"),
    })
}

fn write_record(dest: &Path, sha512: &str, size: u64, sig: &SigCheck) -> Result<()> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let text = format!(
        "{sha512}  {name}\n# size: {size}\n# signature: {}\n",
        sig.describe().trim_start_matches("signature: ")
    );
    std::fs::write(record_path(dest), text)
        .with_context(|| format!("cannot write {}", record_path(dest).display()))
}

/// How a fetch shows itself: a progress bar on stderr (only when stderr is a terminal and not
/// in `--json` mode), else one line per finished file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    pub json: bool,
    /// No output at all (tests, `plan`).
    pub quiet: bool,
}

impl Ui {
    fn bars(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }
}

/// A fetched (or reused) archive, verified.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    pub name: String,
    pub path: PathBuf,
    /// Where it came from (empty when reused from the cache).
    pub source: String,
    /// The checksum file it was verified against.
    pub checksum_from: String,
    pub sha512: String,
    /// `signature: good (gpgv, key …)` or `signature: not checked (…)`.
    pub signature: String,
    /// Taken from the cache: nothing was downloaded.
    pub reused: bool,
    pub bytes: u64,
    /// Bytes a range request kept from an earlier, broken-off attempt.
    pub resumed_from: u64,
    /// Times the transfer broke off and was resumed or restarted in this run.
    pub retries: u32,
    pub seconds: f64,
}

/// How many times one archive's transfer may break off before the fetch gives up (each
/// attempt resumes what arrived).
const ATTEMPTS: u32 = 5;

/// Fetches `job` into the cache and verifies it, or reuses the verified cached copy (hashed
/// again: a file changed on disk is fetched anew).
pub fn fetch(job: &Job, agent: &ureq::Agent, ui: Ui) -> Result<Fetched> {
    let started = Instant::now();
    if let Some(parent) = job.dest.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the cache directory {}", parent.display()))?;
    }
    if let Some(reused) = reuse(job)? {
        return Ok(Fetched {
            seconds: started.elapsed().as_secs_f64(),
            ..reused
        });
    }
    let (source, expected) = find_checksum(job, agent)?;
    let part = part_path(&job.dest);
    let bar = Bar::new(&job.name, ui);
    let mut hasher = Sha512::new();
    let mut retries = 0;
    let mut resumed_from = 0;
    let mut restarted_after_mismatch = false;
    let got = loop {
        match http::download(agent, &source, &part, &mut hasher, &bar) {
            Ok(t) => {
                resumed_from = resumed_from.max(t.resumed_from);
                let got = hex::encode(std::mem::take(&mut hasher).finalize());
                if got == expected.sum.hex() {
                    break got;
                }
                // A resumed part may hold a stale prefix: one clean restart, then fail.
                let _ = std::fs::remove_file(&part);
                let _ = std::fs::remove_file(part.with_extension("part.meta"));
                if t.resumed_from > 0 && !restarted_after_mismatch {
                    restarted_after_mismatch = true;
                    continue;
                }
                bar.abandon();
                bail!(
                    "checksum mismatch for {}: {} says sha512 {}, the downloaded file has {}; \
                     the download was deleted and nothing was cached",
                    source,
                    expected.from,
                    expected.sum.hex(),
                    got
                );
            }
            Err(GetError::Interrupted(why)) if retries + 1 < ATTEMPTS => {
                retries += 1;
                bar.note(&format!("interrupted ({why}); resuming"));
            }
            Err(e) => {
                bar.abandon();
                bail!(
                    "cannot download {source}: {e}{}",
                    if part.exists() {
                        format!(
                            " (what arrived is kept in {} for the next attempt)",
                            part.display()
                        )
                    } else {
                        String::new()
                    }
                );
            }
        }
    };
    let sig = check_signature(job, agent, &source, &part);
    if let SigCheck::Bad(why) = &sig {
        let _ = std::fs::remove_file(&part);
        bar.abandon();
        bail!("bad signature on {source}: {why}; the download was deleted and nothing was cached");
    }
    let bytes = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    std::fs::rename(&part, &job.dest)
        .with_context(|| format!("cannot move {} to {}", part.display(), job.dest.display()))?;
    write_record(&job.dest, &got, bytes, &sig)?;
    bar.finish();
    let fetched = Fetched {
        name: job.name.clone(),
        path: job.dest.clone(),
        source: source.to_string(),
        checksum_from: expected.from.clone(),
        sha512: got,
        signature: sig.describe(),
        reused: false,
        bytes,
        resumed_from,
        retries,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(fetched)
}

/// The cached copy, if its record is there and the file still hashes to it.
fn reuse(job: &Job) -> Result<Option<Fetched>> {
    if !is_cached(&job.dest) {
        return Ok(None);
    }
    let Some(rec) = read_record(&job.dest) else {
        return Ok(None);
    };
    let now = hex::encode(
        http::file_sha512(&job.dest)
            .with_context(|| format!("cannot read {}", job.dest.display()))?,
    );
    if now != rec.sha512 {
        // Changed on disk since it was verified: never used, fetched again.
        let _ = std::fs::remove_file(record_path(&job.dest));
        let _ = std::fs::remove_file(&job.dest);
        return Ok(None);
    }
    Ok(Some(Fetched {
        name: job.name.clone(),
        path: job.dest.clone(),
        source: String::new(),
        checksum_from: record_path(&job.dest).display().to_string(),
        sha512: now,
        signature: format!(
            "signature: {}",
            rec.signature.unwrap_or_else(|| "not recorded".into())
        ),
        reused: true,
        bytes: std::fs::metadata(&job.dest).map(|m| m.len()).unwrap_or(0),
        resumed_from: 0,
        retries: 0,
        seconds: 0.0,
    }))
}

struct Expected {
    sum: checksum::Sha512Sum,
    /// The checksum file's location, for messages.
    from: String,
}

/// The first source with a published SHA-512 (`.sha512`, else the SHA512 block of `.mds`),
/// trying the next source only when the archive is not there at all. An archive without a
/// SHA-512 is refused.
fn find_checksum(job: &Job, agent: &ureq::Agent) -> Result<(Location, Expected)> {
    let mut tried = Vec::new();
    for src in &job.sources {
        for suffix in [".sha512", ".mds"] {
            let at = src.with_suffix(suffix);
            match http::get_small(agent, &at) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let Some(sum) = checksum::parse_sha512(&text) else {
                        bail!(
                            "{at} holds no SHA-512 stackctl can read; refusing to use {} unverified",
                            job.name
                        );
                    };
                    return Ok((
                        src.clone(),
                        Expected {
                            sum,
                            from: at.to_string(),
                        },
                    ));
                }
                Err(GetError::NotFound) => {}
                Err(e) => bail!("cannot read the checksum {at}: {e}"),
            }
        }
        match http::exists(agent, src) {
            Ok(true) => bail!(
                "{src} has no published SHA-512 ({src}.sha512 and {src}.mds do not exist); \
                 refusing to use it unverified: put its .sha512 beside it on the mirror, or \
                 download and check it yourself and point `archive:` at the file"
            ),
            Ok(false) => tried.push(src.to_string()),
            Err(e) => bail!("cannot reach {src}: {e}"),
        }
    }
    bail!(
        "{} is not on the mirror (tried {})",
        job.name,
        tried.join(", ")
    )
}

/// The `.asc` beside the source checked against the project's KEYS with gpgv, when all three
/// are there.
fn check_signature(job: &Job, agent: &ureq::Agent, source: &Location, file: &Path) -> SigCheck {
    let Some(keys_at) = &job.keys else {
        return SigCheck::NotChecked("no KEYS for an archive given by URL".into());
    };
    if !signature::gpgv_available() {
        return SigCheck::NotChecked("no gpgv".into());
    }
    let asc = match http::get_small(agent, &source.with_suffix(".asc")) {
        Ok(a) => a,
        Err(GetError::NotFound) => return SigCheck::NotChecked("no .asc on the mirror".into()),
        Err(e) => return SigCheck::NotChecked(format!("cannot read the .asc: {e}")),
    };
    let keys = match http::get_small(agent, keys_at) {
        Ok(k) => k,
        Err(GetError::NotFound) => return SigCheck::NotChecked(format!("no {keys_at}")),
        Err(e) => return SigCheck::NotChecked(format!("cannot read {keys_at}: {e}")),
    };
    let Some(keyring) = signature::dearmor_keys(&String::from_utf8_lossy(&keys)) else {
        return SigCheck::NotChecked(format!("{keys_at} holds no public key block"));
    };
    // Beside the download, so the paths are absolute and on the same disk; removed after.
    let dir = file.parent().unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let stem = format!("{}.{}", job.name, std::process::id());
    let ring = dir.join(format!("{stem}.keyring.gpg"));
    let asc_path = dir.join(format!("{stem}.asc"));
    let out = (|| {
        std::fs::write(&ring, &keyring).ok()?;
        std::fs::write(&asc_path, &asc).ok()?;
        let file = std::fs::canonicalize(file).ok()?;
        Some(signature::gpgv(&ring, &asc_path, &file))
    })();
    let _ = std::fs::remove_file(&ring);
    let _ = std::fs::remove_file(&asc_path);
    out.unwrap_or_else(|| {
        SigCheck::NotChecked("cannot write the keyring beside the download".into())
    })
}

/// The progress bar of one file: bytes and rate, on stderr.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    name: String,
    ui: Ui,
}

impl Bar {
    fn new(name: &str, ui: Ui) -> Bar {
        let bar = ui.bars().then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_message(name.to_string());
            b
        });
        Bar {
            bar,
            name: name.to_string(),
            ui,
        }
    }
    fn note(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(format!("{}: {text}", self.name)),
            None if !self.ui.quiet => eprintln!("{}: {text}", self.name),
            None => {}
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
    fn abandon(&self) {
        if let Some(b) = &self.bar {
            b.abandon();
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: Option<u64>, already: u64) {
        if let Some(b) = &self.bar {
            if let Some(t) = total {
                b.set_length(already + t);
            }
            b.set_position(already);
            b.reset_eta();
        }
    }
    fn advance(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
}

/// One line per finished file, the same with or without a bar:
/// `kafka_2.12-2.4.0.tgz: fetched 68.9 MB in 2.1 s (32.8 MB/s), sha512 ok, signature: …`.
pub fn summary_line(f: &Fetched) -> String {
    if f.reused {
        return format!(
            "{}: cached {} (sha512 verified, {})",
            f.name,
            f.path.display(),
            f.signature
        );
    }
    let mb = f.bytes as f64 / 1e6;
    let rate = if f.seconds > 0.0 { mb / f.seconds } else { 0.0 };
    let resumed = if f.resumed_from > 0 {
        format!(", resumed at byte {}", f.resumed_from)
    } else {
        String::new()
    };
    format!(
        "{}: fetched {mb:.1} MB in {:.1} s ({rate:.1} MB/s{resumed}) from {}, sha512 ok ({}), {} -> {}",
        f.name,
        f.seconds,
        f.source,
        f.checksum_from,
        f.signature,
        f.path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn cache_root_order() {
        let all = [(CACHE_ENV, "/c"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(cache_root(env(&all)), Some(PathBuf::from("/c")));
        assert_eq!(
            cache_root(env(&all[1..])),
            Some(PathBuf::from("/x/stackctl"))
        );
        assert_eq!(
            cache_root(env(&all[2..])),
            Some(PathBuf::from("/h/.cache/stackctl"))
        );
        assert_eq!(
            cache_root(env(&[(CACHE_ENV, ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/stackctl"))
        );
        assert_eq!(cache_root(env(&[])), None);
    }

    #[test]
    fn mirror_forms() {
        let inv = Path::new("/etc/inv");
        assert_eq!(
            Mirror::parse("https://m.example/apache", inv),
            Ok(Mirror::Http("https://m.example/apache/".into()))
        );
        assert_eq!(
            Mirror::parse("file:///srv/m", inv),
            Ok(Mirror::Dir("/srv/m".into()))
        );
        assert_eq!(
            Mirror::parse("m", inv),
            Ok(Mirror::Dir("/etc/inv/m".into()))
        );
        for bad in ["", "ftp://x/", "file://rel", "https:///x", "http://a b/"] {
            assert!(Mirror::parse(bad, inv).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_local_cached_missing() {
        let m = Mirror::Http(DEFAULT_MIRROR.into());
        let cache = Path::new("/cache");
        let paths = vec![
            "hbase/1.2.9/hbase-1.2.9-bin.tar.gz".to_string(),
            "hbase/hbase-1.2.9/hbase-1.2.9-bin.tar.gz".to_string(),
        ];
        let origin = Origin::Mirror {
            paths: &paths,
            keys: Some("hbase/KEYS"),
        };
        assert_eq!(
            resolve(Origin::Local(Path::new("/a.tgz")), &m, cache, |_| true),
            Resolved::Local("/a.tgz".into())
        );
        assert_eq!(
            resolve(origin, &m, cache, |p| p
                == Path::new("/cache/dist/hbase/1.2.9/hbase-1.2.9-bin.tar.gz")),
            Resolved::Cached("/cache/dist/hbase/1.2.9/hbase-1.2.9-bin.tar.gz".into())
        );
        let Resolved::Missing(job) = resolve(origin, &m, cache, |_| false) else {
            panic!()
        };
        assert_eq!(job.name, "hbase-1.2.9-bin.tar.gz");
        assert_eq!(
            job.sources,
            vec![
                Location::Url(format!(
                    "{DEFAULT_MIRROR}hbase/1.2.9/hbase-1.2.9-bin.tar.gz"
                )),
                Location::Url(format!(
                    "{DEFAULT_MIRROR}hbase/hbase-1.2.9/hbase-1.2.9-bin.tar.gz"
                )),
            ]
        );
        assert_eq!(
            job.keys,
            Some(Location::Url(format!("{DEFAULT_MIRROR}hbase/KEYS")))
        );
        let Resolved::Missing(job) = resolve(
            Origin::Url("https://h.example/x/../k.tgz?a=1"),
            &m,
            cache,
            |_| false,
        ) else {
            panic!()
        };
        assert_eq!(job.dest, Path::new("/cache/url/h.example/x/k.tgz"));
        assert_eq!(job.keys, None);
    }
}
