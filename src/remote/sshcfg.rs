//! What the operator's ssh_config says of a host, as `ssh -G` prints it: which destination to
//! give ssh, and whether ssh reaches the host through a jump host or a proxy command (then the
//! health probes go through the SSH connection too).
//!
//! Precedence, highest first: the inventory's `ssh_user`/`ssh_port`/`ssh_host` (passed to ssh
//! only when set), then the ssh_config (`-F` file, else `~/.ssh/config` and
//! `/etc/ssh/ssh_config`), then ssh's own defaults (the local user name, port 22).
//!
//! The destination is `ssh_host` when the inventory gives one; else the host's inventory name
//! when the ssh_config has an entry for that name (a `Host node2` block with a `HostName`, a
//! `ProxyJump`, ...); else its address, so `Host 10.0.1.*` blocks apply. "Has an entry" is
//! decided by comparing `ssh -G name` with `ssh -G` of a name no block can match: any option
//! that differs (besides the name itself and what is derived from it) comes from an entry.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::inventory::{Host, ProbeVia};

/// `ssh -G`'s answer: option (lowercase) → its values, in order (some options repeat).
pub type Effective = BTreeMap<String, Vec<String>>;

/// A name no ssh_config block matches but `Host *`.
pub const SENTINEL: &str = "stackctl-no-such-entry.invalid";

/// Options whose value is derived from the destination itself, or a hash of it.
const DERIVED: &[&str] = &["host", "hostname", "controlpath"];

/// Parses `ssh -G` output (fuzzed: tests/fuzz.rs).
pub fn parse(text: &str) -> Effective {
    let mut out: Effective = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        out.entry(k.to_ascii_lowercase())
            .or_default()
            .push(v.trim().to_string());
    }
    out
}

/// Whether the ssh_config has an entry for `name`: `named` is `ssh -G name` (with the
/// inventory's `-l`/`-p`), `plain` is `ssh -G SENTINEL` (without them). `given` are the keys
/// the inventory itself set for this host (`user`, `port`): they differ from `plain` because
/// stackctl passed them, not because the ssh_config has an entry, so they are not compared.
pub fn has_entry(name: &str, named: &Effective, plain: &Effective, given: &[&str]) -> bool {
    let norm = |e: &Effective, who: &str| -> BTreeMap<String, Vec<String>> {
        e.iter()
            .filter(|(k, _)| !DERIVED.contains(&k.as_str()) && !given.contains(&k.as_str()))
            .map(|(k, vs)| (k.clone(), vs.iter().map(|v| v.replace(who, "%h")).collect()))
            .collect()
    };
    let hostname = named.get("hostname").and_then(|v| v.first());
    hostname.is_some_and(|h| h != name) || norm(named, name) != norm(plain, SENTINEL)
}

/// How ssh reaches a host, when not straight: `ProxyJump x` or `ProxyCommand ...`.
pub fn proxy(e: &Effective) -> Option<String> {
    let set = |k: &str| {
        e.get(k)
            .and_then(|v| v.first())
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("none"))
            .cloned()
    };
    if let Some(j) = set("proxyjump") {
        return Some(format!("ProxyJump {j}"));
    }
    set("proxycommand").map(|c| format!("ProxyCommand {c}"))
}

/// Where and how stackctl reaches one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// What ssh is given as its destination.
    pub destination: String,
    /// The jump host or proxy command ssh goes through, if any.
    pub proxy: Option<String>,
    /// Whether the health probes go through the SSH connection.
    pub probe_via_ssh: bool,
    /// The user and port ssh will use (from the inventory, the ssh_config or ssh's defaults).
    pub user: Option<String>,
    pub port: Option<String>,
}

impl Route {
    /// `user@destination:port`, as ssh will dial it, for messages.
    pub fn target(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.destination);
        if let Some(p) = &self.port {
            s.push(':');
            s.push_str(p);
        }
        if let Some(p) = &self.proxy {
            s.push_str(&format!(" via {p}"));
        }
        s
    }
}

