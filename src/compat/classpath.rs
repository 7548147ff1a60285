//! Classpath conflicts: a daemon whose classpath holds two versions of one artifact.
//!
//! The JVM takes each class from the first jar on the classpath that has it, so code built
//! against the other version fails only when it runs (a `NoSuchMethodError` in a WebHDFS write
//! through a DataNode, long after the daemon started and `verify` passed). A release's own build
//! resolves one version per artifact, so a faithful distribution never has two; a mixed assembly,
//! or the cluster's Hadoop jars dropped into HBase's `lib/`, does. Everything here is pure: jar
//! names in, conflicts out; `plan` feeds it archive listings, `verify` the hosts' jar lists.

use serde::Serialize;

/// A jar's Maven coordinates as far as its file name tells them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JarName {
    /// `netty-transport-native-epoll`, `kafka_2.12`, `log4j-1.2-api`.
    pub artifact: String,
    /// `4.1.89.Final`, `27.0-jre`, `9999.0-empty-to-avoid-conflict-with-guava`.
    pub version: String,
    /// `linux-x86_64`, `tests`: another file of the same artifact and version.
    pub classifier: Option<String>,
}

/// The first token of the classifiers Maven builds publish beside the main jar (natives per
/// platform, test and source jars). Anything else after the version is part of the version
/// (`-jre`, `-hadoop3`, `-cdh5.3.6`, `-M5`, `-incubating`).
fn classifier_start(token: &str) -> bool {
    const WORDS: &[&str] = &[
        "tests", "test", "sources", "javadoc", "linux", "osx", "windows", "macos", "freebsd",
        "aix", "sunos", "native", "natives", "shaded", "indy", "nohive",
    ];
    WORDS.contains(&token)
        || token
            .strip_prefix("jdk")
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
}

fn digit_led(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit())
}

/// Parses a jar's file name (a path is fine: only the last segment counts) into artifact,
/// version and classifier; `None` for a name with no version (`hadoop-annotations.jar`).
///
/// The version starts at the first `-`-separated token that starts with a digit, unless a
/// later token is a dotted version too: then the earlier number is part of the artifact's name
/// (`log4j-1.2-api-2.17.2`, Jetty 6's `servlet-api-2.5-6.1.14`), while small trailing numbers
/// stay in the version (`jcip-annotations-1.0-1`, `geronimo-jcache_1.0_spec-1.0-alpha-1`).
pub fn parse_jar(file: &str) -> Option<JarName> {
    let name = file.rsplit('/').next().unwrap_or(file);
    let stem = name
        .strip_suffix(".jar")
        .or_else(|| name.strip_suffix(".JAR"))?;
    let tokens: Vec<&str> = stem.split('-').collect();
    let dotted = |t: &str| digit_led(t) && t.contains('.');
    let start = (1..tokens.len())
        .filter(|&i| digit_led(tokens[i]))
        .find(|&i| !(dotted(tokens[i]) && tokens[i + 1..].iter().any(|t| dotted(t))))
        .filter(|&i| !tokens[..i].join("").is_empty())?;
    let end = (start + 1..tokens.len())
        .find(|&i| classifier_start(tokens[i]))
        .unwrap_or(tokens.len());
    Some(JarName {
        artifact: tokens[..start].join("-"),
        version: tokens[start..end].join("-"),
        classifier: (end < tokens.len()).then(|| tokens[end..].join("-")),
    })
}

/// What makes two jars the same library: the artifact without its Scala binary suffix
/// (`kafka_2.12` and `kafka_2.13` hold the same classes).
fn library_key(artifact: &str) -> &str {
    if let Some((base, suffix)) = artifact.rsplit_once('_') {
        let mut parts = suffix.split('.');
        let scala = matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None)
            if !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()));
        if scala && !base.is_empty() {
            return base;
        }
    }
    artifact
}

/// Artifact names that two unrelated projects publish under different groupIds, in different
/// Java packages: a file name does not carry the groupId, so the version's major number tells
/// them apart. Official tarballs ship both side by side (Kafka 3.x `libs/`: Yammer's
/// `metrics-core-2.2.0` for its own gauges and Dropwizard's `metrics-core-4.1.12.1`; HBase 1.x
/// `lib/`: 2.2.0 and 3.1.2), and they are no conflict. (artifact, first major of the second
/// project, that project's groupId)
const SPLIT_PROJECTS: &[(&str, u64, &str)] = &[
    // com.yammer.metrics (2.x) vs io.dropwizard.metrics / com.codahale.metrics (3.x on)
    ("metrics-core", 3, "io.dropwizard.metrics"),
    // org.mortbay.jetty (6.x) vs org.eclipse.jetty (7.x on)
    ("jetty-util", 7, "org.eclipse.jetty"),
    ("jetty", 7, "org.eclipse.jetty"),
    // asm:asm (up to 3.x) vs org.ow2.asm (4.x on)
    ("asm", 4, "org.ow2.asm"),
];

