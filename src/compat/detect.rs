//! Reading versions from a distribution: the file list of a tarball or an unpacked directory.
//!
//! Release notes have named the wrong bundled ZooKeeper more than once (Kafka 2.4.0, 3.6.0); the
//! jar names in the distribution are the truth, so that is what we read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::version::Version;

/// The relative paths of the files in a distribution, each starting with the top directory.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub source: PathBuf,
    pub files: Vec<String>,
}

/// What a distribution turned out to be.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Detected {
    pub version: Option<Version>,
    /// Kafka's Scala binary version, from `libs/kafka_<scala>-<version>.jar`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scala: Option<String>,
    /// Versions of jars it bundles, keyed by the rules-file component name
    /// (`zookeeper-client`, `hadoop-jars`).
    pub bundles: BTreeMap<String, Version>,
    /// The files that proved each fact, for the report.
    pub evidence: Vec<String>,
    /// The top-level directory of the distribution.
    pub top_dir: Option<String>,
}

/// Where facts about local archives are cached: reading a 100 MB tarball's file list or its
/// checksum on every run would dominate a no-op `up`.
fn cache_file(path: &Path, kind: &str) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let abs = std::fs::canonicalize(path).ok()?;
    let key = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            format!("{}\0{}\0{mtime}", abs.display(), meta.len()).as_bytes(),
        ))
    };
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(
        base.join("stackctl")
            .join("archives")
            .join(format!("{}.{kind}", &key[..32])),
    )
}

fn cache_get(path: &Path, kind: &str) -> Option<String> {
    std::fs::read_to_string(cache_file(path, kind)?).ok()
}

fn cache_put(path: &Path, kind: &str, value: &str) {
    let Some(f) = cache_file(path, kind) else {
        return;
    };
    if let Some(dir) = f.parent() {
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
    }
    let tmp = f.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, value).is_ok() {
        let _ = std::fs::rename(&tmp, &f);
    }
}

/// The sha256 of a local file, cached by path, size and modification time.
pub fn file_sha256(path: &Path) -> Result<String> {
    if let Some(sum) = cache_get(path, "sha256").filter(|s| s.len() == 64) {
        return Ok(sum);
    }
    use sha2::Digest;
    let mut f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let sum = hex::encode(h.finalize());
    cache_put(path, "sha256", &sum);
    Ok(sum)
}

impl Listing {
    /// Lists an archive or directory; archives' lists are cached (see `cache_file`).
    pub fn read(path: &Path) -> Result<Listing> {
        if let Some(text) = cache_get(path, "list") {
            return Ok(Listing {
                source: path.to_path_buf(),
                files: text.lines().map(str::to_string).collect(),
            });
        }
        let l = Self::read_uncached(path)?;
        cache_put(path, "list", &l.files.join("\n"));
        Ok(l)
    }

    fn read_uncached(path: &Path) -> Result<Listing> {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read archive {}", path.display()))?;
        let files = if meta.is_dir() {
            let top = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut files = Vec::new();
            walk(path, &top, 0, &mut files)?;
            files
        } else {
            let f = File::open(path)
                .with_context(|| format!("cannot open archive {}", path.display()))?;
            let mut reader = BufReader::new(f);
            let mut magic = [0u8; 2];
            let n = reader.read(&mut magic)?;
            let f = File::open(path)?;
            let reader: Box<dyn Read> = if n == 2 && magic == [0x1f, 0x8b] {
                Box::new(flate2::read::GzDecoder::new(BufReader::new(f)))
            } else {
                Box::new(BufReader::new(f))
            };
            let mut archive = tar::Archive::new(reader);
            let mut files = Vec::new();
            for entry in archive
                .entries()
                .with_context(|| format!("{} is not a tar archive", path.display()))?
            {
                let entry = entry
                    .with_context(|| format!("{} is not a readable tar archive", path.display()))?;
                let p = entry
                    .path()?
                    .to_string_lossy()
                    .trim_start_matches("./")
                    .to_string();
                files.push(p);
            }
            if files.is_empty() {
                bail!("{} is empty or not a tar archive", path.display());
            }
            files
        };
        Ok(Listing {
            source: path.to_path_buf(),
            files,
        })
    }

