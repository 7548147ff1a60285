//! Version compatibility: the rules file, version detection, and the verdicts for a cluster.
//!
//! The knowledge is data (`rules.yaml`, every entry with its source and status); this module
//! only evaluates it. A fact that is merely secondary or unconfirmed never produces an error.

pub mod classpath;
pub mod detect;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use crate::inventory::Inventory;
use crate::version::{JavaVersion, Version, VersionReq};
use detect::Detected;

const RULES_YAML: &str = include_str!("rules.yaml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Confirmed,
    Derived,
    Secondary,
    Unconfirmed,
}

impl Status {
    /// Only facts read from (or worked out from) primary sources may fail a plan.
    pub fn may_error(self) -> bool {
        matches!(self, Status::Confirmed | Status::Derived)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Supported,
    NotTested,
    NotSupported,
    Unconfirmed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    schema: u32,
    /// What each component's release entries may carry (checked by check_rules.py).
    components: BTreeMap<String, RawComponentSchema>,
    subjects: Vec<String>,
    releases: Vec<RawRelease>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponentSchema {
    #[serde(default)]
    #[allow(dead_code)]
    bundles: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    fields: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    #[allow(dead_code)]
    required: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    component: String,
    versions: String,
    #[serde(default)]
    bundles: BTreeMap<String, String>,
    #[serde(default)]
    scala: Vec<String>,
    zookeeper_mode: Option<bool>,
    #[serde(default)]
    java: Vec<String>,
    status: Status,
    source: String,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSide {
    component: String,
    versions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    a: RawSide,
    b: RawSide,
    #[serde(default)]
    when: BTreeMap<String, String>,
    relation: String,
    verdict: VerdictKind,
    status: Status,
    source: String,
    note: Option<String>,
}

#[derive(Debug)]
pub struct Release {
    pub component: String,
    pub versions: VersionReq,
    pub bundles: BTreeMap<String, Version>,
    pub scala: Vec<String>,
    pub zookeeper_mode: Option<bool>,
    pub java: Vec<u64>,
    pub status: Status,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub a: (String, VersionReq),
    pub b: (String, VersionReq),
    pub when: Vec<(String, VersionReq)>,
    pub relation: String,
    pub verdict: VerdictKind,
    pub status: Status,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct Rules {
    /// The components the rules file declares, and the other rule subjects (jars, the JDK).
    pub components: BTreeSet<String>,
    pub subjects: BTreeSet<String>,
    pub releases: Vec<Release>,
    pub rules: Vec<Rule>,
}

/// The rules compiled into the binary, parsed once.
pub fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        Rules::parse(RULES_YAML).expect("the embedded rules.yaml is checked by the test suite")
    })
}

impl Rules {
    pub fn parse(text: &str) -> Result<Rules> {
        let raw: RulesFile =
            serde_saphyr::from_str(text).map_err(|e| anyhow!("rules.yaml: {e}"))?;
        if raw.schema != 1 {
            return Err(anyhow!("rules.yaml: unsupported schema {}", raw.schema));
        }
        let req =
            |s: &str, ctx: &str| VersionReq::parse(s).map_err(|e| anyhow!("rules.yaml {ctx}: {e}"));
        let mut releases = Vec::new();
        for r in raw.releases {
            let ctx = format!("release {} {}", r.component, r.versions);
            let mut bundles = BTreeMap::new();
            for (k, v) in r.bundles {
                bundles.insert(
                    k,
                    Version::parse(&v).map_err(|e| anyhow!("rules.yaml {ctx}: {e}"))?,
                );
            }
            let java = r
                .java
                .iter()
                .map(|j| {
                    j.parse::<u64>()
                        .map_err(|e| anyhow!("rules.yaml {ctx}: java {j}: {e}"))
                })
                .collect::<Result<_>>()?;
            releases.push(Release {
                versions: req(&r.versions, &ctx)?,
                component: r.component,
                bundles,
                scala: r.scala,
                zookeeper_mode: r.zookeeper_mode,
                java,
                status: r.status,
                source: r.source,
                note: r.note,
            });
        }
        let mut rules = Vec::new();
        for r in raw.rules {
            let ctx = format!("rule {}", r.id);
            rules.push(Rule {
                a: (r.a.component, req(&r.a.versions, &ctx)?),
                b: (r.b.component, req(&r.b.versions, &ctx)?),
                when: r
                    .when
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), req(v, &ctx)?)))
                    .collect::<Result<_>>()?,
                id: r.id,
                relation: r.relation,
                verdict: r.verdict,
                status: r.status,
                source: r.source,
                note: r.note,
            });
        }
        Ok(Rules {
            components: raw.components.into_keys().collect(),
            subjects: raw.subjects.into_iter().collect(),
            releases,
            rules,
        })
    }

    pub fn release(&self, component: &str, v: &Version) -> Option<&Release> {
        self.releases
            .iter()
            .find(|r| r.component == component && r.versions.matches(v))
    }

    /// First rule of the (a, b, relation) group that matches; `context` supplies `when:` values.
    pub fn lookup(
        &self,
        a: (&str, &Version),
        b: (&str, &Version),
        relation: &str,
        context: &BTreeMap<String, Version>,
    ) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.relation == relation
                && r.a.0 == a.0
                && r.b.0 == b.0
                && r.a.1.matches(a.1)
                && r.b.1.matches(b.1)
                && r.when
                    .iter()
                    .all(|(k, req)| context.get(k).is_some_and(|v| req.matches(v)))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Error,
}

