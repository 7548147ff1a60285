//! Apache-style versions and the requirement syntax of the rules file.
//!
//! Apache versions are not semver: `3.5.4-beta`, `3.4.5-cdh5.3.6`, `2.5.10-hadoop3`, four
//! components in CDH. We compare the dotted numeric part and ignore qualifiers for ordering.
//! Java versions are reduced to their major (`1.8.0_231` is 8, `11.0.13` is 11).

use std::cmp::Ordering;
use std::fmt;

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Eq)]
pub struct Version {
    pub parts: Vec<u64>,
    /// Everything after the first `-` (or after a non-numeric dotted part): `beta`, `cdh5.3.6`.
    pub qualifier: Option<String>,
    pub raw: String,
}

impl Version {
    pub fn parse(s: &str) -> Result<Version, String> {
        let raw = s.trim();
        if raw.is_empty() {
            return Err("empty version".into());
        }
        let (numeric, qualifier) = match raw.find('-') {
            Some(i) => (&raw[..i], Some(raw[i + 1..].to_string())),
            None => (raw, None),
        };
        let mut parts = Vec::new();
        for p in numeric.split('.') {
            match p.parse::<u64>() {
                Ok(n) if !p.starts_with('+') => parts.push(n),
                _ => {
                    return Err(format!(
                    "`{raw}` is not a version: expected dotted numbers such as `3.5.6` or `2.4.0`"
                ))
                }
            }
        }
        Ok(Version {
            parts,
            qualifier: qualifier.filter(|q| !q.is_empty()),
            raw: raw.to_string(),
        })
    }

    pub fn part(&self, i: usize) -> u64 {
        self.parts.get(i).copied().unwrap_or(0)
    }
    pub fn major(&self) -> u64 {
        self.part(0)
    }
    pub fn minor(&self) -> u64 {
        self.part(1)
    }
    /// `major.minor`, the release line (`3.5`, `2.4`).
    pub fn line(&self) -> String {
        format!("{}.{}", self.major(), self.minor())
    }
    pub fn at_least(&self, other: &str) -> bool {
        Version::parse(other).map(|o| *self >= o).unwrap_or(false)
    }
    /// True when `prefix` (dotted numbers) equals the leading components of this version.
    pub fn has_prefix(&self, prefix: &[u64]) -> bool {
        prefix.len() <= self.parts.len() && self.parts[..prefix.len()] == *prefix
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            match self.part(i).cmp(&other.part(i)) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

/// A JDK, reduced to the major version that compatibility rules speak of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaVersion {
    pub major: u64,
    pub raw: String,
}

impl JavaVersion {
    /// Parses `8`, `1.8`, `1.8.0_231`, `11`, `11.0.13`, `17.0.15+6`, `21-ea`.
    pub fn parse(s: &str) -> Result<JavaVersion, String> {
        let raw = s.trim().trim_matches('"');
        let bad = || {
            format!(
                "`{raw}` is not a Java version: expected e.g. `8`, `1.8.0_231`, `11.0.13` or `17`"
            )
        };
        let first: String = raw.chars().take_while(|c| c.is_ascii_digit()).collect();
        let first: u64 = first.parse().map_err(|_| bad())?;
        let major = if first == 1 {
            // Java 8 and older: 1.N
            let rest = raw.get(2..).ok_or_else(bad)?;
            if !raw[1..].starts_with('.') {
                return Err(bad());
            }
            let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            n.parse().map_err(|_| bad())?
        } else {
            first
        };
        if major < 1 {
            return Err(bad());
        }
        Ok(JavaVersion {
            major,
            raw: raw.to_string(),
        })
    }

