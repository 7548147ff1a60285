//! The hostile-inventory corpus (issue 11): values full of shell, properties and XML syntax go
//! into every free-text field that accepts them, `plan --out DIR` renders the files, and each
//! file is read back by its real consumer's rules:
//!
//! - Java `.properties` (`zoo.cfg`, `server.properties`, `log4j.properties`): by
//!   `java.util.Properties` itself (a one-file Java program, when a JDK is on PATH) and by the
//!   `java-properties` crate; `zoo.cfg` keys also trimmed, as ZooKeeper does;
//! - XML (`*-site.xml`): by roxmltree, which refuses `--` in comments and bad characters;
//! - POSIX shell (`hadoop-env.sh`, `hbase-env.sh`): sourced by `sh` with an empty environment and
//!   a `PATH` of one empty directory, then every variable compared; launchers are run with
//!   `status` in the same sandbox;
//! - line files (`workers`, `regionservers`, `myid`): line by line.
//!
//! Each case is compared with a baseline rendered from the same inventory with the plain word
//! `XPAYLOADX` in place of the payload: every key, value, variable and line of the hostile render
//! must be the baseline's with `XPAYLOADX` replaced by the payload — nothing added, nothing lost,
//! nothing split — and no payload may create its marker file. Inventories that stackctl refuses
//! instead (a newline in a version, `..` in a qualifier, keys with surrounding spaces, `--` in
//! names, `.`/`..` host names) are in `tests/fixtures/broken/` with their pinned messages.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::inv::quote;

const PLAIN: &str = "XPAYLOADX";

/// Payloads for every field, paths included (no control characters). `{M}` is the marker
/// directory: a payload that runs writes a file there (`:` and `>` need no command on PATH).
const PAYLOADS: &[&str] = &[
    "$(: > {M}/dollar)",
    "`: > {M}/tick`",
    "'\"'; : > {M}/quote; '\"",
    "; : > {M}/semi #",
    "x\\y\\",
    "a\\ b",
    "\\u0041\\u",
    "a=b:c d#e!f",
    "]]><x/><!-- c -->",
    "a--b-",
    "${HOME}$PATH",
    "é✓ ünï",
];

/// Payloads for configuration values only: line breaks and tabs are data there.
const VALUE_PAYLOADS: &[&str] = &[
    "x\nserver.99=10.0.0.99:2888:3888\ndataDir=/etc",
    "x\r\nallow.everyone.if.no.acl.found=true",
    "tab\there\\",
    "#not a comment\n!nor this",
];

/// The inventory with `p` in every field that takes free text; `v` is the value payload and
/// `xk` the payload in Hadoop and HBase property names (which refuse whitespace).
fn inventory(p: &str, xk: &str, v: &str) -> String {
    let q = |s: &str| quote(s);
    let key = |prefix: &str| q(&format!("{prefix}.{p}"));
    let xml_key = |prefix: &str| q(&format!("{prefix}.{xk}"));
    format!(
        r#"cluster: hostile
defaults:
  java_home: {jh}
  java_version: "11"
  install_dir: {inst}
  data_dir: {data}
  log_dir: {log}
components:
  zookeeper:
    version: "3.8.4"
    jvm_opts: {opts}
    config:
      {zk_key}: {pv}
      zk.value: {vv}
  kafka:
    version: "3.6.2"
    scala: "2.13"
    mode: zookeeper
    jvm_opts: {opts}
    config:
      {kafka_key}: {pv}
      kafka.value: {vv}
  hadoop:
    version: "3.3.6"
    jvm_opts: {opts}
    krb5_realm: {pv}
    krb5_kdc: {pv}
    core-site:
      {core_key}: {pv}
      core.value: {vv}
    hdfs-site:
      {hdfs_key}: {pv}
  hbase:
    version: "2.5.10"
    hadoop3: true
    jvm_opts: {opts}
    config:
      {hbase_key}: {pv}
      hbase.value: {vv}
hosts:
  - name: node1
    address: 10.0.0.1
    roles: [zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager, hbase-master, hbase-regionserver]
"#,
        jh = q(&format!("/usr/lib/jvm/j {p}")),
        inst = q(&format!("/opt/s {p}")),
        // Hadoop expands `${...}` in the HDFS directories it reads from data_dir; one it cannot
        // resolve is refused there (pinned in broken/namenode-dir-unresolved.yml), so the data
        // directory gets the payload without that form.
        data = q(&format!("/data/d{}", data_payload(p))),
        log = q(&format!("/var/log/l{p}")),
        opts = q(&format!("-Dhostile.opt={p}")),
        pv = q(p),
        vv = q(v),
        zk_key = key("zk"),
        kafka_key = key("kafka"),
        core_key = xml_key("core"),
        hdfs_key = xml_key("hdfs"),
        hbase_key = xml_key("hbase"),
    )
}

