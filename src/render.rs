//! Tera templates: embedded at build time, overridable from a directory, with escaping that
//! matches each file's real format (XML for `*.xml`, Java properties, POSIX shell).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::{Tera, Value};

use crate::shell::shell_quote;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// Where systemd reads the units an administrator installs: a file rendered there exists only
/// on hosts that run systemd (`up` leaves it out elsewhere, `verify` does not expect it).
pub const UNIT_DIR: &str = "/etc/systemd/system";

/// Whether a rendered file is a systemd unit, installed only where systemd is the init.
pub fn needs_systemd(path: &str) -> bool {
    path.strip_prefix(UNIT_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A file to render onto a host.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Absolute path on the host.
    pub path: String,
    /// Template name under `templates/`, e.g. `zookeeper/zoo.cfg`.
    pub template: &'static str,
    pub mode: u32,
    pub context: std::sync::Arc<serde_json::Value>,
    /// True when the content is the same on every host that gets it, so it is rendered once.
    pub shared: bool,
    /// The component that owns the file.
    pub component: &'static str,
}

pub struct Renderer {
    tera: Tera,
    /// Templates that came from `--templates DIR` rather than the binary.
    pub overridden: Vec<String>,
    /// Files of `--templates DIR` that replace no built-in template and that no template
    /// includes (a misspelt name is silently unused otherwise): path, name, closest built-in.
    pub unused: Vec<(PathBuf, String, Option<String>)>,
}

/// A file rendered for one host.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedFile {
    pub path: String,
    pub template: String,
    pub component: String,
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    pub size: usize,
    pub sha256: String,
    /// True when the file holds a value the secrets policy calls secret: shown masked,
    /// written readable by its owner only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// A systemd unit: installed only on hosts whose init is systemd.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_systemd: bool,
    #[serde(skip)]
    pub content: Arc<String>,
}

fn octal<S: serde::Serializer>(m: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{m:04o}"))
}

impl Renderer {
    pub fn new(override_dir: Option<&Path>) -> Result<Renderer> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".xml", ".xml.part"]);
        tera.set_escape_fn(xml_escape);
        tera.register_filter("prop_value", prop_value_filter);
        tera.register_filter("prop_key", prop_key_filter);
        tera.register_filter("shell_quote", shell_quote_filter);
        tera.register_filter("comment", comment_filter);
        tera.register_filter("systemd_word", systemd_word_filter);
        tera.register_filter("systemd_text", systemd_text_filter);
        let mut templates: BTreeMap<String, String> = embedded::EMBEDDED
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        let mut overridden = Vec::new();
        let mut unused = Vec::new();
        if let Some(dir) = override_dir {
            if !dir.is_dir() {
                return Err(anyhow!("--templates {}: not a directory", dir.display()));
            }
            let mut files = Vec::new();
            collect(dir, dir, &mut files)?;
            let mut added = Vec::new();
            for (name, path) in files {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read template {}", path.display()))?;
                if !templates.contains_key(&name) {
                    added.push((name.clone(), path.clone()));
                }
                overridden.push(name.clone());
                templates.insert(name, text);
            }
            // A new file is in use when a template includes, imports or extends it by name.
            for (name, path) in added {
                let quoted = [format!("\"{name}\""), format!("'{name}'")];
                let used = templates
                    .iter()
                    .any(|(n, t)| *n != name && quoted.iter().any(|q| t.contains(q.as_str())));
                if !used {
                    let guess = crate::diag::did_you_mean(
                        &name,
                        embedded::EMBEDDED.iter().map(|(n, _)| *n),
                    )
                    .map(str::to_string);
                    unused.push((path, name, guess));
                }
            }
            overridden.retain(|n| !unused.iter().any(|(_, u, _)| u == n));
        }
        tera.add_raw_templates(templates.iter().map(|(n, s)| (n.as_str(), s.as_str())))
            .map_err(|e| anyhow!("{}", tera_chain(&e)))?;
        Ok(Renderer {
            tera,
            overridden,
            unused,
        })
    }

    pub fn names(&self) -> Vec<&str> {
        self.tera.get_template_names().collect()
    }

    pub fn render(&self, spec: &FileSpec) -> Result<RenderedFile> {
        // from_value moves a clone in; from_serialize would re-serialise the whole tree.
        let ctx = tera::Context::from_value((*spec.context).clone())
            .map_err(|e| anyhow!("{}", tera_chain(&e)))?;
        let content = self.tera.render(spec.template, &ctx).map_err(|e| {
            anyhow!(
                "rendering {} for {}: {}",
                spec.template,
                spec.path,
                tera_chain(&e)
            )
        })?;
        Ok(RenderedFile::new(spec, content))
    }
}

impl RenderedFile {
    pub fn new(spec: &FileSpec, content: String) -> RenderedFile {
        let sha256 = hex::encode(Sha256::digest(content.as_bytes()));
        RenderedFile {
            path: spec.path.clone(),
            template: spec.template.to_string(),
            component: spec.component.to_string(),
            mode: spec.mode,
            size: content.len(),
            sha256,
            secret: false,
            needs_systemd: needs_systemd(&spec.path),
            content: Arc::new(content),
        }
    }
}

