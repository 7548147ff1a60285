//! HBase's live part: the master and RegionServer gates over JMX and `verify`'s checks (active
//! master, live RegionServers, ZooKeeper quorum in use), probed from this machine.

use super::*;
use crate::components::core::{Live, SmokeCx};

impl Live for HBase {
    fn health(&self, cl: &Cluster, role: &str, _hosts: &[&Host]) -> anyhow::Result<String> {
        let inv = cl.inv;
        // The active master's view: it may be any of the masters.
        let mut last = anyhow::anyhow!("no HBase master answered");
        for m in inv.hosts_with_role(MASTER) {
            let Some(ep) = endpoint(self, inv, m, MASTER, "web UI") else {
                continue;
            };
            let bean = match crate::remote::probe::jmx_bean(
                &ep,
                "Hadoop:service=HBase,name=Master,sub=Server",
                PROBE_TIMEOUT,
            ) {
                Ok(b) => b,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            if bean["tag.isActiveMaster"].as_str() != Some("true")
                && bean["tag.isActiveMaster"].as_bool() != Some(true)
            {
                last = anyhow::anyhow!("{}: master not active yet", m.name);
                continue;
            }
            if role == MASTER {
                return Ok(format!("active master on {}", m.name));
            }
            let live = bean["numRegionServers"].as_u64().unwrap_or(0);
            let dead = bean["numDeadRegionServers"].as_u64().unwrap_or(0);
            let want = inv.count_role(REGIONSERVER) as u64;
            if live < want || dead > 0 {
                anyhow::bail!("{live} of {want} RegionServers live, {dead} dead");
            }
            return Ok(format!("{live} RegionServers live, none dead"));
        }
        Err(last)
    }
    fn states(
        &self,
        cl: &Cluster,
        timeout: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        Self::master_states(cl, timeout)
    }
    fn smoke(&self, cx: &SmokeCx) -> Vec<Check> {
        self.smoke_canary(cx)
    }
    fn verify(&self, cx: &VerifyCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let mut out = Vec::new();
        let mut active: Option<(String, serde_json::Value)> = None;
        for m in inv.hosts_with_role(MASTER) {
            let ep = endpoint(self, inv, m, MASTER, "web UI").unwrap_or_default();
            match crate::remote::probe::jmx_bean(
                &ep,
                "Hadoop:service=HBase,name=Master,sub=Server",
                PROBE_TIMEOUT,
            ) {
                Ok(b) => {
                    let is_active = b["tag.isActiveMaster"].as_str() == Some("true")
                        || b["tag.isActiveMaster"].as_bool() == Some(true);
                    out.push(Check::pass(
                        &m.name,
                        MASTER,
                        "state",
                        if is_active {
                            "active master".to_string()
                        } else {
                            "backup master".to_string()
                        },
                    ));
                    if is_active {
                        match &active {
                            None => active = Some((m.name.clone(), b)),
                            Some((first, _)) => out.push(Check::fail(
                                CLUSTER,
                                MASTER,
                                "state",
                                format!("two active masters: {first} and {}", m.name),
                            )),
                        }
                    }
                }
                Err(e) => out.push(Check::fail(&m.name, MASTER, "state", format!("{e:#}"))),
            }
        }
        let Some((master, bean)) = active else {
            if inv.count_role(MASTER) > 0 {
                out.push(Check::fail(
                    CLUSTER,
                    MASTER,
                    "state",
                    "no active HBase master",
                ));
            }
            return out;
        };
        // "host2,16020,1795560141406;host3,16020,..." -> host names
        let servers = |key: &str| -> Vec<String> {
            bean[key]
                .as_str()
                .unwrap_or("")
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let live = servers("tag.liveRegionServers");
        let host_of = |s: &str| s.split(',').next().unwrap_or("").to_string();
        // A RegionServer that restarted leaves its old instance ("host,port,oldstartcode") on
        // the dead list until the master processes it: dead only counts without a live one.
        let dead: Vec<String> = servers("tag.deadRegionServers")
            .into_iter()
            .filter(|d| !live.iter().any(|l| host_of(l) == host_of(d)))
            .collect();
        let rss: Vec<&Host> = inv.hosts_with_role(REGIONSERVER).collect();
        let mut up = 0;
        for h in &rss {
            if let Some(s) = live.iter().find(|s| is_host(&host_of(s), h)) {
                up += 1;
                out.push(Check::pass(
                    &h.name,
                    REGIONSERVER,
                    "live",
                    format!("live at the master ({s})"),
                ));
            } else if dead.iter().any(|s| is_host(&host_of(s), h)) {
                out.push(Check::fail(
                    &h.name,
                    REGIONSERVER,
                    "live",
                    format!("the master on {master} lists it as dead"),
                ));
            } else {
                out.push(Check::fail(
                    &h.name,
                    REGIONSERVER,
                    "live",
                    format!("not live at the master on {master}"),
                ));
            }
        }
        let msg = format!(
            "{up} of {} RegionServers live, {} dead",
            rss.len(),
            dead.len()
        );
        out.push(Check::pass_if(
            up == rss.len() && dead.is_empty(),
            CLUSTER,
            REGIONSERVER,
            "live",
            msg,
        ));
        // The ZooKeeper quorum the master uses is this ensemble.
        if inv.component(zookeeper::NAME).is_some() {
            let have: std::collections::BTreeSet<&str> = bean["tag.zookeeperQuorum"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .collect();
            let want_s = ZooKeeper::connect_string(inv);
            let want: std::collections::BTreeSet<&str> = want_s.split(',').collect();
            if have == want {
                out.push(Check::pass(
                    &master,
                    MASTER,
                    "zookeeper quorum",
                    format!("{want_s} (this ensemble)"),
                ));
            } else {
                out.push(Check::fail(
                    &master,
                    MASTER,
                    "zookeeper quorum",
                    format!(
                        "the master uses {}, but the ensemble is {want_s}",
                        bean["tag.zookeeperQuorum"].as_str().unwrap_or("?")
                    ),
                ));
            }
        }
        out
    }
}

// --- verify --smoke (issue 13): HBase's own canary, with write sniffing, on a cluster host.

pub const SMOKE_WRITE_READ: &str = "smoke: write/read";

impl HBase {
    /// The canary's class: `CanaryTool` from 2.2 on (`Canary` became its interface), `Canary`
    /// before.
    pub fn canary_class(v: &crate::version::Version) -> &'static str {
        if v.at_least("2.2.0") {
            "org.apache.hadoop.hbase.tool.CanaryTool"
        } else {
            "org.apache.hadoop.hbase.tool.Canary"
        }
    }

    /// HBase's canary with write sniffing, run on a master's (else a RegionServer's) host with
    /// the installed jars and configuration: it keeps its table `hbase:canary` with regions on
    /// every RegionServer (creating it on the first run, rebalancing it when servers come and
    /// go), reads from and writes to each region. One check per RegionServer, from the canary's
    /// own per-region lines. The table stays: the canary is made to be rerun against it, and
    /// the distribution ships no tool that drops a table without the HBase shell (which the
    /// assembled distributions do not carry).
    fn smoke_canary(&self, cx: &SmokeCx) -> Vec<Check> {
        let inv = cx.cl.inv;
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let rss: Vec<&Host> = inv.hosts_with_role(REGIONSERVER).collect();
        let Some(on) = inv
            .hosts_with_role(MASTER)
            .chain(rss.iter().copied())
            .find(|h| cx.reachable(h))
        else {
            return vec![];
        };
        let script = canary_script(on, spec, CANARY_TABLE, cx.timeout);
        let ran = (cx.run)(on, &script, cx.timeout + std::time::Duration::from_secs(10));
        let (output, status) = match ran {
            Ok(r) => (format!("{}{}", r.stdout, r.stderr), r.status),
            Err(e) => (format!("{e:#}"), None),
        };
        let names: Vec<&str> = rss.iter().map(|h| h.name.as_str()).collect();
        let host_of = |registered: &str| {
            rss.iter()
                .find(|h| is_host(registered, h))
                .map(|h| h.name.as_str())
        };
        let per = canary_servers(&output, &names, &host_of);
        let tail = last_error(&output);
        let exit = status.map_or("none (cut off)".to_string(), |s| s.to_string());
        let (uw, ur) = per.get(UNATTRIBUTED).copied().unwrap_or((0, 0));
        let attributed = rss
            .iter()
            .any(|h| per.get(h.name.as_str()).is_some_and(|(w, r)| w + r > 0));
        if !attributed && uw > 0 && ur > 0 && status == Some(0) {
            // The round trip worked, but this canary does not say through which server.
            let mut out = vec![Check::pass(
                CLUSTER,
                REGIONSERVER,
                SMOKE_WRITE_READ,
                format!(
                    "HBase's canary (run on {}) read {ur} and wrote {uw} times through the regions of {CANARY_TABLE} (kept for its next run)",
                    on.name
                ),
            )];
            out.extend(rss.iter().map(|h| {
                Check::warn(
                    &h.name,
                    REGIONSERVER,
                    SMOKE_WRITE_READ,
                    "this release's canary names no server in its lines (HBase 1.3+ does): the round trip passed for the cluster, not shown for this RegionServer",
                )
            }));
            return out;
        }
        rss.iter()
            .map(|h| {
                let (w, r) = per.get(h.name.as_str()).copied().unwrap_or((0, 0));
                if w > 0 && r > 0 && status == Some(0) {
                    Check::pass(
                        &h.name,
                        REGIONSERVER,
                        SMOKE_WRITE_READ,
                        format!(
                            "HBase's canary (run on {}) read {r} and wrote {w} times through its regions of {CANARY_TABLE} (the canary's own table, kept for its next run)",
                            on.name
                        ),
                    )
                } else {
                    Check::fail(
                        &h.name,
                        REGIONSERVER,
                        SMOKE_WRITE_READ,
                        format!(
                            "HBase's canary (run on {}, exit {exit}) read {r} and wrote {w} times through it: {tail}",
                            on.name
                        ),
                    )
                }
            })
            .collect()
    }
}

/// Where [`canary_servers`] counts the lines that name no server (HBase 1.2's canary).
pub const UNATTRIBUTED: &str = "";

/// The canary's own write table (its default).
pub const CANARY_TABLE: &str = "hbase:canary";

/// The last error-looking line of a tool's output (else its last line), cut to 300 characters.
fn last_error(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("Exception") || l.contains("timed out"))
        .collect();
    let l = lines
        .last()
        .copied()
        .unwrap_or_else(|| output.lines().last().unwrap_or(""));
    l.chars().take(300).collect()
}

/// (home, conf dir, classpath) of the installed HBase, as its services run it.
fn installed(host: &Host, spec: &ComponentSpec) -> (String, String) {
    let home = home_dir(host, &HBase, spec);
    let conf = conf_dir(host, NAME);
    let hconf = conf_dir(host, hadoop::NAME);
    let cp = format!("{conf}:{hconf}:{home}/lib/*:{home}/lib/client-facing-thirdparty/*");
    (home, cp)
}

/// A temp dir with a console-only log configuration for log4j 1 and 2 (the tools' INFO lines
/// to stderr, the rest WARN), removed on exit.
const LOG_PRELUDE: &str = r#"d=$(mktemp -d /tmp/stackctl-smoke.XXXXXX) || exit 97
trap 'rm -rf "$d"' EXIT
cat >"$d/log4j.properties" <<'EOF'
log4j.rootLogger=WARN,c
log4j.logger.org.apache.hadoop.hbase.tool=INFO
log4j.appender.c=org.apache.log4j.ConsoleAppender
log4j.appender.c.target=System.err
log4j.appender.c.layout=org.apache.log4j.PatternLayout
log4j.appender.c.layout.ConversionPattern=%p %c{1}: %m%n
EOF
cat >"$d/log4j2.properties" <<'EOF'
status=warn
appender.c.type=Console
appender.c.name=c
appender.c.target=SYSTEM_ERR
appender.c.layout.type=PatternLayout
appender.c.layout.pattern=%p %c{1}: %m%n
rootLogger.level=warn
rootLogger.appenderRef.c.ref=c
logger.t.name=org.apache.hadoop.hbase.tool
logger.t.level=info
EOF
"#;

/// The canary run: reads from `table`'s regions and write sniffing into them, all within
/// `timeout` (each JVM's `timeout` and `-t` are what is left of it). On a cluster's first run
/// the table does not exist yet, and a canary told to read it stops there: a write-only run
/// creates it (regions on every RegionServer), then the read-and-write run goes again.
pub fn canary_script(
    host: &Host,
    spec: &ComponentSpec,
    table: &str,
    timeout: std::time::Duration,
) -> String {
    let (home, cp) = installed(host, spec);
    let java = format!("{}/bin/java", host.java_home);
    let class = HBase::canary_class(&spec.version);
    canary_script_with(&java, &home, &cp, class, table, timeout)
}

/// [`canary_script`] from the paths: the JDK's `java`, the HBase home, its classpath.
pub fn canary_script_with(
    java: &str,
    home: &str,
    cp: &str,
    class: &str,
    table: &str,
    timeout: std::time::Duration,
) -> String {
    let secs = timeout.as_secs().max(10);
    let q = crate::shell::shell_quote;
    format!(
        r#"{LOG_PRELUDE}cd {home} || exit 98
end=$(( $(date +%s) + {secs} ))
canary() {{
  left=$(( end - $(date +%s) ))
  [ "$left" -gt 5 ] || {{ echo "stackctl: the canary timed out (no time left in {secs}s)"; return 124; }}
  timeout -k 5 "$left" {java} -Xmx256m -Dlog4j.configuration=file:$d/log4j.properties -Dlog4j2.configurationFile=file:$d/log4j2.properties -Dlog4j.configurationFile=file:$d/log4j2.properties -Dhbase.log.dir=$d -cp {cp} "$class" -t $(( (left - 3) * 1000 )) -writeSniffing -writeTable {table} "$@" 2>&1
}}
class={class}
canary {table} >"$d/out"; rc=$?
# Which class holds the tool's main moved within release lines (1.x and 2.x alike):
# the other one is tried when the JVM finds no main in the first.
if [ "$rc" -ne 0 ] && grep -qE 'Main method not found|Could not find or load main class' "$d/out"; then
  case "$class" in *CanaryTool) class=org.apache.hadoop.hbase.tool.Canary ;; *) class=org.apache.hadoop.hbase.tool.CanaryTool ;; esac
  canary {table} >"$d/out"; rc=$?
fi
if [ "$rc" -ne 0 ] && grep -q TableNotFoundException "$d/out"; then
  echo "stackctl: first run: the canary creates {table}"
  canary >"$d/out"; rc=$?
  if [ "$rc" -eq 0 ]; then canary {table} >"$d/out"; rc=$?; fi
fi
cat "$d/out"
exit "$rc"
"#,
        home = q(home),
        java = q(java),
        cp = q(cp),
        table = q(table),
    )
}