/// One compatibility finding, naming both sides and the source it rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub level: Level,
    pub subject: String,
    pub subject_version: String,
    pub other: String,
    pub other_version: String,
    pub relation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub source: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

fn level_of(v: VerdictKind, s: Status) -> Level {
    match v {
        VerdictKind::Supported => Level::Ok,
        VerdictKind::NotSupported if s.may_error() => Level::Error,
        _ => Level::Warning,
    }
}

fn describe(v: VerdictKind) -> &'static str {
    match v {
        VerdictKind::Supported => "supported",
        VerdictKind::NotTested => "not tested",
        VerdictKind::NotSupported => "not supported",
        VerdictKind::Unconfirmed => "unconfirmed (no source states it)",
    }
}

/// How one component relates to another, for the checks beyond the JDK.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// `self`, or a bundle key of the release (`zookeeper-client`, `hadoop-jars`).
    pub from: &'static str,
    /// The other deployed component (`zookeeper`, `hadoop`).
    pub to: &'static str,
    pub relation: &'static str,
    /// The two versions must be equal (HBase's bundled Hadoop jars vs the cluster's Hadoop).
    pub must_equal: Option<&'static str>,
    /// Say so when no rule covers the pair. Off for groups that hold only a few special rules
    /// (Kafka or HBase directly against a ZooKeeper server).
    pub report_unknown: bool,
}

/// The versions of one component as far as we know them: declared, detected from the
/// archive, and what its release ships.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentVersions {
    pub component: String,
    pub version: Version,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<Detected>,
    /// Bundled jar versions in effect: detected if an archive was read, else from the rules.
    pub bundles: BTreeMap<String, Version>,
    pub bundles_from: String,
}

/// The jars a release ships, under the bundle keys the rules use: its ZooKeeper client as
/// `zookeeper-client`, and its Hadoop jars (from the release's `hadoop_key` entry: HBase's
/// hadoop3 builds ship other jars) as `hadoop-jars`.
pub fn release_bundles(r: &Release, hadoop_key: &str) -> BTreeMap<String, Version> {
    let mut b = BTreeMap::new();
    if let Some(zk) = r.bundles.get("zookeeper") {
        b.insert("zookeeper-client".to_string(), zk.clone());
    }
    if let Some(h) = r.bundles.get(hadoop_key) {
        b.insert("hadoop-jars".to_string(), h.clone());
    }
    b
}

/// A finding about a release itself (not a pair), at `level` unless its fact may not fail.
pub fn release_verdict(
    cv: &ComponentVersions,
    r: &Release,
    level: Level,
    message: String,
) -> Verdict {
    let level = if level == Level::Error && !r.status.may_error() {
        Level::Warning
    } else {
        level
    };
    Verdict {
        level,
        subject: cv.component.clone(),
        subject_version: cv.version.raw.clone(),
        other: String::new(),
        other_version: String::new(),
        relation: "release".into(),
        verdict: None,
        status: Some(r.status),
        rule: None,
        source: r.source.clone(),
        message,
        hosts: vec![],
    }
}