/// `plan --out` of `yaml`: relative path (under the host) -> content.
fn render(yaml: &str) -> BTreeMap<String, Vec<u8>> {
    let (dir, path) = common::inventory(yaml);
    let out = dir.path().join("out");
    let ran = common::stackctl(&[
        "plan",
        "-i",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        ran.status.code(),
        Some(0),
        "plan --out failed for\n{yaml}\n{}",
        common::stderr(&ran)
    );
    let mut files = BTreeMap::new();
    walk(&out, &out, &mut files);
    // Everything under DIR/<host>/: nothing escaped DIR.
    assert!(
        files.keys().all(|k| k.starts_with("node1/")),
        "{:?}",
        files.keys()
    );
    files
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// What a consumer reads from one file, as ordered (name, value) pairs.
type Read = Vec<(String, String)>;

fn kind(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap();
    if name.ends_with(".xml") {
        "xml"
    } else if name.ends_with(".properties") || name == "zoo.cfg" {
        "properties"
    } else if name.ends_with("-env.sh") {
        "env"
    } else if path.contains("/etc/launch/") {
        "launcher"
    } else if name.ends_with(".service") {
        "unit"
    } else {
        "lines"
    }
}

fn read_properties(bytes: &[u8]) -> Read {
    let map = java_properties::read(bytes).expect("a readable properties file");
    let mut v: Read = map.into_iter().collect();
    v.sort();
    v
}

fn read_xml(text: &str) -> Read {
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not XML: {e}\n{text}"));
    let mut v = Vec::new();
    for p in doc.descendants().filter(|n| n.has_tag_name("property")) {
        let field = |tag: &str| {
            p.children()
                .find(|c| c.has_tag_name(tag))
                .map(|c| c.text().unwrap_or("").to_string())
                .unwrap_or_else(|| panic!("a property without <{tag}>"))
        };
        // Hadoop's Configuration trims names (and values) as it reads them.
        v.push((field("name").trim().to_string(), field("value")));
    }
    let comments: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_comment())
        .filter_map(|n| n.text())
        .collect();
    v.push(("<comments>".into(), comments.len().to_string()));
    v.sort();
    v
}

/// Sources `file` in `sh` with nothing in the environment and nothing on PATH; returns every
/// variable it ended with (`env -0`, so values may hold line breaks).
fn source_env(file: &Path, sandbox: &Path) -> Read {
    let empty = sandbox.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new("/usr/bin/env")
        .args(["-i", &format!("PATH={}", empty.display()), "/bin/sh", "-c"])
        .arg(". \"$1\"; /usr/bin/env -0")
        .arg("sh")
        .arg(file)
        .current_dir(sandbox)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sourcing {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Read = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|e| !e.is_empty())
        .filter_map(|e| e.split_once('='))
        .filter(|(k, _)| !["PWD", "OLDPWD", "SHLVL", "_", "PATH"].contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

/// Runs a launcher's `status` in the sandbox: it must parse, set its variables and report
/// `stopped` without running anything.
fn run_launcher(file: &Path, sandbox: &Path) -> Read {
    let empty = sandbox.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let syntax = Command::new("/bin/sh")
        .arg("-n")
        .arg(file)
        .status()
        .unwrap();
    assert!(syntax.success(), "{} is not valid sh", file.display());
    let out = Command::new("/usr/bin/env")
        .args(["-i", &format!("PATH={}", empty.display()), "/bin/sh"])
        .arg(file)
        .arg("status")
        .current_dir(sandbox)
        .output()
        .unwrap();
    vec![
        ("exit".into(), format!("{:?}", out.status.code())),
        (
            "stdout".into(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
    ]
}

/// A systemd unit as systemd reads it: `ExecStart=` split into words (double quotes, `\\`
/// escapes, `%%` and `$$`), other settings with `%%` read as `%`, comments as lines.
fn read_unit(text: &str) -> Read {
    let unescape = |v: &str| v.replace("%%", "%").replace("$$", "$");
    let mut out = Read::new();
    for (i, l) in text.lines().enumerate() {
        match l.split_once('=') {
            Some(("ExecStart", cmd)) => {
                let (mut words, mut w, mut quoted, mut chars) =
                    (Vec::new(), String::new(), false, cmd.chars());
                while let Some(c) = chars.next() {
                    match c {
                        '"' => quoted = !quoted,
                        '\\' if quoted => match chars.next() {
                            Some('n') => w.push('\n'),
                            Some(c) => w.push(c),
                            None => {}
                        },
                        ' ' if !quoted => words.push(std::mem::take(&mut w)),
                        c => w.push(c),
                    }
                }
                assert!(!quoted, "unbalanced quote in {l}");
                words.push(w);
                for (j, w) in words.iter().filter(|w| !w.is_empty()).enumerate() {
                    out.push((format!("ExecStart.{j}"), unescape(w)));
                }
            }
            Some((k, v)) if !l.starts_with('#') => out.push((k.to_string(), unescape(v))),
            _ => out.push((i.to_string(), l.to_string())),
        }
    }
    out.sort();
    out
}

fn read_lines(text: &str) -> Read {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i.to_string(), l.to_string()))
        .collect()
}

/// Reads every rendered file the way its consumer does. `disk` is where the files are written
/// for the shell and Java (`rel` -> path).
fn read_all(
    files: &BTreeMap<String, Vec<u8>>,
    disk: &Path,
    sandbox: &Path,
) -> BTreeMap<String, Read> {
    let mut out = BTreeMap::new();
    for (rel, bytes) in files {
        let path = disk.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let text = String::from_utf8(bytes.clone()).expect("UTF-8");
        let read = match kind(rel) {
            "xml" => read_xml(&text),
            "properties" => {
                // ISO-8859-1 with \u escapes: the files must be pure ASCII.
                assert!(bytes.is_ascii(), "{rel} is not ASCII:\n{text}");
                let mut r = read_properties(bytes);
                if rel.ends_with("zoo.cfg") {
                    // ZooKeeper trims keys after Properties.load: no two may meet.
                    let trimmed: std::collections::BTreeSet<String> =
                        r.iter().map(|(k, _)| k.trim().to_string()).collect();
                    assert_eq!(trimmed.len(), r.len(), "{rel}: keys collide once trimmed");
                    r = r
                        .into_iter()
                        .map(|(k, v)| (k.trim().to_string(), v))
                        .collect();
                }
                r
            }
            "env" => source_env(&path, sandbox),
            "launcher" => run_launcher(&path, sandbox),
            "unit" => read_unit(&text),
            _ => read_lines(&text),
        };
        out.insert(rel.clone(), read);
    }
    out
}

/// A JDK's `java`, for the `java.util.Properties` check.
fn java() -> Option<PathBuf> {
    let ok = |p: &Path| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("java"))
        .chain(std::iter::once(PathBuf::from(
            "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
        )))
        .find(|p| p.is_file() && ok(p))
}

const CHECK_JAVA: &str = r#"
import java.io.*;
import java.util.*;

public class Check {
    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            Properties p = new Properties();
            try (InputStream in = new FileInputStream(args[i])) { p.load(in); }
            System.out.println("FILE " + i);
            for (String k : new TreeSet<>(p.stringPropertyNames())) {
                System.out.println(esc(k) + "\t" + esc(p.getProperty(k)));
            }
        }
    }
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '\\') b.append("\\\\");
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }
}
"#;

