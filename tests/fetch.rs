//! Release archives fetched from a mirror on loopback (tests/common/mirror.rs), verified and
//! cached: each checksum format, reuse without a request, a corrupted file, a missing checksum,
//! an interrupted download that resumes, a server that ignores ranges, the 404 fallback, the
//! signature with a throwaway key, and `fetch` / `plan` / `mirror:` through the binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::mirror::Mirror;
use sha2::{Digest, Sha512};
use stackctl::dist::{self, Job, Location, Origin, Resolved, Ui};

const QUIET: Ui = Ui {
    json: false,
    quiet: true,
};

/// Deterministic bytes that do not compress away.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha512_hex(b: &[u8]) -> String {
    hex::encode(Sha512::digest(b))
}

fn grouped(hex: &str, per_line: usize, indent: usize) -> String {
    let groups: Vec<String> = hex
        .to_uppercase()
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    groups
        .chunks(per_line)
        .map(|c| c.join(" "))
        .collect::<Vec<_>>()
        .join(&format!("\n{}", " ".repeat(indent)))
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Gnu,
    BsdWithRcName,
    Gpg,
    Mds,
}

/// Puts `content` at `rel` under `root` with its checksum in `format`.
fn publish(root: &Path, rel: &str, content: &[u8], format: Format) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let hex = sha512_hex(content);
    let (suffix, text) = match format {
        // The ZooKeeper plugin writes no final newline.
        Format::Gnu => (".sha512", format!("{hex}  {name}")),
        Format::BsdWithRcName => (
            ".sha512",
            format!(
                "SHA512 ({}) = {hex}\n",
                name.replace(".tar.gz", "-RC1.tar.gz")
            ),
        ),
        Format::Gpg => {
            let indent = name.len() + 2;
            (".sha512", format!("{name}: {}\n", grouped(&hex, 6, indent)))
        }
        Format::Mds => {
            let pad = " ".repeat(name.len() + 2);
            (
                ".mds",
                format!(
                    "{name}:    MD5 = 00 11 22 33 44 55 66 77  88 99 AA BB CC DD EE FF\n{name}: SHA256 = {}\n{name}: SHA512 = {}\n",
                    grouped(&"AB".repeat(32), 8, name.len() + 10),
                    grouped(&hex, 5, pad.len() + 9)
                ),
            )
        }
    };
    std::fs::write(format!("{}{suffix}", path.display()), text).unwrap();
    path
}

fn job(m: &Mirror, cache: &Path, paths: &[&str], keys: Option<&str>) -> Job {
    let paths: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
    let mirror = dist::Mirror::parse(&m.url, Path::new("/")).unwrap();
    match dist::resolve(
        Origin::Mirror {
            paths: &paths,
            keys,
        },
        &mirror,
        cache,
        |_| false,
    ) {
        Resolved::Missing(j) => j,
        other => panic!("{other:?}"),
    }
}

/// A mirror on loopback serving one archive published in `format`, an empty cache, and the
/// job that fetches the archive into it. Bind every field (`root: _root`, not `..`): the
/// directories go when their field is dropped.
struct One {
    root: tempfile::TempDir,
    cache: tempfile::TempDir,
    m: Mirror,
    j: Job,
}

fn one(rel: &str, content: &[u8], format: Format) -> One {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    publish(root.path(), rel, content, format);
    let m = Mirror::serve(root.path());
    let j = job(&m, cache.path(), &[rel], None);
    One { root, cache, m, j }
}

/// What an earlier, interrupted run left: the job's `.part` file holding `content`.
fn leave_part(j: &Job, content: &[u8]) {
    std::fs::create_dir_all(j.dest.parent().unwrap()).unwrap();
    std::fs::write(format!("{}.part", j.dest.display()), content).unwrap();
}

/// The error of a fetch that must fail, with its causes.
fn fetch_err(j: &Job) -> String {
    format!(
        "{:#}",
        dist::fetch(j, &dist::http::agent(), QUIET).unwrap_err()
    )
}