    pub fn from_files(files: &[&str]) -> Listing {
        Listing {
            source: PathBuf::from("<test>"),
            files: files.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The single top-level directory, when there is one.
    pub fn top_dir(&self) -> Option<String> {
        let first = self.files.first()?.split('/').next()?.to_string();
        self.files
            .iter()
            .all(|f| f.split('/').next() == Some(first.as_str()))
            .then_some(first)
    }

    /// Versions of `<dir>/<prefix>-<version>.jar` (dir relative to the top directory, "" for the
    /// top itself), skipping sources/test/javadoc jars. Returns (version, path) pairs.
    pub fn jar_versions(&self, dir: &str, prefix: &str) -> Vec<(Version, String)> {
        let top = self.top_dir();
        let mut out = Vec::new();
        for f in &self.files {
            let rel = match &top {
                Some(t) => f
                    .strip_prefix(t.as_str())
                    .map(|r| r.trim_start_matches('/'))
                    .unwrap_or(f),
                None => f.as_str(),
            };
            let (parent, name) = match rel.rfind('/') {
                Some(i) => (&rel[..i], &rel[i + 1..]),
                None => ("", rel),
            };
            if parent != dir {
                continue;
            }
            if let Some(v) = jar_version(name, prefix) {
                out.push((v, f.clone()));
            }
        }
        out
    }
}

impl Listing {
    /// Detection the common way: the version from the first `main` jar (dir, prefix) found, and
    /// each bundle (key, dir, prefix) from its jar.
    pub fn detect_jars(
        &self,
        main: &[(&str, &str)],
        bundles: &[(&str, &str, &str)],
    ) -> Option<Detected> {
        let (v, f) = main
            .iter()
            .find_map(|(dir, prefix)| self.jar_versions(dir, prefix).into_iter().next())?;
        let mut det = Detected {
            version: Some(v),
            evidence: vec![f],
            top_dir: self.top_dir(),
            ..Default::default()
        };
        for (key, dir, prefix) in bundles {
            if let Some((bv, f)) = self.jar_versions(dir, prefix).into_iter().next() {
                det.bundles.insert(key.to_string(), bv);
                det.evidence.push(f);
            }
        }
        Some(det)
    }
}

/// `zookeeper-3.5.6.jar` with prefix `zookeeper` gives 3.5.6; `zookeeper-jute-3.5.6.jar` does not
/// match `zookeeper` (the part after the prefix must start with a digit).
pub fn jar_version(name: &str, prefix: &str) -> Option<Version> {
    let rest = name
        .strip_prefix(prefix)?
        .strip_prefix('-')?
        .strip_suffix(".jar")?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    for skip in ["-sources", "-tests", "-test", "-javadoc", "-test-sources"] {
        if rest.ends_with(skip) {
            return None;
        }
    }
    Version::parse(rest).ok()
}

fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<String>) -> Result<()> {
    if depth > 5 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let r = format!("{rel}/{name}");
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&e.path(), &r, depth + 1, out)?;
        } else {
            out.push(r);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jar_names() {
        assert_eq!(
            jar_version("zookeeper-3.5.6.jar", "zookeeper").unwrap().raw,
            "3.5.6"
        );
        assert!(jar_version("zookeeper-jute-3.5.6.jar", "zookeeper").is_none());
        assert_eq!(
            jar_version("zookeeper-3.4.5-cdh5.3.6.jar", "zookeeper")
                .unwrap()
                .parts,
            vec![3, 4, 5]
        );
        assert!(jar_version("kafka_2.12-2.4.0-sources.jar", "kafka_2.12").is_none());
        assert_eq!(
            jar_version("kafka_2.12-2.4.0.jar", "kafka_2.12")
                .unwrap()
                .raw,
            "2.4.0"
        );
        assert!(jar_version("hadoop-common-2.4.1-tests.jar", "hadoop-common").is_none());
    }

    #[test]
    fn top_dir_and_jars() {
        let l = Listing::from_files(&[
            "kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0.jar",
            "kafka_2.12-2.4.0/libs/zookeeper-3.5.6.jar",
            "kafka_2.12-2.4.0/bin/kafka-server-start.sh",
        ]);
        assert_eq!(l.top_dir().as_deref(), Some("kafka_2.12-2.4.0"));
        assert_eq!(l.jar_versions("libs", "zookeeper")[0].0.raw, "3.5.6");
        assert!(l.jar_versions("", "zookeeper").is_empty());
    }
}
