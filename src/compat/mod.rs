//! Version compatibility: the rules file, version detection, and the verdicts for a cluster.
//!
//! The knowledge is data (`rules.yaml`, every entry with its source and status); this module
//! only evaluates it. A fact that is merely secondary or unconfirmed never produces an error.

pub mod detect;
pub mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use crate::components::{self, Component};
use crate::diag::{Diagnostic, Pos};
use crate::inventory::Inventory;
use detect::{Detected, Listing};
use version::{JavaVersion, Version, VersionReq};

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
    releases: Vec<RawRelease>,
    rules: Vec<RawRule>,
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
        Ok(Rules { releases, rules })
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

/// Reads archives, compares them with the inventory, and returns the versions in effect plus
/// diagnostics (a declared version that disagrees with its archive is an error).
pub fn resolve_versions(inv: &Inventory) -> (Vec<ComponentVersions>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for spec in inv.components.values() {
        let c = components::find(spec.name).expect("validated");
        let release = rules().release(spec.name, &spec.version);
        let mut cv = ComponentVersions {
            component: spec.name.to_string(),
            version: spec.version.clone(),
            archive: spec.archive.as_ref().map(|(p, _)| p.display().to_string()),
            detected: None,
            bundles: release
                .map(|r| release_bundles(c, spec, r))
                .unwrap_or_default(),
            bundles_from: if release.is_some() {
                "rules".into()
            } else {
                "unknown".into()
            },
        };
        if let Some((path, pos)) = &spec.archive {
            let field = format!("components.{}.archive", spec.name);
            if !path.exists() {
                diags.push(
                    Diagnostic::warning(&inv.path, *pos, &field, format!("archive {} does not exist; versions come from the inventory and the rules file", path.display()))
                        .with_help("`stackctl up` needs it; put the distribution there or fix the path"),
                );
            } else {
                match Listing::read(path).map(|l| (c.detect(&l), l)) {
                    Err(e) => diags.push(Diagnostic::error(&inv.path, *pos, &field, format!("{e:#}"))),
                    Ok((None, _)) => diags.push(
                        Diagnostic::error(&inv.path, *pos, &field, format!("{} does not look like a {} distribution: none of its jars names a {} version", path.display(), spec.name, spec.name))
                            .with_help("point `archive:` at the official tarball or its unpacked directory"),
                    ),
                    Ok((Some(det), _)) => {
                        check_detected(inv, spec, &det, *pos, &field, &mut diags);
                        cv.bundles = det.bundles.clone();
                        cv.bundles_from = "archive".into();
                        cv.detected = Some(det);
                    }
                }
            }
        }
        out.push(cv);
    }
    (out, diags)
}

fn release_bundles(
    c: &dyn Component,
    spec: &crate::inventory::ComponentSpec,
    r: &Release,
) -> BTreeMap<String, Version> {
    let mut b = BTreeMap::new();
    if let Some(zk) = r.bundles.get("zookeeper") {
        b.insert("zookeeper-client".to_string(), zk.clone());
    }
    let hadoop3 = c.name() == "hbase" && crate::components::hbase::HBase::hadoop3(spec);
    let key = if hadoop3 { "hadoop3" } else { "hadoop" };
    if let Some(h) = r.bundles.get(key) {
        b.insert("hadoop-jars".to_string(), h.clone());
    }
    b
}

fn check_detected(
    inv: &Inventory,
    spec: &crate::inventory::ComponentSpec,
    det: &Detected,
    pos: Pos,
    field: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(v) = &det.version {
        if *v != spec.version {
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    spec.version_pos,
                    format!("components.{}.version", spec.name),
                    format!(
                        "version {} disagrees with the archive, which holds {} {} ({})",
                        spec.version,
                        spec.name,
                        v,
                        det.evidence.first().map(String::as_str).unwrap_or("")
                    ),
                )
                .with_help(format!(
                    "set `version: \"{v}\"` or point `archive:` at the {} {} distribution",
                    spec.name, spec.version
                )),
            );
        }
    }
    if spec.name == "kafka" {
        let declared = crate::components::kafka::Kafka::scala(spec);
        if let Some(s) = &det.scala {
            if *s != declared {
                diags.push(Diagnostic::error(&inv.path, if spec.scalar("scala").is_some() { spec.pos_of("scala") } else { pos }, field, format!("scala {declared} disagrees with the archive, which is built for Scala {s}"))
                    .with_help(format!("set `scala: \"{s}\"`")));
            }
        }
    }
}