fn cache_is_empty_of(job: &Job) {
    assert!(!job.dest.exists(), "{} was cached", job.dest.display());
    let part = format!("{}.part", job.dest.display());
    assert!(!Path::new(&part).exists(), "{part} was left");
    assert!(!dist::record_path(&job.dest).exists());
}

#[test]
fn each_checksum_format_verifies_and_is_cached_with_its_sum() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cases = [
        (
            "zookeeper/zookeeper-3.5.6/apache-zookeeper-3.5.6-bin.tar.gz",
            Format::Gnu,
            ".sha512",
        ),
        (
            "hadoop/common/hadoop-3.3.6/hadoop-3.3.6.tar.gz",
            Format::BsdWithRcName,
            ".sha512",
        ),
        ("kafka/2.4.0/kafka_2.12-2.4.0.tgz", Format::Gpg, ".sha512"),
        (
            "hadoop/common/hadoop-2.7.7/hadoop-2.7.7.tar.gz",
            Format::Mds,
            ".mds",
        ),
    ];
    for (i, (rel, fmt, _)) in cases.iter().enumerate() {
        publish(root.path(), rel, &bytes(300_000 + i, i as u64 + 7), *fmt);
    }
    let m = Mirror::serve(root.path());
    let agent = dist::http::agent();
    for (i, (rel, fmt, suffix)) in cases.iter().enumerate() {
        let j = job(&m, cache.path(), &[rel], None);
        let f = dist::fetch(&j, &agent, QUIET).unwrap_or_else(|e| panic!("{fmt:?}: {e:#}"));
        assert!(!f.reused);
        assert!(
            f.checksum_from.ends_with(&format!("{rel}{suffix}")),
            "{fmt:?}: {}",
            f.checksum_from
        );
        let content = bytes(300_000 + i, i as u64 + 7);
        assert_eq!(std::fs::read(&f.path).unwrap(), content);
        assert_eq!(f.path, cache.path().join("dist").join(rel));
        let record = std::fs::read_to_string(dist::record_path(&f.path)).unwrap();
        assert!(record.starts_with(&sha512_hex(&content)), "{record}");
        assert!(dist::is_cached(&f.path));
    }
}

#[test]
fn a_cached_file_is_reused_without_a_request_and_refetched_when_it_changed() {
    let One {
        root: _root,
        cache: _cache,
        m,
        j,
    } = one(
        "kafka/3.9.0/kafka_2.13-3.9.0.tgz",
        &bytes(200_000, 3),
        Format::Gpg,
    );
    let agent = dist::http::agent();
    dist::fetch(&j, &agent, QUIET).unwrap();
    let before = m.count();
    let again = dist::fetch(&j, &agent, QUIET).unwrap();
    assert!(again.reused);
    assert_eq!(
        m.count(),
        before,
        "a reuse made requests: {:?}",
        m.requests()
    );
    // Changed on disk since it was verified: never used, fetched again.
    let mut b = std::fs::read(&j.dest).unwrap();
    b[10] ^= 0xff;
    std::fs::write(&j.dest, b).unwrap();
    let third = dist::fetch(&j, &agent, QUIET).unwrap();
    assert!(!third.reused);
    assert_eq!(std::fs::read(&j.dest).unwrap(), bytes(200_000, 3));
}

#[test]
fn a_corrupted_file_is_an_error_naming_it_and_both_sums_and_nothing_is_cached() {
    let rel = "zookeeper/zookeeper-3.5.6/apache-zookeeper-3.5.6-bin.tar.gz";
    let One {
        root,
        cache: _cache,
        m: _m,
        j,
    } = one(rel, &bytes(100_000, 5), Format::Gnu);
    let mut bad = bytes(100_000, 5);
    bad[500] ^= 1;
    std::fs::write(root.path().join(rel), &bad).unwrap();
    let e = fetch_err(&j);
    assert!(e.contains("checksum mismatch"), "{e}");
    assert!(e.contains("apache-zookeeper-3.5.6-bin.tar.gz"), "{e}");
    assert!(
        e.contains(&sha512_hex(&bytes(100_000, 5))),
        "the published sum: {e}"
    );
    assert!(e.contains(&sha512_hex(&bad)), "the download's sum: {e}");
    cache_is_empty_of(&j);
}

