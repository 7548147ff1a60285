//! Reading from a mirror: small files (checksums, signatures, KEYS) whole, archives into a
//! `.part` file that a later attempt resumes (RFC 9110: `Range` + `If-Range`; 206 appends, 200
//! restarts, 416 means the part is already whole). Local mirrors (`file://`, a directory) are
//! read the same way, without the ranges.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha512};

use super::Location;

/// Why a read from the mirror did not deliver.
#[derive(Debug)]
pub enum GetError {
    /// 404 / 410, or no such file: the caller may try another path.
    NotFound,
    /// The transfer broke off; what arrived is kept in the `.part` file.
    Interrupted(String),
    /// Anything else (another status, a refused connection, a local I/O error).
    Failed(String),
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::NotFound => write!(f, "not found"),
            GetError::Interrupted(m) | GetError::Failed(m) => write!(f, "{m}"),
        }
    }
}

/// The one HTTP agent of a run: status codes are read, not raised as errors; connects and
/// each read time out rather than hang; proxies come from the usual environment variables.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("stackctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// A small file, whole (at most 16 MiB: a KEYS file is the largest such, about 1 MiB).
pub fn get_small(agent: &ureq::Agent, at: &Location) -> Result<Vec<u8>, GetError> {
    const LIMIT: u64 = 16 << 20;
    match at {
        Location::File(p) => std::fs::read(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GetError::NotFound,
            _ => GetError::Failed(format!("{}: {e}", p.display())),
        }),
        Location::Url(u) => {
            let resp = agent
                .get(u)
                .call()
                .map_err(|e| GetError::Failed(format!("{u}: {e}")))?;
            match resp.status().as_u16() {
                200 => {}
                404 | 410 => return Err(GetError::NotFound),
                s => return Err(GetError::Failed(format!("{u}: HTTP {s}"))),
            }
            let mut buf = Vec::new();
            resp.into_body()
                .into_reader()
                .take(LIMIT)
                .read_to_end(&mut buf)
                .map_err(|e| GetError::Failed(format!("{u}: {e}")))?;
            Ok(buf)
        }
    }
}

/// Whether the file exists on the mirror (a HEAD request; for a local mirror, a stat).
pub fn exists(agent: &ureq::Agent, at: &Location) -> Result<bool, GetError> {
    match at {
        Location::File(p) => Ok(p.is_file()),
        Location::Url(u) => {
            let resp = agent
                .head(u)
                .call()
                .map_err(|e| GetError::Failed(format!("{u}: {e}")))?;
            match resp.status().as_u16() {
                200..=299 => Ok(true),
                404 | 410 => Ok(false),
                s => Err(GetError::Failed(format!("{u}: HTTP {s}"))),
            }
        }
    }
}

/// What one transfer did, for the report and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Bytes already in the `.part` file that a range request kept.
    pub resumed_from: u64,
    /// Bytes this transfer received.
    pub received: u64,
    /// The server sent the whole file although a range was asked (200 instead of 206).
    pub restarted: bool,
}

/// Progress callbacks: the total once known, then every chunk.
pub trait Progress {
    fn start(&self, total: Option<u64>, already: u64);
    fn advance(&self, bytes: u64);
}

/// Downloads `at` into `part`, resuming what `part` holds, and feeds every byte of the whole
/// file (the kept prefix too) to `hasher`. The validator of the response (`ETag`, else
/// `Last-Modified`) is kept in `part.meta` for the next attempt's `If-Range`.
pub fn download(
    agent: &ureq::Agent,
    at: &Location,
    part: &Path,
    hasher: &mut Sha512,
    progress: &dyn Progress,
) -> Result<Transfer, GetError> {
    let io = |e: std::io::Error| GetError::Failed(format!("{}: {e}", part.display()));
    match at {
        Location::File(src) => {
            let mut from = File::open(src).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => GetError::NotFound,
                _ => GetError::Failed(format!("{}: {e}", src.display())),
            })?;
            let total = from.metadata().ok().map(|m| m.len());
            let mut to = File::create(part).map_err(io)?;
            *hasher = Sha512::new();
            progress.start(total, 0);
            let received = pump(&mut from, &mut to, hasher, progress)
                .map_err(|e| GetError::Failed(format!("{}: {e}", src.display())))?;
            to.sync_all().map_err(io)?;
            Ok(Transfer {
                received,
                ..Transfer::default()
            })
        }
        Location::Url(u) => download_http(agent, u, part, hasher, progress),
    }
}