/// What the rules need from each component beyond its versions, handed in by the registry
/// (this module names no component).
pub struct Hooks<'a> {
    /// How a component relates to the others.
    pub links: &'a dyn Fn(&str) -> &'static [Link],
    /// Findings about a component's release beyond its JDKs.
    pub release_checks: &'a dyn Fn(&ComponentVersions, &Release) -> Vec<Verdict>,
}

/// Every compatibility verdict for the cluster.
pub fn check(inv: &Inventory, versions: &[ComponentVersions], hooks: &Hooks) -> Vec<Verdict> {
    let rules = rules();
    let mut out = Vec::new();
    let by_name: BTreeMap<&str, &ComponentVersions> =
        versions.iter().map(|v| (v.component.as_str(), v)).collect();
    for cv in versions {
        let name = cv.component.as_str();
        let release = rules.release(name, &cv.version);
        if let Some(r) = release {
            out.extend((hooks.release_checks)(cv, r));
        }
        // JDKs of the hosts that run this component.
        let mut jdks: BTreeMap<u64, (JavaVersion, Vec<String>)> = BTreeMap::new();
        let mut unknown = Vec::new();
        for h in inv.hosts.iter().filter(|h| h.has_component(name)) {
            match &h.java_version {
                Some((j, _)) => jdks
                    .entry(j.major)
                    .or_insert_with(|| (j.clone(), Vec::new()))
                    .1
                    .push(h.name.clone()),
                None => unknown.push(h.name.clone()),
            }
        }
        if !unknown.is_empty() {
            out.push(Verdict {
                level: Level::Warning,
                subject: cv.component.clone(),
                subject_version: cv.version.raw.clone(),
                other: "java".into(),
                other_version: "?".into(),
                relation: "runs_with".into(),
                verdict: None,
                status: None,
                rule: None,
                source: String::new(),
                message: "JDK checks skipped: no `java_version` in the inventory (up reads `java -version` on the hosts)".into(),
                hosts: unknown,
            });
        }
        for (major, (j, hosts)) in jdks {
            let jv = Version {
                parts: vec![major],
                qualifier: None,
                raw: major.to_string(),
            };
            let mut ctx = BTreeMap::new();
            ctx.insert("java".to_string(), jv.clone());
            out.push(jdk_verdict(name, cv, release, &jv, &j, hosts, &ctx));
            // Rules keyed on a bundle with a JDK condition (HBase on JDK 11+ needs Hadoop 3 jars).
            for (bundle, bv) in &cv.bundles {
                if let Some(rule) = rules.lookup(
                    (&cv.component, &cv.version),
                    (bundle, bv),
                    "runs_with",
                    &ctx,
                ) {
                    out.push(from_rule(
                        rule,
                        &cv.component,
                        &cv.version,
                        bundle,
                        bv,
                        vec![],
                        &format!(
                            "{} {} on JDK {major} with bundled {bundle} {bv}",
                            cv.component, cv.version
                        ),
                    ));
                }
            }
        }
        for link in (hooks.links)(name) {
            let Some(other) = by_name.get(link.to) else {
                continue;
            };
            let (from_name, from_version) = if link.from == "self" {
                (cv.component.clone(), cv.version.clone())
            } else {
                match cv.bundles.get(link.from) {
                    Some(v) => (link.from.to_string(), v.clone()),
                    None => {
                        out.push(Verdict {
                            level: Level::Warning,
                            subject: format!("{} {}", cv.component, link.from),
                            subject_version: "?".into(),
                            other: link.to.into(),
                            other_version: other.version.raw.clone(),
                            relation: link.relation.into(),
                            verdict: None,
                            status: None,
                            rule: None,
                            source: String::new(),
                            message: format!("which {} jar {} {} ships is unknown; give `archive:` so stackctl can read it", link.from, cv.component, cv.version),
                            hosts: vec![],
                        });
                        continue;
                    }
                }
            };
            let label = if link.from == "self" {
                format!(
                    "{} {} with {} {}",
                    cv.component, cv.version, link.to, other.version
                )
            } else {
                format!(
                    "{} {}'s {} {} with {} {}",
                    cv.component, cv.version, link.from, from_version, link.to, other.version
                )
            };
            if let Some(src) = link.must_equal {
                if from_version != other.version {
                    out.push(Verdict {
                        level: Level::Warning,
                        subject: from_name,
                        subject_version: from_version.raw.clone(),
                        other: link.to.into(),
                        other_version: other.version.raw.clone(),
                        relation: "must_match".into(),
                        verdict: None,
                        status: Some(Status::Confirmed),
                        rule: None,
                        source: src.into(),
                        message: format!("{label}: the jars differ; replace {}'s bundled jars with the cluster's {} {}", cv.component, link.to, other.version),
                        hosts: vec![],
                    });
                }
                continue;
            }
            match rules.lookup(
                (&from_name, &from_version),
                (link.to, &other.version),
                link.relation,
                &BTreeMap::new(),
            ) {
                Some(rule) => out.push(from_rule(
                    rule,
                    &from_name,
                    &from_version,
                    link.to,
                    &other.version,
                    vec![],
                    &label,
                )),
                None if !link.report_unknown => {}
                None => out.push(Verdict {
                    level: Level::Warning,
                    subject: from_name,
                    subject_version: from_version.raw.clone(),
                    other: link.to.into(),
                    other_version: other.version.raw.clone(),
                    relation: link.relation.into(),
                    verdict: None,
                    status: None,
                    rule: None,
                    source: String::new(),
                    message: format!("{label}: no rule covers this combination"),
                    hosts: vec![],
                }),
            }
        }
    }
    out
}