#[test]
fn a_missing_checksum_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let rel = "zookeeper/zookeeper-3.4.14/zookeeper-3.4.14.tar.gz";
    let path = root.path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes(10_000, 9)).unwrap();
    // Only an MD5: not enough.
    std::fs::write(
        format!("{}.md5", path.display()),
        "d41d8cd98f00b204e9800998ecf8427e  zookeeper-3.4.14.tar.gz\n",
    )
    .unwrap();
    let m = Mirror::serve(root.path());
    let j = job(&m, cache.path(), &[rel], None);
    let e = fetch_err(&j);
    assert!(e.contains("no published SHA-512"), "{e}");
    assert!(e.contains("unverified"), "{e}");
    assert!(
        m.gets_of(".tar.gz").is_empty(),
        "the archive was downloaded: {:?}",
        m.requests()
    );
    cache_is_empty_of(&j);
    // A checksum file without a SHA-512 in it is refused too.
    std::fs::write(format!("{}.sha512", path.display()), "<html>moved</html>").unwrap();
    let e = fetch_err(&j);
    assert!(e.contains("holds no SHA-512"), "{e}");
    cache_is_empty_of(&j);
}

#[test]
fn an_interrupted_download_resumes_with_a_range_and_ends_verified() {
    let rel = "hbase/2.5.10/hbase-2.5.10-hadoop3-bin.tar.gz";
    let One {
        root: _root,
        cache: _cache,
        m,
        j,
    } = one(rel, &bytes(1_000_000, 11), Format::Gpg);
    m.cut_next_after(300_000);
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert_eq!(f.retries, 1);
    assert_eq!(f.resumed_from, 300_000);
    let gets = m.gets_of(".tar.gz");
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(gets[1].range.as_deref(), Some("bytes=300000-"));
    assert!(
        gets[1].if_range.is_some(),
        "the validator of the first response is sent back"
    );
    assert_eq!(gets[1].status, 206);
    assert_eq!(std::fs::read(&f.path).unwrap(), bytes(1_000_000, 11));
}

#[test]
fn a_part_left_by_an_earlier_run_is_resumed() {
    let rel = "kafka/2.4.0/kafka_2.12-2.4.0.tgz";
    let One {
        root: _root,
        cache: _cache,
        m,
        j,
    } = one(rel, &bytes(500_000, 13), Format::Gpg);
    leave_part(&j, &bytes(500_000, 13)[..123_456]);
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert_eq!(f.resumed_from, 123_456);
    let gets = m.gets_of(".tgz");
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].status, 206);
    assert_eq!(std::fs::read(&f.path).unwrap(), bytes(500_000, 13));
    // A part already whole: 416, verified as it is.
    let cache2 = tempfile::tempdir().unwrap();
    let j2 = job(&m, cache2.path(), &[rel], None);
    leave_part(&j2, &bytes(500_000, 13));
    let f2 = dist::fetch(&j2, &dist::http::agent(), QUIET).unwrap();
    assert_eq!(m.gets_of(".tgz").last().unwrap().status, 416);
    assert_eq!(std::fs::read(&f2.path).unwrap(), bytes(500_000, 13));
}

#[test]
fn a_server_ignoring_ranges_restarts_the_download_cleanly() {
    let rel = "kafka/2.4.0/kafka_2.12-2.4.0.tgz";
    let One {
        root: _root,
        cache: _cache,
        m,
        j,
    } = one(rel, &bytes(400_000, 17), Format::Gpg);
    m.ignore_range(true);
    // A stale part that does not even match the file: a 200 must truncate it.
    leave_part(&j, &bytes(50_000, 99));
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    let gets = m.gets_of(".tgz");
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].range.as_deref(), Some("bytes=50000-"));
    assert_eq!(gets[0].status, 200);
    assert_eq!(f.resumed_from, 0);
    assert_eq!(std::fs::read(&f.path).unwrap(), bytes(400_000, 17));
    // And an interrupted transfer from such a server starts over, still ending verified.
    let cache2 = tempfile::tempdir().unwrap();
    m.cut_next_after(100_000);
    let j = job(&m, cache2.path(), &[rel], None);
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert_eq!(f.retries, 1);
    assert_eq!(std::fs::read(&f.path).unwrap(), bytes(400_000, 17));
}