/// Which project publishes `artifact` at `version`, where two do (else empty).
fn project_of(artifact: &str, version: &str) -> &'static str {
    let major: Option<u64> = version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok());
    match (SPLIT_PROJECTS.iter().find(|(a, ..)| *a == artifact), major) {
        (Some((_, from, group)), Some(m)) if m >= *from => group,
        _ => "",
    }
}

/// Two or more versions of one library on one classpath.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The artifact as the first jar names it (`netty-common`).
    pub artifact: String,
    /// One jar per version, in classpath order (the first is the one the JVM loads from).
    pub jars: Vec<String>,
}

/// The conflicts among `jars` (paths, in classpath order): for each library with more than
/// one version, the first jar of each version. The same version in two directories, or
/// beside its own classifiers (natives per platform, tests), is no conflict.
pub fn conflicts(jars: &[String]) -> Vec<Conflict> {
    // (library, [(artifact, version) seen, first jar of each])
    let mut seen: Vec<(String, Vec<((String, String), String)>)> = Vec::new();
    for path in jars {
        let Some(j) = parse_jar(path) else {
            continue;
        };
        let key = format!(
            "{}{}",
            library_key(&j.artifact),
            project_of(&j.artifact, &j.version)
        );
        let ver = (j.artifact.clone(), j.version.clone());
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, vs)) => {
                if !vs.iter().any(|(v, _)| *v == ver) {
                    vs.push((ver, path.clone()));
                }
            }
            None => seen.push((key, vec![(ver, path.clone())])),
        }
    }
    seen.into_iter()
        .filter(|(_, vs)| vs.len() > 1)
        .map(|(_, vs)| Conflict {
            artifact: vs[0].0 .0.clone(),
            jars: vs.into_iter().map(|(_, p)| p).collect(),
        })
        .collect()
}

/// The jars a classpath takes from distributions, in classpath order. `homes` are the
/// distributions' directories with their files relative to the directory (`lib/x.jar`); an
/// entry `{home}/dir/*` takes every jar directly in `dir` (Java's wildcard: not recursive),
/// `{home}/*` those at the top, `{home}/x.jar` that jar. Entries elsewhere (configuration
/// directories) hold no jars of a distribution. Jars are returned as `{home}/dir/x.jar`.
pub fn on_classpath<F: AsRef<[String]>>(
    classpath: &[String],
    homes: &[(String, F)],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for entry in classpath {
        for (home, files) in homes {
            let Some(rel) = entry
                .strip_prefix(home.as_str())
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            let mut take = |f: &String| {
                let p = format!("{home}/{f}");
                if taken.insert(p.clone()) {
                    out.push(p);
                }
            };
            if let Some(dir) = rel.strip_suffix('*') {
                let dir = dir.trim_end_matches('/');
                let mut here: Vec<&String> = files
                    .as_ref()
                    .iter()
                    .filter(|f| {
                        let (parent, name) = f.rsplit_once('/').unwrap_or(("", f.as_str()));
                        parent == dir && (name.ends_with(".jar") || name.ends_with(".JAR"))
                    })
                    .collect();
                // The order a wildcard expands in is the directory's, which is unspecified.
                here.sort();
                here.into_iter().for_each(&mut take);
            } else if rel.ends_with(".jar") {
                files
                    .as_ref()
                    .iter()
                    .filter(|f| f.as_str() == rel)
                    .for_each(take);
            }
        }
    }
    out
}