    /// The version from `java -version` output (stderr): the first `version "..."` string.
    pub fn from_java_version_output(out: &str) -> Option<JavaVersion> {
        let line = out.lines().find(|l| l.contains(" version \""))?;
        let start = line.find(" version \"")? + " version \"".len();
        let end = line[start..].find('"')? + start;
        JavaVersion::parse(&line[start..end]).ok()
    }
}

impl fmt::Display for JavaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for JavaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

/// A version requirement: `||`-separated alternatives of comma-separated comparators.
/// `>=2.2, <2.6 || =3.0.0`; a bare `2.4` is a prefix match; `*` matches anything.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionReq {
    pub raw: String,
    alternatives: Vec<Vec<Comparator>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Comparator {
    Any,
    Prefix(Vec<u64>),
    Op(Op, Version),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl VersionReq {
    pub fn parse(s: &str) -> Result<VersionReq, String> {
        let mut alternatives = Vec::new();
        for alt in s.split("||") {
            let mut comps = Vec::new();
            for c in alt.split(',') {
                let c = c.trim();
                if c.is_empty() {
                    return Err(format!("`{s}`: empty comparator"));
                }
                let (op, rest) = if let Some(r) = c.strip_prefix(">=") {
                    (Some(Op::Ge), r)
                } else if let Some(r) = c.strip_prefix("<=") {
                    (Some(Op::Le), r)
                } else if let Some(r) = c.strip_prefix('>') {
                    (Some(Op::Gt), r)
                } else if let Some(r) = c.strip_prefix('<') {
                    (Some(Op::Lt), r)
                } else if let Some(r) = c.strip_prefix('=') {
                    (Some(Op::Eq), r)
                } else {
                    (None, c)
                };
                let rest = rest.trim();
                comps.push(match op {
                    None if rest == "*" => Comparator::Any,
                    None => {
                        let v = Version::parse(rest.trim_end_matches(".x"))
                            .map_err(|e| format!("`{s}`: {e}"))?;
                        Comparator::Prefix(v.parts)
                    }
                    Some(op) => {
                        Comparator::Op(op, Version::parse(rest).map_err(|e| format!("`{s}`: {e}"))?)
                    }
                });
            }
            alternatives.push(comps);
        }
        Ok(VersionReq {
            raw: s.to_string(),
            alternatives,
        })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.alternatives.iter().any(|alt| {
            alt.iter().all(|c| match c {
                Comparator::Any => true,
                Comparator::Prefix(p) => v.has_prefix(p),
                Comparator::Op(op, w) => match op {
                    Op::Ge => v >= w,
                    Op::Gt => v > w,
                    Op::Le => v <= w,
                    Op::Lt => v < w,
                    Op::Eq => v == w,
                },
            })
        })
    }

    pub fn matches_java(&self, j: &JavaVersion) -> bool {
        self.matches(&Version {
            parts: vec![j.major],
            qualifier: None,
            raw: j.major.to_string(),
        })
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_compare_numerically_and_ignore_qualifiers() {
        assert!(v("2.10.0") > v("2.9.2"));
        assert!(v("3.5.6") > v("3.5"));
        assert_eq!(v("3.5.0"), v("3.5"));
        assert_eq!(v("3.4.5-cdh5.3.6").parts, vec![3, 4, 5]);
        assert_eq!(v("3.4.5-cdh5.3.6").qualifier.as_deref(), Some("cdh5.3.6"));
        assert_eq!(v("3.5.4-beta"), v("3.5.4"));
        assert!(Version::parse("three").is_err());
        assert!(Version::parse("").is_err());
        assert!(Version::parse("3..5").is_err());
    }

    #[test]
    fn requirements() {
        let r = VersionReq::parse(">=2.10.2, <2.11").unwrap();
        assert!(r.matches(&v("2.10.2")) && r.matches(&v("2.10.9")));
        assert!(!r.matches(&v("2.10.1")) && !r.matches(&v("2.11.0")));
        let r = VersionReq::parse("=2.4.18 || >=2.5.7, <2.6 || 2.6").unwrap();
        assert!(r.matches(&v("2.4.18")) && r.matches(&v("2.5.7")) && r.matches(&v("2.6.3")));
        assert!(!r.matches(&v("2.5.6")) && !r.matches(&v("2.4.17")) && !r.matches(&v("2.7.0")));
        let r = VersionReq::parse("2.4").unwrap();
        assert!(r.matches(&v("2.4.1")) && r.matches(&v("2.4")) && !r.matches(&v("2.40.1")));
        let r = VersionReq::parse("3.1.0").unwrap();
        assert!(r.matches(&v("3.1.0")) && !r.matches(&v("3.1.1")));
        assert!(VersionReq::parse("*").unwrap().matches(&v("9.9")));
        assert!(VersionReq::parse("2.4.x").unwrap().matches(&v("2.4.7")));
        assert!(VersionReq::parse(">=").is_err());
        assert!(VersionReq::parse("1.0 ||").is_err());
    }

    #[test]
    fn java_versions() {
        for (s, m) in [
            ("8", 8),
            ("1.8", 8),
            ("1.8.0_231", 8),
            ("1.7.0_80", 7),
            ("11", 11),
            ("11.0.13", 11),
            ("17.0.15+6", 17),
            ("21-ea", 21),
            ("9.0.4", 9),
        ] {
            assert_eq!(JavaVersion::parse(s).unwrap().major, m, "{s}");
        }
        for bad in ["", "java8", "1", "1.x", "0"] {
            assert!(JavaVersion::parse(bad).is_err(), "{bad}");
        }
        let out = "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6)\n";
        assert_eq!(
            JavaVersion::from_java_version_output(out).unwrap().major,
            17
        );
        let out =
            "java version \"1.8.0_231\"\nJava(TM) SE Runtime Environment (build 1.8.0_231-b11)\n";
        assert_eq!(JavaVersion::from_java_version_output(out).unwrap().major, 8);
        assert!(JavaVersion::from_java_version_output("bash: java: command not found").is_none());
        assert!(VersionReq::parse(">=11")
            .unwrap()
            .matches_java(&JavaVersion::parse("17").unwrap()));
    }
}