#[test]
fn a_404_falls_back_to_the_older_layout_and_is_cached_under_the_first() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let old = "hbase/hbase-1.2.9/hbase-1.2.9-bin.tar.gz";
    publish(root.path(), old, &bytes(50_000, 19), Format::Gpg);
    let m = Mirror::serve(root.path());
    let j = job(
        &m,
        cache.path(),
        &["hbase/1.2.9/hbase-1.2.9-bin.tar.gz", old],
        None,
    );
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert!(f.source.ends_with(old), "{}", f.source);
    assert_eq!(
        f.path,
        cache.path().join("dist/hbase/1.2.9/hbase-1.2.9-bin.tar.gz")
    );
    // Nothing anywhere: an error naming every place tried.
    let j = job(
        &m,
        cache.path(),
        &["hbase/9.9.9/hbase-9.9.9-bin.tar.gz"],
        None,
    );
    let e = fetch_err(&j);
    assert!(
        e.contains("is not on the mirror") && e.contains("hbase/9.9.9/"),
        "{e}"
    );
}

#[test]
fn a_directory_or_file_url_mirror_works_like_http() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let rel = "zookeeper/zookeeper-3.5.6/apache-zookeeper-3.5.6-bin.tar.gz";
    publish(root.path(), rel, &bytes(70_000, 23), Format::Gnu);
    for base in [
        root.path().display().to_string(),
        format!("file://{}", root.path().display()),
    ] {
        let mirror = dist::Mirror::parse(&base, Path::new("/")).unwrap();
        let paths = vec![rel.to_string()];
        let c = cache.path().join(base.len().to_string());
        let Resolved::Missing(j) = dist::resolve(
            Origin::Mirror {
                paths: &paths,
                keys: Some("zookeeper/KEYS"),
            },
            &mirror,
            &c,
            |_| false,
        ) else {
            panic!()
        };
        assert!(matches!(&j.sources[0], Location::File(_)));
        let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
        assert_eq!(std::fs::read(&f.path).unwrap(), bytes(70_000, 23));
    }
}

// ---- the signature