fn unescape(s: &str) -> String {
    let mut units: Vec<u16> = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('\\') => units.push(b'\\' as u16),
                Some('u') => {
                    let hex: String = (0..4).filter_map(|_| it.next()).collect();
                    units.push(u16::from_str_radix(&hex, 16).unwrap());
                }
                other => panic!("bad escape {other:?}"),
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    String::from_utf16(&units).unwrap()
}

/// Every properties file loaded by `java.util.Properties` in one JVM: file -> sorted pairs.
fn java_read(java: &Path, files: &[PathBuf], work: &Path) -> Vec<Read> {
    let src = work.join("Check.java");
    std::fs::write(&src, CHECK_JAVA).unwrap();
    let out = Command::new(java).arg(&src).args(files).output().unwrap();
    assert!(
        out.status.success(),
        "java Check.java: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reads: Vec<Read> = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if line.starts_with("FILE ") {
            reads.push(Vec::new());
        } else {
            let (k, v) = line.split_once('\t').expect("key<TAB>value");
            reads.last_mut().unwrap().push((unescape(k), unescape(v)));
        }
    }
    reads.iter_mut().for_each(|r| r.sort());
    reads
}

/// The payload as the data directory gets it: Hadoop expands `${...}` in the HDFS directories
/// (derived from data_dir) and one stackctl cannot resolve is refused, so no `${` there.
fn data_payload(p: &str) -> String {
    p.replace("${", "$")
}

/// `s` (a baseline name or read) with the payload in place of `XPAYLOADX`.
fn with_payload(s: &str, p: &str) -> String {
    s.replace(
        &format!("/data/d{PLAIN}"),
        &format!("/data/d{}", data_payload(p)),
    )
    .replace(PLAIN, p)
}

/// The baseline's read with the payloads in place of `XVALUEX`, `XKEYX` and `XPAYLOADX`: what
/// the hostile render must read as.
fn expected(base: &Read, case: &Case) -> Read {
    let mut e: Read = base
        .iter()
        .map(|(k, x)| {
            let sub = |s: &str| {
                with_payload(
                    &s.replace("XVALUEX", &case.v).replace("XKEYX", &case.xk),
                    &case.p,
                )
            };
            (sub(k), sub(x))
        })
        .collect();
    e.sort();
    e
}

