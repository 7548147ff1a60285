//! The secrets policy: which configuration keys hold secrets (one list, here, extended by the
//! inventory's `secret_keys:`), where their values sit in a rendered file, and how every output
//! shows them: that a value is there and whether it changed, never the value itself.
//!
//! Files keep their real content (checksums and change detection work on it); only what is
//! shown to people or scripts is masked, and a file that holds a secret is written 0600.

use std::collections::BTreeMap;
use std::ops::Range;

/// Keys whose values are secret, as case-insensitive globs (`*` is any run of characters)
/// matched against the whole key. Taken from what the four products really read:
/// - `*password*`, `*passwd*`: Kafka `ssl.key.password`, `ssl.keystore.password`,
///   `ssl.truststore.password`; ZooKeeper `ssl.keyStore.password`, `ssl.quorum.*.password`;
///   Hadoop `ssl.server.keystore.password`, `hadoop.security.group.mapping.ldap.bind.password`;
///   HBase `hbase.rest.ssl.keystore.password`, `hbase.thrift.ssl.keystore.password`.
/// - `*secret*`: `fs.s3a.secret.key`, `fs.azure.account.oauth2.client.secret`,
///   `hadoop.http.authentication.signature.secret`, Kafka `delegation.token.secret.key`.
/// - `*sasl.jaas.config`: Kafka's inline JAAS (also per listener:
///   `listener.name.<l>.<mechanism>.sasl.jaas.config`), which carries passwords.
/// - `*ssl.keystore.key`: Kafka's inline PEM private key (KIP-651).
/// - `*token*.key`: Kafka `delegation.token.master.key` (the older name).
/// - `fs.azure.account.key.*`: an Azure storage account key.
///
/// Not secret by this list, though their names look close: keystore *locations* and *types*,
/// `*.keytab` paths, `hadoop.security.credential.provider.path` (a path to a store), and the
/// many `*token*` switches and durations (`dfs.block.access.token.enable`,
/// `delegation.token.max.lifetime.ms`). Add any of your own with `secret_keys:`.
pub const BUILTIN: &[&str] = &[
    "*password*",
    "*passwd*",
    "*secret*",
    "*sasl.jaas.config",
    "*ssl.keystore.key",
    "*token*.key",
    "fs.azure.account.key.*",
];

/// What a secret value is shown as.
pub const MASK: &str = "<secret>";
/// What a secret value is shown as when it differs from the one it replaces.
pub const MASK_CHANGED: &str = "<secret, changed>";

/// The built-in list plus the inventory's own patterns.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    extra: Vec<String>,
}

/// Where one secret value sits in a file: its key and the byte range of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub key: String,
    pub value: Range<usize>,
}

impl Policy {
    pub fn new(extra: &[String]) -> Policy {
        Policy {
            extra: extra.to_vec(),
        }
    }