/// The verdict for `component` `version` on JDK `j`, as `check` gives it: used by `up` with the
/// JDK a host really has.
pub fn jdk(component: &str, version: &Version, j: &JavaVersion) -> Option<Verdict> {
    let release = rules().release(component, version);
    let cv = ComponentVersions {
        component: component.to_string(),
        version: version.clone(),
        archive: None,
        detected: None,
        bundles: BTreeMap::new(),
        bundles_from: String::new(),
    };
    let jv = Version {
        parts: vec![j.major],
        qualifier: None,
        raw: j.major.to_string(),
    };
    let ctx = BTreeMap::from([("java".to_string(), jv.clone())]);
    Some(jdk_verdict(component, &cv, release, &jv, j, vec![], &ctx))
}

fn jdk_verdict(
    name: &str,
    cv: &ComponentVersions,
    release: Option<&Release>,
    jv: &Version,
    j: &JavaVersion,
    hosts: Vec<String>,
    ctx: &BTreeMap<String, Version>,
) -> Verdict {
    let label = format!("{} {} on JDK {}", cv.component, cv.version, j.major);
    if let Some(rule) = rules().lookup((name, &cv.version), ("java", jv), "runs_with", ctx) {
        return from_rule(rule, name, &cv.version, "java", jv, hosts, &label);
    }
    let base = Verdict {
        level: Level::Warning,
        subject: cv.component.clone(),
        subject_version: cv.version.raw.clone(),
        other: "java".into(),
        other_version: j.major.to_string(),
        relation: "runs_with".into(),
        verdict: None,
        status: None,
        rule: None,
        source: String::new(),
        message: format!("{label}: no rule covers this combination"),
        hosts,
    };
    match release {
        Some(r) if !r.java.is_empty() => {
            let listed = r.java.contains(&j.major);
            let list = r
                .java
                .iter()
                .map(|j| j.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            Verdict {
                level: if listed {
                    Level::Ok
                } else if r.status.may_error() {
                    Level::Error
                } else {
                    Level::Warning
                },
                verdict: Some(if listed {
                    VerdictKind::Supported
                } else {
                    VerdictKind::NotSupported
                }),
                status: Some(r.status),
                source: r.source.clone(),
                message: if listed {
                    format!("{label}: supported (the line lists JDK {list})")
                } else {
                    format!(
                        "{label}: JDK {} is outside the line's supported list ({list})",
                        j.major
                    )
                },
                ..base
            }
        }
        _ => base,
    }
}

fn from_rule(
    rule: &Rule,
    a: &str,
    av: &Version,
    b: &str,
    bv: &Version,
    hosts: Vec<String>,
    label: &str,
) -> Verdict {
    let mut message = format!("{label}: {}", describe(rule.verdict));
    if !rule.status.may_error() && rule.verdict != VerdictKind::Supported {
        message.push_str(&format!(" [{:?} fact]", rule.status).to_lowercase());
    }
    if let Some(note) = &rule.note {
        if rule.verdict != VerdictKind::Supported {
            message.push_str(&format!(" — {note}"));
        }
    }
    Verdict {
        level: level_of(rule.verdict, rule.status),
        subject: a.into(),
        subject_version: av.raw.clone(),
        other: b.into(),
        other_version: bv.raw.clone(),
        relation: rule.relation.clone(),
        verdict: Some(rule.verdict),
        status: Some(rule.status),
        rule: Some(rule.id.clone()),
        source: rule.source.clone(),
        message,
        hosts,
    }
}

/// The distinct components mentioned in the rules file; used by the test suite.
pub fn rule_components() -> BTreeSet<String> {
    rules()
        .rules
        .iter()
        .flat_map(|r| [r.a.0.clone(), r.b.0.clone()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn embedded_rules_parse_and_answer_known_questions() {
        let r = rules();
        assert!(r.releases.len() > 100 && r.rules.len() > 200);
        assert_eq!(
            r.release("kafka", &v("2.4.0")).unwrap().bundles["zookeeper"].raw,
            "3.5.6"
        );
        assert_eq!(
            r.release("kafka", &v("3.6.0")).unwrap().bundles["zookeeper"].raw,
            "3.8.2"
        );
        let none = BTreeMap::new();
        let verdict = |a: (&str, &str), b: (&str, &str), rel: &str| {
            r.lookup((a.0, &v(a.1)), (b.0, &v(b.1)), rel, &none)
                .map(|x| x.verdict)
        };
        assert_eq!(
            verdict(
                ("zookeeper-client", "3.8.2"),
                ("zookeeper", "3.4.14"),
                "client_to_server"
            ),
            Some(VerdictKind::NotSupported)
        );
        assert_eq!(
            verdict(
                ("zookeeper-client", "3.5.6"),
                ("zookeeper", "3.5.6"),
                "client_to_server"
            ),
            Some(VerdictKind::Supported)
        );
        assert_eq!(
            verdict(("hbase", "1.2.12"), ("hadoop", "2.4.1"), "runs_with"),
            Some(VerdictKind::Supported)
        );
        assert_eq!(
            verdict(("hbase", "2.6.0"), ("hadoop", "3.3.4"), "runs_with"),
            Some(VerdictKind::NotSupported)
        );
        assert_eq!(
            verdict(("hbase", "2.5.10"), ("hadoop", "3.3.6"), "runs_with"),
            Some(VerdictKind::Supported)
        );
        assert_eq!(
            verdict(("hbase", "2.5.8"), ("java", "17"), "runs_with"),
            Some(VerdictKind::NotTested)
        );
        assert_eq!(
            verdict(("kafka", "2.4.0"), ("java", "11"), "runs_with"),
            Some(VerdictKind::Supported)
        );
        let mut ctx = BTreeMap::new();
        ctx.insert("java".to_string(), v("11"));
        let r2 = r
            .lookup(
                ("hbase", &v("2.5.10")),
                ("hadoop-jars", &v("2.10.2")),
                "runs_with",
                &ctx,
            )
            .unwrap();
        assert_eq!(r2.verdict, VerdictKind::NotSupported);
        assert!(r
            .lookup(
                ("hbase", &v("2.5.10")),
                ("hadoop-jars", &v("2.10.2")),
                "runs_with",
                &none
            )
            .is_none());
        for c in &rule_components() {
            assert!(
                r.components.contains(c) || r.subjects.contains(c),
                "{c} is neither a declared component nor a subject"
            );
        }
        for rel in &r.releases {
            assert!(r.components.contains(&rel.component), "{}", rel.component);
        }
    }
}