struct Case {
    p: String,
    xk: String,
    v: String,
    marker_dir: tempfile::TempDir,
}

#[test]
fn hostile_values_round_trip_as_data_through_every_format() {
    let base_files = render(&inventory(PLAIN, "XKEYX", "XVALUEX"));
    let work = tempfile::tempdir().unwrap();
    let base = read_all(&base_files, &work.path().join("base"), work.path());
    // The baseline itself reads as planned: the comparison below has something to compare.
    assert!(
        base.keys().any(|k| k.ends_with("zoo.cfg"))
            && base.keys().any(|k| k.ends_with("core-site.xml"))
    );
    assert!(
        base.keys().any(|k| k.ends_with("hadoop-env.sh"))
            && base.keys().any(|k| k.contains("/etc/launch/"))
    );
    let zoo = base.iter().find(|(k, _)| k.ends_with("zoo.cfg")).unwrap().1;
    assert!(
        zoo.iter()
            .any(|(k, v)| k == "zk.XPAYLOADX" && v == "XPAYLOADX"),
        "{zoo:?}"
    );

    let mut cases: Vec<Case> = Vec::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let marker_dir = tempfile::tempdir().unwrap();
        let m = marker_dir.path().display().to_string();
        let p = p.replace("{M}", &m);
        cases.push(Case {
            xk: p.replace(char::is_whitespace, "_"),
            p,
            v: VALUE_PAYLOADS[i % VALUE_PAYLOADS.len()].to_string(),
            marker_dir,
        });
    }
    let mut java_files: Vec<PathBuf> = Vec::new();
    let mut java_expect: Vec<(String, Read)> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let files = render(&inventory(&case.p, &case.xk, &case.v));
        let disk = work.path().join(format!("case{i}"));
        let sandbox = work.path().join(format!("sandbox{i}"));
        std::fs::create_dir_all(&sandbox).unwrap();
        let got = read_all(&files, &disk, &sandbox);
        // The same files, under the same paths with the payload in place of XPAYLOADX.
        let want_names: Vec<String> = base.keys().map(|k| with_payload(k, &case.p)).collect();
        let got_names: Vec<String> = got.keys().cloned().collect();
        let mut want_sorted = want_names.clone();
        want_sorted.sort();
        assert_eq!(got_names, want_sorted, "payload {:?}: file set", case.p);
        for (rel, b) in &base {
            let hrel = with_payload(rel, &case.p);
            let want = expected(b, case);
            assert_eq!(
                got[&hrel],
                want,
                "payload {:?}, value {:?}: {hrel} reads differently from the baseline\n{}",
                case.p,
                case.v,
                String::from_utf8_lossy(&files[&hrel])
            );
            if kind(rel) == "properties" {
                java_files.push(disk.join(&hrel));
                java_expect.push((hrel.clone(), want));
            }
        }
        // Nothing ran: sh never wrote a marker, in the sandbox or the marker directory.
        let ran: Vec<_> = std::fs::read_dir(case.marker_dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(ran.is_empty(), "payload {:?} ran: {ran:?}", case.p);
    }

    // The consumer's own parser: java.util.Properties, in one JVM for every file.
    assert!(java_files.len() >= PAYLOADS.len() * 4, "{java_files:?}");
    match java() {
        Some(java) => {
            let reads = java_read(&java, &java_files, work.path());
            assert_eq!(reads.len(), java_expect.len());
            for (read, (rel, want)) in reads.iter().zip(&java_expect) {
                let read: Read = if rel.ends_with("zoo.cfg") {
                    let mut r: Read = read
                        .iter()
                        .map(|(k, v)| (k.trim().to_string(), v.clone()))
                        .collect();
                    r.sort();
                    r
                } else {
                    read.clone()
                };
                assert_eq!(&read, want, "java.util.Properties reads {rel} differently");
            }
        }
        None => eprintln!("no java on PATH: the java.util.Properties check was skipped"),
    }
}

/// The sandbox really would see an injection: a value that does run (written raw into a file
/// that is sourced) leaves its marker, so the negative checks above can fail.
#[test]
fn the_sandbox_sees_an_injection() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evil-env.sh");
    let marker = dir.path().join("ran");
    std::fs::write(&file, format!("export A=$(: > '{}')x\n", marker.display())).unwrap();
    let vars = source_env(&file, dir.path());
    assert!(marker.exists());
    assert!(vars.iter().any(|(k, v)| k == "A" && v == "x"));
    // And a properties line with a raw newline adds a key that the baseline comparison sees.
    let read = read_properties(b"k=x\nserver.99=evil\n");
    assert_eq!(read.len(), 2);
    // And roxmltree refuses `--` inside a comment.
    assert!(roxmltree::Document::parse("<!-- a--b --><c/>").is_err());
}