    /// Every pattern in effect, built-in first.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        BUILTIN
            .iter()
            .copied()
            .chain(self.extra.iter().map(String::as_str))
    }

    pub fn is_secret(&self, key: &str) -> bool {
        let key = key.trim().to_ascii_lowercase();
        self.patterns().any(|p| glob(&p.to_ascii_lowercase(), &key))
    }

    /// The secret values in a file, found by its format: Hadoop/HBase XML (`<name>` then
    /// `<value>`), Java properties and `zoo.cfg` (`key=value`, `key: value`, `key value`), and
    /// anywhere a `-Dkey=value` JVM option (env files, launchers).
    pub fn spans(&self, path: &str, content: &str) -> Vec<Span> {
        let mut out = Vec::new();
        let xml = path.ends_with(".xml");
        let mut pending: Option<String> = None;
        let mut offset = 0;
        for line in content.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            if xml {
                if let Some(k) = between(body, "<name>", "</name>") {
                    let k = xml_unescape(&body[k]);
                    pending = self.is_secret(&k).then_some(k);
                }
                if let Some(v) = between(body, "<value>", "</value>") {
                    if let Some(k) = pending.take() {
                        out.push(Span {
                            key: k,
                            value: offset + v.start..offset + v.end,
                        });
                    }
                } else if let Some(i) = body.find("<value>") {
                    // A value with a line break in it (a YAML block scalar) ends on a later
                    // line: the span runs to its `</value>`.
                    let start = offset + i + "<value>".len();
                    if let (Some(k), Some(len)) =
                        (pending.take(), content[start..].find("</value>"))
                    {
                        out.push(Span {
                            key: k,
                            value: start..start + len,
                        });
                    }
                }
            } else if let Some((k, v)) = property(body) {
                if self.is_secret(&k) {
                    out.push(Span {
                        key: k,
                        value: offset + v.start..offset + v.end,
                    });
                }
            }
            for (k, v) in jvm_options(body) {
                if self.is_secret(&k) && !out.iter().any(|s| s.value.start == offset + v.start) {
                    out.push(Span {
                        key: k,
                        value: offset + v.start..offset + v.end,
                    });
                }
            }
            offset += line.len();
        }
        out.retain(|s| !s.value.is_empty());
        out.sort_by_key(|s| s.value.start);
        out
    }

    pub fn holds_secret(&self, path: &str, content: &str) -> bool {
        !self.spans(path, content).is_empty()
    }

    /// The file as it may be shown: every secret value replaced by `<secret>`.
    pub fn mask(&self, path: &str, content: &str) -> String {
        replace(content, &self.spans(path, content), |_, _| MASK)
    }

    /// `old` and `new` as a diff may show them: secrets masked in both, and a secret of `new`
    /// that differs from `old`'s value under the same key shown as `<secret, changed>`.
    pub fn mask_pair(&self, path: &str, old: &str, new: &str) -> (String, String) {
        let old_spans = self.spans(path, old);
        let before: BTreeMap<&str, &str> = old_spans
            .iter()
            .map(|s| (s.key.as_str(), &old[s.value.clone()]))
            .collect();
        let new_spans = self.spans(path, new);
        let masked_new = replace(new, &new_spans, |key, value| {
            if before.get(key) == Some(&value) {
                MASK
            } else {
                MASK_CHANGED
            }
        });
        (replace(old, &old_spans, |_, _| MASK), masked_new)
    }

    /// The secret values of `files` as written, for masking free text (a log tail or a
    /// launcher's output quoting its configuration): longest first, shorter than 4 bytes left
    /// out (masking every `ab` in a message would hide more than it protects).
    pub fn values<'a>(&self, files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
        let mut v: Vec<String> = files
            .into_iter()
            .flat_map(|(path, content)| {
                self.spans(path, content)
                    .into_iter()
                    .flat_map(|s| {
                        let v = &content[s.value];
                        [v.to_string(), xml_unescape(v)]
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|v| v.len() >= 4)
            .collect();
        v.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        v.dedup();
        v
    }
}

/// `text` with every one of `values` replaced by `<secret>`.
pub fn redact(text: &str, values: &[String]) -> String {
    let mut out = text.to_string();
    for v in values {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), MASK);
        }
    }
    out
}

fn replace(content: &str, spans: &[Span], mask: impl Fn(&str, &str) -> &'static str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut at = 0;
    for s in spans {
        if s.value.start < at {
            continue;
        }
        out.push_str(&content[at..s.value.start]);
        out.push_str(mask(&s.key, &content[s.value.clone()]));
        at = s.value.end;
    }
    out.push_str(&content[at..]);
    out
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The range strictly between the first `open` and the next `close` on a line.
fn between(line: &str, open: &str, close: &str) -> Option<Range<usize>> {
    let start = line.find(open)? + open.len();
    let end = start + line[start..].find(close)?;
    Some(start..end)
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A `.properties` line's key (escapes undone) and the range of its value, as
/// `Properties.load` splits it: at the first unescaped `=`, `:` or white space.
fn property(line: &str) -> Option<(String, Range<usize>)> {
    let start = line.len() - line.trim_start().len();
    let t = &line[start..];
    if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
        return None;
    }
    let mut key = String::new();
    let mut chars = t.char_indices();
    let mut end = t.len();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    key.push(n);
                }
            }
            '=' | ':' | ' ' | '\t' => {
                end = i;
                break;
            }
            c => key.push(c),
        }
    }
    // The separator: white space, then at most one `=` or `:`, then white space.
    let rest = &t[end..];
    let mut v = rest.trim_start_matches([' ', '\t']);
    if let Some(after) = v.strip_prefix(['=', ':']) {
        v = after.trim_start_matches([' ', '\t']);
    }
    let vstart = start + end + (rest.len() - v.len());
    Some((key, vstart..line.len()))
}