fn gpg_available() -> bool {
    Command::new("gpg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && dist::signature::gpgv_available()
}

fn gpg(home: &Path, args: &[&str]) -> Output {
    let o = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .expect("gpg");
    assert!(
        o.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn the_signature_is_checked_with_gpgv_against_the_projects_keys() {
    if !gpg_available() {
        eprintln!("note: gpg/gpgv not installed; the signature test is skipped");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    gpg(
        home.path(),
        &[
            "--quick-gen-key",
            "Release Manager <rm@example.org>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    let root = tempfile::tempdir().unwrap();
    let rel = "kafka/2.4.0/kafka_2.12-2.4.0.tgz";
    let path = publish(root.path(), rel, &bytes(64_000, 29), Format::Gpg);
    // KEYS as Apache publishes it: free text, then the armoured block.
    let armour = gpg(home.path(), &["--armor", "--export"]).stdout;
    let mut keys =
        b"This file contains the PGP keys of the Kafka developers.\n\npub   ed25519\n".to_vec();
    keys.extend(armour);
    std::fs::write(root.path().join("kafka/KEYS"), keys).unwrap();
    let asc = format!("{}.asc", path.display());
    gpg(
        home.path(),
        &[
            "--armor",
            "--detach-sign",
            "--output",
            &asc,
            &path.display().to_string(),
        ],
    );
    let fpr =
        String::from_utf8(gpg(home.path(), &["--with-colons", "--fingerprint"]).stdout).unwrap();
    let fpr = fpr
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .unwrap()
        .trim_matches(':')
        .to_string();

    let m = Mirror::serve(root.path());
    let cache = tempfile::tempdir().unwrap();
    let j = job(&m, cache.path(), &[rel], Some("kafka/KEYS"));
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert_eq!(f.signature, format!("signature: good (gpgv, key 0x{fpr})"));
    // The verdict is kept with the cached file.
    let again = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert!(
        again.reused && again.signature.contains("good (gpgv"),
        "{}",
        again.signature
    );

    // A signature over other bytes: BAD, an error, nothing cached.
    let other = root.path().join("other");
    std::fs::write(&other, b"not the release").unwrap();
    gpg(
        home.path(),
        &[
            "--armor",
            "--detach-sign",
            "--output",
            &asc,
            &other.display().to_string(),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let j = job(&m, cache.path(), &[rel], Some("kafka/KEYS"));
    let e = format!(
        "{:#}",
        dist::fetch(&j, &dist::http::agent(), QUIET).unwrap_err()
    );
    assert!(e.contains("bad signature") && e.contains("BADSIG"), "{e}");
    cache_is_empty_of(&j);

    // No .asc on the mirror: fetched, and said so.
    std::fs::remove_file(&asc).unwrap();
    let f = dist::fetch(&j, &dist::http::agent(), QUIET).unwrap();
    assert_eq!(
        f.signature,
        "signature: not checked (no .asc on the mirror)"
    );
}

// ---- through the binary: fetch, plan, mirror:

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stackctl"));
    c.args(args)
        .env("NO_COLOR", "1")
        .env_remove(dist::MIRROR_ENV);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run stackctl")
}

fn tarball(paths: &[&str]) -> Vec<u8> {
    common::empty_tarball(paths)
}

const ZK_REL: &str = "zookeeper/zookeeper-3.5.6/apache-zookeeper-3.5.6-bin.tar.gz";

fn zk_inventory(extra: &str) -> (tempfile::TempDir, PathBuf) {
    common::inventory(&format!(
        "cluster: t\n{extra}defaults: {{ java_home: /j, java_version: \"11\" }}\ncomponents:\n  zookeeper: {{ version: \"3.5.6\" }}\nhosts:\n  - {{ name: a, address: 10.0.0.1, roles: [zookeeper] }}\n"
    ))
}

fn zk_mirror() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let tgz = tarball(&[
        "apache-zookeeper-3.5.6-bin/lib/zookeeper-3.5.6.jar",
        "apache-zookeeper-3.5.6-bin/lib/zookeeper-jute-3.5.6.jar",
        "apache-zookeeper-3.5.6-bin/bin/zkServer.sh",
    ]);
    publish(root.path(), ZK_REL, &tgz, Format::Gnu);
    root
}

#[test]
fn fetch_then_plan_reads_the_cached_archive_and_plan_alone_says_how_to_get_it() {
    let root = zk_mirror();
    let m = Mirror::serve(root.path());
    let cache = tempfile::tempdir().unwrap();
    let cache_s = cache.path().display().to_string();
    // The inventory's mirror: is wrong on purpose: STACKCTL_MIRROR wins over it.
    let (_d, inv) = zk_inventory("mirror: /nonexistent/mirror\n");
    let inv_s = inv.display().to_string();
    let env = [(dist::CACHE_ENV, cache_s.as_str())];

    let p = run(&["plan", "-i", &inv_s], &env);
    // Text wraps at 100 columns: compare with whitespace runs made single spaces.
    let err = common::flat(&(common::stdout(&p) + &common::stderr(&p)));
    assert!(p.status.success(), "{err}");
    assert!(err.contains("is not fetched yet"), "{err}");
    assert!(err.contains(&format!("run `stackctl fetch -i {inv_s}`, or set mirror:/STACKCTL_MIRROR; it would come from file:///nonexistent/mirror/{ZK_REL}")), "{err}");
    assert_eq!(m.count(), 0, "plan made requests");

    let env_m = [
        (dist::CACHE_ENV, cache_s.as_str()),
        (dist::MIRROR_ENV, m.url.as_str()),
    ];
    let f = run(&["fetch", "-i", &inv_s], &env_m);
    let out = common::stdout(&f);
    assert!(f.status.success(), "{}", common::stderr(&f));
    let cached = cache.path().join("dist").join(ZK_REL);
    assert!(out.contains(&cached.display().to_string()), "{out}");
    assert!(out.contains("sha512 ok"), "{out}");
    assert!(cached.is_file());

    // --json: where each archive is; reused now, no new request.
    let before = m.count();
    let f = run(&["fetch", "-i", &inv_s, "--json"], &env_m);
    assert!(f.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(doc["schema_version"], "1.0");
    common::schema::assert_valid(&doc, "fetch");
    assert_eq!(doc["archives"][0]["component"], "zookeeper");
    assert_eq!(doc["archives"][0]["fetched"]["reused"], true);
    assert_eq!(doc["archives"][0]["path"], cached.display().to_string());
    assert_eq!(m.count(), before);

    // plan now reads the cached archive: its versions come from the jars, no warning.
    let p = run(&["plan", "-i", &inv_s, "--json"], &env);
    assert!(p.status.success(), "{}", common::stderr(&p));
    let plan: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let zk = plan["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["component"] == "zookeeper")
        .unwrap();
    assert_eq!(zk["archive"], cached.display().to_string());
    assert_eq!(zk["bundles_from"], "archive");
    assert!(!String::from_utf8_lossy(&p.stdout).contains("not fetched"));
}

#[test]
fn fetch_fails_with_exit_1_on_a_corrupted_archive() {
    let root = zk_mirror();
    std::fs::write(root.path().join(ZK_REL), b"corrupted").unwrap();
    let m = Mirror::serve(root.path());
    let cache = tempfile::tempdir().unwrap();
    let (_d, inv) = zk_inventory(&format!("mirror: {}\n", m.url));
    let f = run(
        &["fetch", "-i", &inv.display().to_string()],
        &[(dist::CACHE_ENV, &cache.path().display().to_string())],
    );
    assert_eq!(f.status.code(), Some(1));
    let err = common::stderr(&f);
    assert!(
        err.contains("checksum mismatch") && err.contains("apache-zookeeper-3.5.6-bin.tar.gz"),
        "{err}"
    );
    assert!(!cache.path().join("dist").join(ZK_REL).exists());
    // --json: the failure as a document of its own shape, exit 1 too.
    let f = run(
        &["fetch", "--json", "-i", &inv.display().to_string()],
        &[(dist::CACHE_ENV, &cache.path().display().to_string())],
    );
    assert_eq!(f.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert!(
        doc["error"].as_str().unwrap().contains("checksum mismatch"),
        "{doc}"
    );
    common::schema::assert_valid(&doc, "fetch");
}

#[test]
fn an_archive_url_is_fetched_with_its_sha512_beside_it() {
    let root = zk_mirror();
    let custom = "builds/zk/apache-zookeeper-3.5.6-bin.tar.gz";
    std::fs::create_dir_all(root.path().join("builds/zk")).unwrap();
    std::fs::copy(root.path().join(ZK_REL), root.path().join(custom)).unwrap();
    std::fs::copy(
        format!("{}.sha512", root.path().join(ZK_REL).display()),
        format!("{}.sha512", root.path().join(custom).display()),
    )
    .unwrap();
    let m = Mirror::serve(root.path());
    let cache = tempfile::tempdir().unwrap();
    let (_d, inv) = common::inventory(&format!(
        "cluster: t\ndefaults: {{ java_home: /j, java_version: \"11\" }}\ncomponents:\n  zookeeper: {{ version: \"3.5.6\", archive: \"{}{custom}\" }}\nhosts:\n  - {{ name: a, address: 10.0.0.1, roles: [zookeeper] }}\n",
        m.url
    ));
    let f = run(
        &["fetch", "-i", &inv.display().to_string()],
        &[(dist::CACHE_ENV, &cache.path().display().to_string())],
    );
    assert!(f.status.success(), "{}", common::stderr(&f));
    let out = common::stdout(&f);
    assert!(
        out.contains("signature: not checked (no KEYS for an archive given by URL)"),
        "{out}"
    );
    let host_port = m
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .replace(':', "_");
    assert!(
        cache
            .path()
            .join("url")
            .join(host_port)
            .join(custom)
            .is_file(),
        "{out}"
    );
}

#[test]
fn a_bad_mirror_or_archive_url_is_an_error_at_its_line() {
    for (line, expect) in [
        (
            "mirror: ftp://mirror.example/apache\n",
            "unsupported scheme `ftp://`",
        ),
        (
            "mirror: file://relative/path\n",
            "not a file URL with an absolute path",
        ),
        ("mirror: \"https:///dist\"\n", "has no host name"),
    ] {
        let (_d, inv) = zk_inventory(line);
        let p = run(&["plan", "-i", &inv.display().to_string()], &[]);
        assert_eq!(p.status.code(), Some(2), "{line}");
        let err = common::stderr(&p);
        assert!(err.contains(expect), "{line}: {err}");
        assert!(err.contains("inventory.yml:2:"), "{line}: {err}");
        assert!(err.contains("field: mirror"), "{line}: {err}");
    }
    let (_d, inv) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j }\ncomponents:\n  zookeeper: { version: \"3.5.6\", archive: \"ftp://x/zk.tgz\" }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper] }\n",
    );
    let p = run(&["plan", "-i", &inv.display().to_string()], &[]);
    assert_eq!(p.status.code(), Some(2));
    let err = common::stderr(&p);
    assert!(
        err.contains("inventory.yml:4:") && err.contains("components.zookeeper.archive"),
        "{err}"
    );
    // A bad STACKCTL_MIRROR: fetch says which variable.
    let (_d, inv) = zk_inventory("");
    let f = run(
        &["fetch", "-i", &inv.display().to_string()],
        &[(dist::MIRROR_ENV, "gopher://x/")],
    );
    assert_eq!(f.status.code(), Some(1));
    assert!(
        common::stderr(&f).contains("STACKCTL_MIRROR=gopher://x/"),
        "{}",
        common::stderr(&f)
    );
}

#[test]
fn every_component_names_its_official_archive() {
    let (_d, inv) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j, java_version: \"11\" }\ncomponents:\n  zookeeper: { version: \"3.4.14\" }\n  kafka: { version: \"2.4.0\", scala: \"2.12\" }\n  hadoop: { version: \"3.3.6\" }\n  hbase: { version: \"2.5.10\", hadoop3: true }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka, namenode, datanode, hbase-master, hbase-regionserver] }\n",
    );
    let (inv, _) = stackctl::inventory::load(&inv, stackctl::components::catalog()).unwrap();
    let mirror = dist::Mirror::Http(dist::DEFAULT_MIRROR.into());
    let got: Vec<(String, Vec<String>, Option<String>)> =
        stackctl::archives::resolve(&inv, &mirror, Path::new("/c"), &|_| false)
            .into_iter()
            .map(|n| match n.resolved {
                Resolved::Missing(j) => (
                    n.component.to_string(),
                    j.sources
                        .iter()
                        .map(|s| s.to_string().replace(dist::DEFAULT_MIRROR, ""))
                        .collect(),
                    j.keys
                        .map(|k| k.to_string().replace(dist::DEFAULT_MIRROR, "")),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (
                "hadoop".into(),
                s(&["hadoop/common/hadoop-3.3.6/hadoop-3.3.6.tar.gz"]),
                Some("hadoop/common/KEYS".into())
            ),
            (
                "hbase".into(),
                s(&[
                    "hbase/2.5.10/hbase-2.5.10-hadoop3-bin.tar.gz",
                    "hbase/hbase-2.5.10/hbase-2.5.10-hadoop3-bin.tar.gz"
                ]),
                Some("hbase/KEYS".into())
            ),
            (
                "kafka".into(),
                s(&["kafka/2.4.0/kafka_2.12-2.4.0.tgz"]),
                Some("kafka/KEYS".into())
            ),
            (
                "zookeeper".into(),
                s(&["zookeeper/zookeeper-3.4.14/zookeeper-3.4.14.tar.gz"]),
                Some("zookeeper/KEYS".into())
            ),
        ]
    );
}