/// Decides a host's route from the effective configs (pure: tested from fixtures).
/// `named` is `ssh -G <name>` (None when the name was not asked: `ssh_host` is set), `dest` the
/// effective config of the chosen destination.
pub fn route(host: &Host, named: Option<&Effective>, plain: &Effective) -> String {
    if let Some(h) = &host.ssh_host {
        return h.clone();
    }
    let mut given = Vec::new();
    if host.ssh_user.is_some() {
        given.push("user");
    }
    if host.ssh_port.is_some() {
        given.push("port");
    }
    match named {
        Some(n) if has_entry(&host.name, n, plain, &given) => host.name.clone(),
        _ => host.address.clone(),
    }
}

/// Whether probes of `host` go through SSH, given how ssh reaches the destination.
pub fn probes_via_ssh(host: &Host, proxy: Option<&str>) -> bool {
    match host.probe {
        ProbeVia::Ssh => true,
        ProbeVia::Direct => false,
        ProbeVia::Auto => proxy.is_some(),
    }
}

/// `ssh -G` for `dest`, with the options stackctl would pass. Bounded by `timeout`.
pub async fn effective(
    config: Option<&Path>,
    user: Option<&str>,
    port: Option<u16>,
    dest: &str,
    timeout: Duration,
) -> Result<Effective> {
    let mut cmd = tokio::process::Command::new("ssh");
    if let Some(c) = config {
        cmd.arg("-F").arg(c);
    }
    if let Some(u) = user {
        cmd.arg("-l").arg(u);
    }
    if let Some(p) = port {
        cmd.arg("-p").arg(p.to_string());
    }
    // `--` ends the options: a destination can never be read as one.
    cmd.arg("-G").arg("--").arg(dest);
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| anyhow!("`ssh -G {dest}` did not answer within {timeout:?}"))?
        .context("cannot run ssh")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "`ssh -G {dest}` failed: {}",
            err.lines().last().unwrap_or("").trim()
        );
    }
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Resolves a host's route: asks `ssh -G` for its name (unless `ssh_host` is set) and for the
/// chosen destination. `plain` is `ssh -G SENTINEL`, asked once per run.
pub async fn resolve(
    host: &Host,
    config: Option<&Path>,
    plain: &Effective,
    timeout: Duration,
) -> Result<Route> {
    let (user, port) = (host.ssh_user.as_deref(), host.ssh_port);
    let named = match &host.ssh_host {
        Some(_) => None,
        None => Some(effective(config, user, port, &host.name, timeout).await?),
    };
    let destination = route(host, named.as_ref(), plain);
    let dest_cfg = match (&named, destination == host.name) {
        (Some(n), true) => n.clone(),
        _ => effective(config, user, port, &destination, timeout).await?,
    };
    let proxy = proxy(&dest_cfg);
    let first = |k: &str| dest_cfg.get(k).and_then(|v| v.first()).cloned();
    Ok(Route {
        probe_via_ssh: probes_via_ssh(host, proxy.as_deref()),
        user: first("user"),
        port: first("port"),
        destination,
        proxy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, address: &str) -> Host {
        Host {
            name: name.into(),
            address: address.into(),
            ..Default::default()
        }
    }

    // Real `ssh -G` answers (OpenSSH 9.2) for this config:
    //   Host node2 / ProxyJump bastion;  Host 10.0.1.* / User ops / Port 2222;
    //   Host * / ControlPath /tmp/cm/%C / UserKnownHostsFile /tmp/kh-%h
    const PLAIN: &str = "host stackctl-no-such-entry.invalid\nuser root\nhostname stackctl-no-such-entry.invalid\nport 22\ncontrolpath /tmp/cm/72b8\nuserknownhostsfile /tmp/kh-stackctl-no-such-entry.invalid\n";
    const NODE2: &str = "host node2\nuser root\nhostname node2\nport 22\ncontrolpath /tmp/cm/6659\nuserknownhostsfile /tmp/kh-node2\nproxyjump bastion\n";
    const NODE3: &str = "host node3\nuser root\nhostname node3\nport 22\ncontrolpath /tmp/cm/1111\nuserknownhostsfile /tmp/kh-node3\n";
    const NODE4: &str = "host node4\nuser root\nhostname 10.0.1.4\nport 22\ncontrolpath /tmp/cm/2222\nuserknownhostsfile /tmp/kh-node4\n";
    const ADDR: &str = "host 10.0.1.5\nuser ops\nhostname 10.0.1.5\nport 2222\ncontrolpath /tmp/cm/edd6\nuserknownhostsfile /tmp/kh-10.0.1.5\n";

    #[test]
    fn a_host_entry_by_name_is_found_and_one_by_address_is_not_mistaken_for_it() {
        let plain = parse(PLAIN);
        assert!(
            has_entry("node2", &parse(NODE2), &plain, &[]),
            "ProxyJump block"
        );
        assert!(
            has_entry("node4", &parse(NODE4), &plain, &[]),
            "HostName block"
        );
        assert!(
            !has_entry("node3", &parse(NODE3), &plain, &[]),
            "only Host *"
        );
        assert!(
            has_entry("10.0.1.5", &parse(ADDR), &plain, &[]),
            "Host 10.0.1.*"
        );
    }

    #[test]
    fn the_inventorys_own_user_and_port_are_not_an_entry_of_the_ssh_config() {
        // `ssh -G -l ops -p 2200 node3` with only `Host *` in the ssh_config: the user and port
        // differ from the plain answer because stackctl passed them.
        let plain = parse(PLAIN);
        let named = NODE3
            .replace("user root", "user ops")
            .replace("port 22", "port 2200");
        let mut n3 = host("node3", "10.0.1.3");
        n3.ssh_user = Some("ops".into());
        n3.ssh_port = Some(2200);
        assert_eq!(route(&n3, Some(&parse(&named)), &plain), "10.0.1.3");
        // A port the inventory did not set, that differs: the ssh_config has an entry.
        let mut n3 = host("node3", "10.0.1.3");
        n3.ssh_user = Some("ops".into());
        assert_eq!(route(&n3, Some(&parse(&named)), &plain), "node3");
    }

    #[test]
    fn the_destination_is_ssh_host_then_a_named_entry_then_the_address() {
        let plain = parse(PLAIN);
        let n2 = host("node2", "10.0.1.2");
        assert_eq!(route(&n2, Some(&parse(NODE2)), &plain), "node2");
        let n3 = host("node3", "10.0.1.3");
        assert_eq!(route(&n3, Some(&parse(NODE3)), &plain), "10.0.1.3");
        let mut n5 = host("node5", "10.0.1.5");
        n5.ssh_host = Some("jumpy.example".into());
        assert_eq!(route(&n5, None, &plain), "jumpy.example");
    }

    #[test]
    fn probes_go_through_ssh_when_ssh_goes_through_a_proxy_unless_told() {
        assert_eq!(proxy(&parse(NODE2)).as_deref(), Some("ProxyJump bastion"));
        assert_eq!(proxy(&parse(NODE3)), None);
        assert_eq!(
            proxy(&parse(
                "proxycommand nc -X 5 -x p:1080 %h %p\nproxyjump none\n"
            ))
            .as_deref(),
            Some("ProxyCommand nc -X 5 -x p:1080 %h %p")
        );
        let mut h = host("node2", "10.0.1.2");
        assert!(probes_via_ssh(&h, Some("ProxyJump bastion")));
        assert!(!probes_via_ssh(&h, None));
        h.probe = ProbeVia::Direct;
        assert!(!probes_via_ssh(&h, Some("ProxyJump bastion")));
        h.probe = ProbeVia::Ssh;
        assert!(probes_via_ssh(&h, None));
    }

    #[test]
    fn parse_keeps_repeated_options_and_survives_junk() {
        let e = parse("identityfile a\nIdentityFile b\n\n  lonely\n");
        assert_eq!(e["identityfile"], vec!["a", "b"]);
        assert_eq!(e["lonely"], vec![""]);
    }
}