/// Every `-Dkey=value` on a line, with the value's range (up to white space or a quote).
fn jvm_options(line: &str) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = line[from..].find("-D") {
        let k0 = from + i + 2;
        let tail = &line[k0..];
        let kend = tail
            .find(|c: char| c == '=' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        if tail[kend..].starts_with('=') && kend > 0 {
            let v0 = k0 + kend + 1;
            let vlen = line[v0..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .unwrap_or(line.len() - v0);
            out.push((tail[..kend].to_string(), v0..v0 + vlen));
            from = v0 + vlen;
        } else {
            from = k0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_knows_the_real_secret_keys_and_not_their_neighbours() {
        let p = Policy::default();
        for k in [
            "ssl.keystore.password",
            "ssl.key.password",
            "ssl.truststore.password",
            "ssl.keyStore.password",
            "ssl.quorum.trustStore.password",
            "sasl.jaas.config",
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config",
            "ssl.keystore.key",
            "fs.s3a.secret.key",
            "hadoop.http.authentication.signature.secret",
            "delegation.token.master.key",
            "fs.azure.account.key.acct.blob.core.windows.net",
        ] {
            assert!(p.is_secret(k), "{k}");
        }
        for k in [
            "ssl.keystore.location",
            "ssl.keystore.type",
            "dfs.block.access.token.enable",
            "hbase.master.keytab.file",
            "log.dirs",
        ] {
            assert!(!p.is_secret(k), "{k}");
        }
        let mine = Policy::new(&["my.api.*".into(), "EXACT.ONE".into()]);
        assert!(mine.is_secret("my.api.bearer") && mine.is_secret("exact.one"));
        assert!(!mine.is_secret("exact.one.more"));
    }

    #[test]
    fn every_format_is_masked_and_the_rest_is_kept() {
        let p = Policy::default();
        let props = "# c\nbroker.id=1\nssl.key.password=hunter22\nssl\\ weird.password : a b\n";
        assert_eq!(
            p.mask("/x/server.properties", props),
            "# c\nbroker.id=1\nssl.key.password=<secret>\nssl\\ weird.password : <secret>\n"
        );
        let xml = "  <property>\n    <name>fs.s3a.secret.key</name>\n    <value>AbC&amp;d</value>\n  </property>\n  <property>\n    <name>x</name>\n    <value>plain</value>\n  </property>\n";
        let m = p.mask("/c/core-site.xml", xml);
        assert!(m.contains("<value><secret></value>") && m.contains("<value>plain</value>"));
        assert!(!m.contains("AbC"));
        let sh = "export HADOOP_OPTS=\"-Xmx1g -Djavax.net.ssl.trustStorePassword=s3cr3t -Dx=1\"\n";
        assert_eq!(
            p.mask("/c/hadoop-env.sh", sh),
            "export HADOOP_OPTS=\"-Xmx1g -Djavax.net.ssl.trustStorePassword=<secret> -Dx=1\"\n"
        );
        assert!(p.holds_secret("/c/hadoop-env.sh", sh));
        assert!(!p.holds_secret("/c/zoo.cfg", "dataDir=/d\n"));
    }

    #[test]
    fn an_xml_secret_with_a_line_break_is_masked_whole() {
        let p = Policy::default();
        let xml = "<property>\n  <name>hadoop.security.group.mapping.ldap.bind.password</name>\n  <value>hunter2\nmore</value>\n</property>\n<property>\n  <name>fs.defaultFS</name>\n  <value>hdfs://nn:8020</value>\n</property>\n";
        assert!(p.holds_secret("/etc/hadoop/core-site.xml", xml));
        let m = p.mask("/etc/hadoop/core-site.xml", xml);
        assert!(!m.contains("hunter2") && !m.contains("more"), "{m}");
        assert!(m.contains("<value><secret></value>"), "{m}");
        assert!(m.contains("hdfs://nn:8020"), "{m}");
    }

    #[test]
    fn a_diff_shows_that_a_secret_changed_never_its_value() {
        let p = Policy::default();
        let (old, new) = p.mask_pair(
            "/s.properties",
            "a=1\nssl.key.password=old-one\nsasl.jaas.config=same-value\n",
            "a=2\nssl.key.password=new-one\nsasl.jaas.config=same-value\n",
        );
        assert_eq!(
            old,
            "a=1\nssl.key.password=<secret>\nsasl.jaas.config=<secret>\n"
        );
        assert_eq!(
            new,
            "a=2\nssl.key.password=<secret, changed>\nsasl.jaas.config=<secret>\n"
        );
    }

    #[test]
    fn free_text_loses_every_known_value() {
        let p = Policy::default();
        let v = p.values([(
            "/s.properties",
            "ssl.key.password=hunter22\nx.password=ab\n",
        )]);
        assert_eq!(v, vec!["hunter22".to_string()]);
        assert_eq!(
            redact("init failed: bad password hunter22 in log", &v),
            "init failed: bad password <secret> in log"
        );
    }
}