/// Per RegionServer (inventory name): how many writes and reads the canary's lines report
/// through it ("Write to <region> on <host,port,startcode> ..." / "Read from ... on ...").
pub fn canary_servers<'h>(
    output: &str,
    names: &[&'h str],
    host_of: &dyn Fn(&str) -> Option<&'h str>,
) -> std::collections::BTreeMap<&'h str, (usize, usize)> {
    let mut per: std::collections::BTreeMap<&str, (usize, usize)> =
        names.iter().map(|n| (*n, (0, 0))).collect();
    for line in output.lines() {
        let write = line.contains("Write to");
        let read = line.contains("Read from");
        if !write && !read {
            // Older canaries (HBase 1.2) say "write to region <r> column family <f> in Nms"
            // and "read from region ...", naming no server: counted for the cluster.
            let l = line.to_ascii_lowercase();
            let e = per.entry(UNATTRIBUTED).or_default();
            if l.contains("write to region") {
                e.0 += 1;
            } else if l.contains("read from region") {
                e.1 += 1;
            }
            continue;
        }
        let Some(h) = line
            .split(|c: char| c.is_whitespace() || c == '/' || c == '=')
            .filter(|t| t.matches(',').count() >= 2)
            .filter_map(|t| t.split(',').next())
            .find_map(host_of)
        else {
            continue;
        };
        let e = per.entry(h).or_default();
        if write {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    per
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canarys_lines_count_per_regionserver() {
        let out = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/smoke/canary_2.5.10.txt"),
        )
        .unwrap();
        let names = ["host2", "host3", "host4"];
        let host_of = |r: &str| names.iter().copied().find(|n| *n == r);
        let per = canary_servers(&out, &names, &host_of);
        assert_eq!(per["host2"], (1, 1));
        assert_eq!(per["host3"], (1, 1));
        assert_eq!(per["host4"], (0, 0));
        assert_eq!(per.get(UNATTRIBUTED).copied().unwrap_or_default(), (0, 0));
        // HBase 1.2's canary (seen on the bed) names no server: its lines count for the cluster.
        let old = "INFO Canary: read from region hbase:canary,,1796178935790.d5663aede41ba8edfe0fdddee5548072. column family Test in 12ms\nINFO Canary: write to region hbase:canary,,1796178935790.d5663aede41ba8edfe0fdddee5548072. column family Test in 53ms\n";
        let per = canary_servers(old, &names, &host_of);
        assert_eq!(per[UNATTRIBUTED], (1, 1));
        assert_eq!(per["host2"], (0, 0));
        assert_eq!(
            HBase::canary_class(&crate::version::Version::parse("2.5.10").unwrap()),
            "org.apache.hadoop.hbase.tool.CanaryTool"
        );
        assert_eq!(
            HBase::canary_class(&crate::version::Version::parse("1.7.2").unwrap()),
            "org.apache.hadoop.hbase.tool.Canary"
        );
        assert!(last_error("a\nERROR x: boom\nb").contains("boom"));
        // The script is valid shell.
        let script = canary_script_with(
            "/j/bin/java",
            "/opt/stack/hbase-2.5.10-hadoop3",
            "/opt/stack/etc/hbase:/opt/stack/hbase-2.5.10-hadoop3/lib/*",
            "org.apache.hadoop.hbase.tool.CanaryTool",
            CANARY_TABLE,
            std::time::Duration::from_secs(120),
        );
        assert!(
            script.contains("class=org.apache.hadoop.hbase.tool.CanaryTool\n")
                && script.contains("\"$class\" -t $(( (left - 3) * 1000 )) -writeSniffing -writeTable hbase:canary"),
            "{script}"
        );
        // A release whose main is in the other class gets it on the second try.
        assert!(
            script.contains("class=org.apache.hadoop.hbase.tool.Canary ;;"),
            "{script}"
        );
        let st = std::process::Command::new("bash")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(st.success(), "{script}");
    }
}

impl HBase {
    /// `status`: each master is "active" or "backup" (the Master bean's `tag.isActiveMaster`);
    /// one that does not answer is degraded.
    fn master_states(
        cl: &Cluster,
        t: std::time::Duration,
    ) -> Vec<crate::components::core::RoleState> {
        use crate::components::core::RoleState;
        let inv = cl.inv;
        inv.hosts_with_role(MASTER)
            .map(|m| {
                let ep = endpoint(&HBase, inv, m, MASTER, "web UI").unwrap_or_default();
                match crate::remote::probe::jmx_bean(
                    &ep,
                    "Hadoop:service=HBase,name=Master,sub=Server",
                    t,
                ) {
                    Ok(b) => {
                        let active = b["tag.isActiveMaster"].as_str() == Some("true")
                            || b["tag.isActiveMaster"].as_bool() == Some(true);
                        RoleState::ok(&m.name, MASTER, if active { "active" } else { "backup" })
                    }
                    Err(e) => RoleState::degraded(&m.name, MASTER, format!("{e:#}")),
                }
            })
            .collect()
    }
}