/// Tera hides the useful part of an error in its source chain.
fn tera_chain(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, std::path::PathBuf)>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out)?;
        } else {
            let name = p
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((name, p));
        }
    }
    Ok(())
}

/// XML text escaping. Tera's default is HTML's, which also escapes `/` and makes
/// `hdfs://nn:8020/hbase` unreadable.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A parser turns a raw CR (and CR LF) into LF; a reference survives.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A value in a Java `.properties` file (read as ISO-8859-1 by `Properties.load`).
pub fn prop_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' if i == 0 => out.push_str("\\ "),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A key in a Java `.properties` file: separators and comment markers must be escaped too.
/// Each character is escaped on its own, so no backslash of the key can pair with the escape
/// of the next character and move the key/value split.
pub fn prop_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' | ':' | '=' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Text inside a comment (a file's header line in shell, properties or XML): one line, and
/// never `--`, which ends nothing in shell but is forbidden inside an XML comment. The inventory
/// already refuses such names; this keeps a template safe whatever reaches it.
pub fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
            '?'
        } else {
            c
        };
        if c == '-' && out.ends_with('-') {
            out.push(' ');
        }
        out.push(c);
    }
    if out.ends_with('-') {
        out.push(' ');
    }
    out
}

/// One POSIX shell word, single-quoted.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn prop_value_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(prop_value(&as_text(v))))
}
fn prop_key_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(prop_key(&as_text(v))))
}
fn comment_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(comment_text(&as_text(v))))
}
fn shell_quote_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(shell_quote(&as_text(v))))
}
fn systemd_word_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(systemd_word(&as_text(v))))
}
fn systemd_text_filter(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(systemd_text(&as_text(v))))
}

/// One word of a unit's command line (`ExecStart=`): systemd splits on white space, reads
/// quotes and C escapes, and expands `%` specifiers and `$` variables, so anything beyond
/// plain path characters is double-quoted with those escaped.
pub fn systemd_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+-:=@,".contains(&b));
    if plain {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A unit setting's free text (`Description=`): one line, `%` specifiers not expanded.
pub fn systemd_text(s: &str) -> String {
    comment_text(s).replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(xml_escape("a<b & 'c'"), "a&lt;b &amp; &apos;c&apos;");
        assert_eq!(xml_escape("hdfs://nn:8020/hbase"), "hdfs://nn:8020/hbase");
        assert_eq!(xml_escape("a\r\nb"), "a&#13;\nb");
        assert_eq!(prop_value("C:\\dir"), "C:\\\\dir");
        assert_eq!(prop_value(" lead"), "\\ lead");
        assert_eq!(prop_value("é"), "\\u00e9");
        assert_eq!(prop_key("a b=c"), "a\\ b\\=c");
        // A backslash before a space stays a backslash: the key is `a\ b`, not `a\` then ` b`.
        assert_eq!(prop_key("a\\ b"), "a\\\\\\ b");
        assert_eq!(prop_key(" k"), "\\ k");
        assert_eq!(comment_text("a--b\nserver.1=x-"), "a- -b?server.1=x- ");
        assert_eq!(comment_text("3.5.6"), "3.5.6");
        assert_eq!(shell_quote("/usr/lib/jvm/java-8"), "/usr/lib/jvm/java-8");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("x'; rm -rf /"), "'x'\\''; rm -rf /'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$(id)"), "'$(id)'");
    }

    /// Whatever reaches a header comment stays one comment line: no `--` in XML, no line
    /// break in shell or properties (the inventory refuses both; this is the second wall).
    #[test]
    fn header_comments_stay_comments_whatever_reaches_them() {
        let r = Renderer::new(None).unwrap();
        let ctx = serde_json::json!({
            "cluster": "a--b",
            "host": { "name": "h-", "java_home": "/j", "install_dir": "/i" },
            "version": "3.3.6--x\nexport PWNED=1\n-->",
            "c": { "props": [], "scala": "2.12\nallow.everyone.if.no.acl.found=true",
                   "conf_dir": "/c", "log_dir": "/l", "pid_dir": "/p", "line": 3 },
        });
        let spec = |template: &'static str| FileSpec {
            path: "/x".into(),
            template,
            mode: 0o644,
            context: Arc::new(ctx.clone()),
            shared: false,
            component: "hadoop",
        };
        let xml = r.render(&spec("hadoop/core-site.xml")).unwrap();
        let doc = roxmltree::Document::parse(&xml.content).expect("well-formed XML");
        assert_eq!(doc.descendants().filter(|n| n.is_comment()).count(), 1);
        for (t, comment) in [
            ("hadoop/hadoop-env.sh", "#"),
            ("kafka/server.properties", "#"),
        ] {
            let f = r.render(&spec(t)).unwrap();
            let first = f.content.lines().next().unwrap();
            assert!(
                first.starts_with(comment) && first.contains("3.3.6- -x?export PWNED=1?- ->"),
                "{t}: {first}"
            );
            assert!(
                !f.content.contains("\nexport PWNED") && !f.content.contains("\nallow."),
                "{t}"
            );
        }
    }

    #[test]
    fn every_embedded_template_parses() {
        let r = Renderer::new(None).unwrap();
        assert!(r.names().contains(&"zookeeper/zoo.cfg"));
        assert!(r.names().len() >= 14);
    }
}