fn meta_path(part: &Path) -> PathBuf {
    let mut p = part.as_os_str().to_owned();
    p.push(".meta");
    PathBuf::from(p)
}

fn download_http(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    hasher: &mut Sha512,
    progress: &dyn Progress,
) -> Result<Transfer, GetError> {
    let io = |e: std::io::Error| GetError::Failed(format!("{}: {e}", part.display()));
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let validator = std::fs::read_to_string(meta_path(part))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
        if let Some(v) = &validator {
            req = req.header("If-Range", v.as_str());
        }
    }
    let resp = req
        .call()
        .map_err(|e| GetError::Interrupted(format!("{url}: {e}")))?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut t = Transfer::default();
    let (mut file, total) = match status {
        206 if have > 0 => {
            // `Content-Range: bytes <have>-<last>/<total>`: anything else is not our range.
            let range = header("content-range").unwrap_or_default();
            let (start, total) = parse_content_range(&range).ok_or_else(|| {
                GetError::Failed(format!("{url}: unusable Content-Range `{range}`"))
            })?;
            if start != have {
                return Err(GetError::Failed(format!(
                    "{url}: asked for bytes from {have}, got `{range}`"
                )));
            }
            *hasher = Sha512::new();
            hash_prefix(part, hasher).map_err(io)?;
            let mut f = OpenOptions::new().append(true).open(part).map_err(io)?;
            f.seek(SeekFrom::End(0)).map_err(io)?;
            t.resumed_from = have;
            (f, total)
        }
        200 => {
            t.restarted = have > 0;
            *hasher = Sha512::new();
            let v = header("etag").or_else(|| header("last-modified"));
            match &v {
                Some(v) => std::fs::write(meta_path(part), v).map_err(io)?,
                None => {
                    let _ = std::fs::remove_file(meta_path(part));
                }
            }
            let total = header("content-length").and_then(|l| l.parse().ok());
            (File::create(part).map_err(io)?, total)
        }
        416 if have > 0 => {
            // The part already holds the whole file (or more): the checksum decides.
            *hasher = Sha512::new();
            hash_prefix(part, hasher).map_err(io)?;
            t.resumed_from = have;
            return Ok(t);
        }
        404 | 410 => return Err(GetError::NotFound),
        s => return Err(GetError::Failed(format!("{url}: HTTP {s}"))),
    };
    progress.start(total, t.resumed_from);
    let mut body = resp.into_body().into_reader();
    let got = pump(&mut body, &mut file, hasher, progress);
    let _ = file.sync_all();
    match got {
        Ok(n) => {
            t.received = n;
            let now = t.resumed_from + n;
            if let Some(total) = total.filter(|tot| *tot != now) {
                return Err(GetError::Interrupted(format!(
                    "{url}: the transfer ended at {now} of {total} bytes"
                )));
            }
            let _ = std::fs::remove_file(meta_path(part));
            Ok(t)
        }
        Err(e) => Err(GetError::Interrupted(format!("{url}: {e}"))),
    }
}

/// `bytes 100-199/200` → (100, Some(200)); `bytes 100-199/*` → (100, None).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

/// Copies `from` to `to` in 256 KiB chunks, hashing and reporting each; the count of bytes.
fn pump(
    from: &mut dyn Read,
    to: &mut File,
    hasher: &mut Sha512,
    progress: &dyn Progress,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                to.flush()?;
                return Err(e);
            }
        };
        to.write_all(&buf[..k])?;
        hasher.update(&buf[..k]);
        progress.advance(k as u64);
        n += k as u64;
    }
}

/// Feeds the bytes `part` already holds to `hasher`.
fn hash_prefix(part: &Path, hasher: &mut Sha512) -> std::io::Result<()> {
    let mut f = File::open(part)?;
    std::io::copy(&mut f, hasher)?;
    Ok(())
}

/// The SHA-512 of a whole file.
pub fn file_sha512(path: &Path) -> std::io::Result<[u8; 64]> {
    let mut h = Sha512::new();
    hash_prefix(path, &mut h)?;
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