/// A distribution's files relative to its top directory, as `on_classpath` takes them: the
/// first segment of each path dropped (`hadoop-3.3.6/share/x.jar` -> `share/x.jar`).
pub fn below_top(files: &[String]) -> Vec<String> {
    files
        .iter()
        .filter_map(|f| f.split_once('/').map(|(_, r)| r.to_string()))
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> (String, String, Option<String>) {
        let j = parse_jar(name).unwrap_or_else(|| panic!("{name} parses"));
        (j.artifact, j.version, j.classifier)
    }
    fn t(a: &str, v: &str, c: Option<&str>) -> (String, String, Option<String>) {
        (a.into(), v.into(), c.map(str::to_string))
    }

    #[test]
    fn real_jar_names() {
        let cases = [
            (
                "netty-transport-native-epoll-4.1.89.Final-linux-x86_64.jar",
                t(
                    "netty-transport-native-epoll",
                    "4.1.89.Final",
                    Some("linux-x86_64"),
                ),
            ),
            (
                "netty-transport-native-epoll-4.1.89.Final-linux-aarch_64.jar",
                t(
                    "netty-transport-native-epoll",
                    "4.1.89.Final",
                    Some("linux-aarch_64"),
                ),
            ),
            ("kafka_2.12-2.4.0.jar", t("kafka_2.12", "2.4.0", None)),
            (
                "kafka_2.12-2.4.0-test.jar",
                t("kafka_2.12", "2.4.0", Some("test")),
            ),
            (
                "scala-library-2.12.10.jar",
                t("scala-library", "2.12.10", None),
            ),
            (
                "listenablefuture-9999.0-empty-to-avoid-conflict-with-guava.jar",
                t(
                    "listenablefuture",
                    "9999.0-empty-to-avoid-conflict-with-guava",
                    None,
                ),
            ),
            (
                "jetty-util-9.4.17.v20190418.jar",
                t("jetty-util", "9.4.17.v20190418", None),
            ),
            (
                "hadoop-hdfs-3.3.6-tests.jar",
                t("hadoop-hdfs", "3.3.6", Some("tests")),
            ),
            ("zookeeper-3.4.14.jar", t("zookeeper", "3.4.14", None)),
            ("guava-27.0-jre.jar", t("guava", "27.0-jre", None)),
            ("jline-2.11.jar", t("jline", "2.11", None)),
            (
                "javax.servlet-api-3.1.0.jar",
                t("javax.servlet-api", "3.1.0", None),
            ),
            (
                "hbase-shaded-netty-4.1.5.jar",
                t("hbase-shaded-netty", "4.1.5", None),
            ),
            ("netty-3.10.6.Final.jar", t("netty", "3.10.6.Final", None)),
            (
                "netty-all-4.1.89.Final.jar",
                t("netty-all", "4.1.89.Final", None),
            ),
            (
                "log4j-1.2-api-2.17.2.jar",
                t("log4j-1.2-api", "2.17.2", None),
            ),
            (
                "servlet-api-2.5-6.1.14.jar",
                t("servlet-api-2.5", "6.1.14", None),
            ),
            ("servlet-api-2.5.jar", t("servlet-api", "2.5", None)),
            ("jsp-2.1-6.1.14.jar", t("jsp-2.1", "6.1.14", None)),
            (
                "jcip-annotations-1.0-1.jar",
                t("jcip-annotations", "1.0-1", None),
            ),
            (
                "geronimo-jcache_1.0_spec-1.0-alpha-1.jar",
                t("geronimo-jcache_1.0_spec", "1.0-alpha-1", None),
            ),
            (
                "hbase-server-2.5.10-hadoop3.jar",
                t("hbase-server", "2.5.10-hadoop3", None),
            ),
            (
                "hbase-server-2.5.10-hadoop3-tests.jar",
                t("hbase-server", "2.5.10-hadoop3", Some("tests")),
            ),
            (
                "zookeeper-3.4.5-cdh5.3.6.jar",
                t("zookeeper", "3.4.5-cdh5.3.6", None),
            ),
            (
                "apacheds-i18n-2.0.0-M15.jar",
                t("apacheds-i18n", "2.0.0-M15", None),
            ),
            (
                "htrace-core4-4.2.0-incubating.jar",
                t("htrace-core4", "4.2.0-incubating", None),
            ),
            ("bcprov-jdk15on-1.68.jar", t("bcprov-jdk15on", "1.68", None)),
            (
                "json-lib-2.4-jdk15.jar",
                t("json-lib", "2.4", Some("jdk15")),
            ),
            ("javax.inject-1.jar", t("javax.inject", "1", None)),
            (
                "hadoop-shaded-protobuf_3_7-1.1.1.jar",
                t("hadoop-shaded-protobuf_3_7", "1.1.1", None),
            ),
            ("javax.el-3.0.1-b12.jar", t("javax.el", "3.0.1-b12", None)),
            (
                "a/b/c/commons-math3-3.1.1.jar",
                t("commons-math3", "3.1.1", None),
            ),
        ];
        for (name, want) in cases {
            assert_eq!(p(name), want, "{name}");
        }
        assert_eq!(parse_jar("hadoop-annotations.jar"), None);
        assert_eq!(parse_jar("3.1.0.jar"), None);
        assert_eq!(parse_jar("README.txt"), None);
        assert_eq!(parse_jar(""), None);
        assert_eq!(parse_jar("-1.0.jar"), None);
    }

    fn jars(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn two_versions_conflict_classifiers_and_copies_do_not() {
        let c = conflicts(&jars(&[
            "common/lib/netty-common-4.1.63.Final.jar",
            "common/lib/netty-transport-native-epoll-4.1.89.Final-linux-x86_64.jar",
            "hdfs/lib/netty-transport-native-epoll-4.1.89.Final-linux-aarch_64.jar",
            "common/lib/guava-27.0-jre.jar",
            "hdfs/lib/guava-27.0-jre.jar",
            "hdfs/hadoop-hdfs-3.3.6.jar",
            "hdfs/hadoop-hdfs-3.3.6-tests.jar",
            "lib/netty-3.10.6.Final.jar",
            "lib/netty-all-4.1.89.Final.jar",
            "hdfs/lib/netty-common-4.1.89.Final.jar",
            "hdfs/lib/netty-common-4.1.63.Final.jar",
        ]));
        assert_eq!(
            c,
            vec![Conflict {
                artifact: "netty-common".into(),
                jars: jars(&[
                    "common/lib/netty-common-4.1.63.Final.jar",
                    "hdfs/lib/netty-common-4.1.89.Final.jar"
                ]),
            }]
        );
        // A native jar of another version than the classes beside it is a conflict.
        assert_eq!(
            conflicts(&jars(&[
                "lib/netty-transport-native-epoll-4.1.105.Final.jar",
                "lib/netty-transport-native-epoll-4.1.89.Final-linux-x86_64.jar",
            ]))
            .len(),
            1
        );
        // Two Scala builds of one library hold the same classes.
        assert_eq!(
            conflicts(&jars(&[
                "libs/kafka_2.12-2.4.0.jar",
                "libs/kafka_2.13-2.4.0.jar"
            ]))[0]
                .jars,
            jars(&["libs/kafka_2.12-2.4.0.jar", "libs/kafka_2.13-2.4.0.jar"])
        );
        assert!(conflicts(&jars(&[
            "servlet-api-2.5.jar",
            "servlet-api-2.5-6.1.14.jar"
        ]))
        .is_empty());
    }

    #[test]
    fn the_classpath_takes_wildcard_dirs_and_single_jars() {
        let homes = vec![(
            "/opt/h".to_string(),
            jars(&[
                "zookeeper-3.4.14.jar",
                "lib/jline-0.9.94.jar",
                "lib/sub/deep-1.0.jar",
                "lib/notes.txt",
                "contrib/x-1.0.jar",
                "bin/zkServer.sh",
            ]),
        )];
        let cp = jars(&[
            "/opt/etc/zookeeper",
            "/opt/h/*",
            "/opt/h/lib/*",
            "/opt/h/contrib/x-1.0.jar",
        ]);
        assert_eq!(
            on_classpath(&cp, &homes),
            jars(&[
                "/opt/h/zookeeper-3.4.14.jar",
                "/opt/h/lib/jline-0.9.94.jar",
                "/opt/h/contrib/x-1.0.jar"
            ])
        );
        // `/opt/h2/*` is not inside `/opt/h`.
        assert!(on_classpath(&jars(&["/opt/h2/*"]), &homes).is_empty());
        assert_eq!(
            below_top(&jars(&["hadoop-3.3.6/share/a-1.jar", "hadoop-3.3.6/", "x"])),
            jars(&["share/a-1.jar"])
        );
    }

    /// Every name of up to five characters from the alphabet that makes jar names hard: no
    /// panic, and a parsed name always has an artifact and a digit-led version.
    #[test]
    fn one_name_published_by_two_projects_is_no_conflict() {
        // Kafka 3.9's libs/ (official tarball): Yammer's and Dropwizard's metrics-core.
        assert!(conflicts(&jars(&[
            "libs/metrics-core-2.2.0.jar",
            "libs/metrics-core-4.1.12.1.jar"
        ]))
        .is_empty());
        // HBase 1.7's lib/: the same two projects.
        assert!(conflicts(&jars(&[
            "lib/metrics-core-2.2.0.jar",
            "lib/metrics-core-3.1.2.jar"
        ]))
        .is_empty());
        // Two versions within one of them still are.
        assert_eq!(
            conflicts(&jars(&[
                "lib/metrics-core-3.1.2.jar",
                "lib/metrics-core-4.1.12.1.jar"
            ]))
            .len(),
            1
        );
        assert_eq!(
            conflicts(&jars(&[
                "lib/jetty-util-9.4.20.v20190813.jar",
                "lib/jetty-util-9.4.51.v20230217.jar"
            ]))
            .len(),
            1
        );
        assert!(conflicts(&jars(&[
            "lib/jetty-util-6.1.26.jar",
            "lib/jetty-util-9.4.51.v20230217.jar"
        ]))
        .is_empty());
    }

    #[test]
    fn short_names_never_panic() {
        let alphabet = ['-', '.', '_', '1', 'a', 'x'];
        let mut names = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for n in &names {
                for c in alphabet {
                    next.push(format!("{n}{c}"));
                }
            }
            names.extend(next.iter().cloned());
            names = next
                .into_iter()
                .chain(names)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        for n in &names {
            if let Some(j) = parse_jar(&format!("{n}.jar")) {
                assert!(
                    !j.artifact.is_empty() && digit_led(&j.version),
                    "{n}: {j:?}"
                );
            }
        }
        assert!(names.len() > 9000);
    }
}