/// Every compatibility verdict for the cluster.
pub fn check(inv: &Inventory, versions: &[ComponentVersions]) -> Vec<Verdict> {
    let rules = rules();
    let mut out = Vec::new();
    let by_name: BTreeMap<&str, &ComponentVersions> =
        versions.iter().map(|v| (v.component.as_str(), v)).collect();
    for cv in versions {
        let c = components::find(&cv.component).expect("validated");
        let release = rules.release(&cv.component, &cv.version);
        let spec = inv.component(c.name()).expect("validated");
        if let Some(r) = release {
            release_checks(c, spec, r, cv, &mut out);
        }
        // JDKs of the hosts that run this component.
        let mut jdks: BTreeMap<u64, (JavaVersion, Vec<String>)> = BTreeMap::new();
        let mut unknown = Vec::new();
        for h in inv.hosts.iter().filter(|h| h.has_component(c.name())) {
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
            out.push(jdk_verdict(c, cv, release, &jv, &j, hosts, &ctx));
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
        for link in c.compat_links() {
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

fn release_checks(
    c: &dyn Component,
    spec: &crate::inventory::ComponentSpec,
    r: &Release,
    cv: &ComponentVersions,
    out: &mut Vec<Verdict>,
) {
    let mk = |level, message: String| Verdict {
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
    };
    if c.name() == "kafka" {
        let scala = crate::components::kafka::Kafka::scala(spec);
        if !r.scala.is_empty() && !r.scala.contains(&scala) {
            let level = if r.status.may_error() {
                Level::Error
            } else {
                Level::Warning
            };
            let mut v = mk(
                level,
                format!(
                    "Kafka {} has no Scala {scala} build; builds: {}",
                    cv.version,
                    r.scala.join(", ")
                ),
            );
            v.other = "scala".into();
            v.other_version = scala;
            out.push(v);
        }
        if r.zookeeper_mode == Some(false) {
            let level = if r.status.may_error() {
                Level::Error
            } else {
                Level::Warning
            };
            out.push(mk(level, format!("Kafka {} has no ZooKeeper mode (KRaft only); stackctl deploys ZooKeeper-mode brokers", cv.version)));
        }
    }
}

/// The verdict for `component` `version` on JDK `j`, as `check` gives it: used by `up` with the
/// JDK a host really has.
pub fn jdk(component: &str, version: &Version, j: &JavaVersion) -> Option<Verdict> {
    let c = components::find(component)?;
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
    Some(jdk_verdict(c, &cv, release, &jv, j, vec![], &ctx))
}

fn jdk_verdict(
    c: &dyn Component,
    cv: &ComponentVersions,
    release: Option<&Release>,
    jv: &Version,
    j: &JavaVersion,
    hosts: Vec<String>,
    ctx: &BTreeMap<String, Version>,
) -> Verdict {
    let label = format!("{} {} on JDK {}", cv.component, cv.version, j.major);
    if let Some(rule) = rules().lookup((c.name(), &cv.version), ("java", jv), "runs_with", ctx) {
        return from_rule(rule, c.name(), &cv.version, "java", jv, hosts, &label);
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
        let comps = rule_components();
        for c in &comps {
            assert!(
                [
                    "zookeeper",
                    "zookeeper-client",
                    "kafka",
                    "hadoop",
                    "hadoop-jars",
                    "hbase",
                    "java"
                ]
                .contains(&c.as_str()),
                "{c}"
            );
        }
    }
}
