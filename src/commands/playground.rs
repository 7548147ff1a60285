//! `stackctl playground up|down|ssh`: the inventory's cluster on local hosts. The hosts are the
//! test bed's (`tests/testbed/testbed.sh`, shipped inside the binary and run from the
//! playground's directory with its own network and names, so it never touches the test bed);
//! the deployment is the real `stackctl up` over SSH.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::{print, Error};
use crate::cli::{PlaygroundCommand, PlaygroundUpArgs};
use crate::components;
use crate::plan::PlanError;
use crate::playground::{self as pg, Overrides};

/// The host maker: the test bed's script, byte for byte.
const SCRIPT: &str = include_str!("../../tests/testbed/testbed.sh");

/// What `up` leaves for `down` and `ssh`.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    net: String,
    origin: String,
    inventory: String,
    /// (inventory name, address) of every host.
    hosts: Vec<(String, String)>,
}

pub fn run(cmd: PlaygroundCommand) -> Result<(), Error> {
    match cmd {
        PlaygroundCommand::Up(a) => up(a),
        PlaygroundCommand::Down(d) => down(&d.dir),
        PlaygroundCommand::Ssh { host, command, dir } => ssh(&dir.dir, &host, &command),
    }
}

fn require_root() -> Result<(), Error> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_string);
    match euid.as_deref() {
        Some("0") => Ok(()),
        Some(_) => Err(Error::Usage(
            "the playground needs root: it makes network namespaces, a bridge and mounts (run it with sudo)".into(),
        )),
        None => Err(Error::Usage(
            "the playground needs Linux (network, mount, PID and UTS namespaces)".into(),
        )),
    }
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("playground.json")
}

fn read_state(dir: &Path) -> Option<State> {
    let text = std::fs::read_to_string(state_file(dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs the host maker in `dir` with the playground's network and names.
fn bed(dir: &Path, net: &str, args: &[&str]) -> Result<(), Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Failed(anyhow::anyhow!("{}: {e}", dir.display())))?;
    let script = dir.join("testbed.sh");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(SCRIPT) {
        std::fs::write(&script, SCRIPT)
            .map_err(|e| Error::Failed(anyhow::anyhow!("{}: {e}", script.display())))?;
    }
    let st = Command::new("bash")
        .arg(&script)
        .args(args)
        .env("STACKCTL_TESTBED_DIR", dir.join("bed"))
        .env("STACKCTL_TESTBED_NET", net)
        .env("STACKCTL_TESTBED_PREFIX", pg::PREFIX)
        .stdout(std::process::Stdio::inherit())
        .status()
        .map_err(|e| Error::Failed(anyhow::anyhow!("bash {}: {e}", script.display())))?;
    if !st.success() {
        return Err(Error::Failed(anyhow::anyhow!(
            "the playground's hosts: `{} {}` failed ({st}); what it needs is installed by `bash {} deps`",
            script.display(),
            args.join(" "),
            script.display()
        )));
    }
    Ok(())
}

fn under_tmp(dir: &Path) -> bool {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(dir)
    };
    abs.starts_with("/tmp")
}

fn valid_net(net: &str) -> bool {
    let parts: Vec<&str> = net.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.parse::<u8>().is_ok() && !p.is_empty())
}

fn up(a: PlaygroundUpArgs) -> Result<(), Error> {
    require_root()?;
    let dir = &a.dir.dir;
    if under_tmp(dir) {
        return Err(Error::Usage(format!(
            "--dir {}: each playground host mounts its own /tmp, which hides a directory under /tmp: choose one elsewhere (the default is {})",
            dir.display(),
            pg::DEFAULT_DIR
        )));
    }
    let origin = std::fs::canonicalize(&a.inventory)
        .map_err(|e| Error::Usage(format!("{}: {e}", a.inventory.display())))?;
    // The inventory as written: its errors point at its own lines.
    let (inv, _) = crate::inventory::load(&origin, components::catalog())
        .map_err(|e| Error::Plan(PlanError::Invalid(e)))?;
    let n = a.hosts.unwrap_or(inv.hosts.len());
    if n < inv.hosts.len() || n == 0 || n > 40 {
        return Err(Error::Usage(format!(
            "--hosts {n}: {} has {} hosts; the playground makes 1 to 40",
            a.inventory.display(),
            inv.hosts.len()
        )));
    }
    if !valid_net(&a.net) {
        return Err(Error::Usage(format!(
            "--net {}: three octets (10.231.78), the playground's /24",
            a.net
        )));
    }
    let text = std::fs::read_to_string(&origin)
        .map_err(|e| Error::Failed(anyhow::anyhow!("{}: {e}", origin.display())))?;
    if a.java_home.is_none() {
        let missing = pg::missing_java_homes(&text);
        if !missing.is_empty() {
            return Err(Error::Usage(format!(
                "{}: java_home {} has no bin/java on this machine, whose /usr the playground's hosts share: install that JDK, or pass --java-home DIR --java-version N (tests/testbed/jdk.sh install 8|11|17|21|25 installs one)",
                a.inventory.display(),
                missing.join(", ")
            )));
        }
    }
    if let Some(old) = read_state(&a.dir.dir) {
        if old.net != a.net {
            return Err(Error::Usage(format!(
                "a playground on {}.0/24 is up in {}: `stackctl playground down` first",
                old.net,
                a.dir.dir.display()
            )));
        }
    }
    bed(dir, &a.net, &["up", &n.to_string()])?;
    let addrs: Vec<String> = (1..=n).map(|i| pg::address(&a.net, i)).collect();
    let nofile = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| pg::parse_nofile_hard(&l));
    let derived = pg::derive(
        &text,
        &origin,
        &addrs,
        &Overrides {
            java_home: a.java_home.clone(),
            java_version: a.java_version.clone(),
            nofile_hard: nofile,
        },
    )
    .map_err(Error::Failed)?;
    let name = origin
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "inventory.yml".into());
    let inv_path = dir.join(&name);
    std::fs::write(&inv_path, derived)
        .map_err(|e| Error::Failed(anyhow::anyhow!("{}: {e}", inv_path.display())))?;
    // The ids the inventory's lock file assigns, so the playground's servers are numbered the
    // same; after that the playground's lock file is its own.
    let lock = PathBuf::from(format!("{}.lock", origin.display()));
    let my_lock = PathBuf::from(format!("{}.lock", inv_path.display()));
    if lock.is_file() && !my_lock.exists() {
        let _ = std::fs::copy(&lock, &my_lock);
    }
    let state = State {
        net: a.net.clone(),
        origin: origin.display().to_string(),
        inventory: inv_path.display().to_string(),
        hosts: inv
            .hosts
            .iter()
            .zip(&addrs)
            .map(|(h, a)| (h.name.clone(), a.clone()))
            .collect(),
    };
    std::fs::write(
        state_file(dir),
        serde_json::to_string_pretty(&state).expect("state"),
    )
    .map_err(|e| Error::Failed(anyhow::anyhow!("{}: {e}", dir.display())))?;
    let cfg = dir.join("bed/ssh_config");
    if !a.no_deploy {
        let exe = std::env::current_exe()
            .map_err(|e| Error::Failed(anyhow::anyhow!("this program's path: {e}")))?;
        let st = Command::new(exe)
            .args(["up", "-i"])
            .arg(&inv_path)
            .arg("--ssh-config")
            .arg(&cfg)
            .arg("--allow-ephemeral")
            .status()
            .map_err(|e| Error::Failed(anyhow::anyhow!("stackctl up: {e}")))?;
        if !st.success() {
            return Err(Error::Reported(st.code().unwrap_or(crate::exit::FAILED)));
        }
    }
    print(reach(&inv_path, &cfg, &state).as_bytes());
    Ok(())
}

/// How to reach each service and the playground itself.
fn reach(inv_path: &Path, cfg: &Path, state: &State) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\nPlayground up: {} hosts on {}.0/24",
        state.hosts.len(),
        state.net
    );
    if let Ok((inv, _)) = crate::inventory::load(inv_path, components::catalog()) {
        for c in components::all()
            .iter()
            .filter(|c| inv.component(c.name()).is_some())
        {
            for r in c.roles() {
                let eps: Vec<String> = inv
                    .hosts_with_role(r.name)
                    .filter_map(|h| {
                        c.ports(&inv, h)
                            .into_iter()
                            .find(|p| p.role == r.name)
                            .map(|p| format!("{}:{}", h.address, p.port))
                    })
                    .collect();
                if !eps.is_empty() {
                    let _ = writeln!(o, "  {:<20} {}", r.name, eps.join(","));
                }
            }
        }
    }
    let i = inv_path.display();
    let f = cfg.display();
    let _ = writeln!(o, "\nNext:");
    let _ = writeln!(o, "  stackctl status -i {i} --ssh-config {f}");
    let _ = writeln!(o, "  stackctl verify -i {i} --ssh-config {f}");
    if let Some((h, _)) = state.hosts.first() {
        let _ = writeln!(o, "  stackctl playground ssh {h}");
    }
    let _ = writeln!(o, "  stackctl playground down");
    o
}

fn down(dir: &Path) -> Result<(), Error> {
    require_root()?;
    if !dir.join("testbed.sh").is_file() {
        print(format!("no playground in {}\n", dir.display()).as_bytes());
        return Ok(());
    }
    let net = read_state(dir)
        .map(|s| s.net)
        .unwrap_or_else(|| pg::DEFAULT_NET.to_string());
    bed(dir, &net, &["down", "--purge"])?;
    std::fs::remove_dir_all(dir)
        .map_err(|e| Error::Failed(anyhow::anyhow!("{}: {e}", dir.display())))?;
    print(format!("playground down: {} removed\n", dir.display()).as_bytes());
    Ok(())
}

fn ssh(dir: &Path, host: &str, command: &[String]) -> Result<(), Error> {
    let Some(state) = read_state(dir) else {
        return Err(Error::Usage(format!(
            "no playground in {} (`stackctl playground up -i INVENTORY` makes one)",
            dir.display()
        )));
    };
    let Some((_, addr)) = state.hosts.iter().find(|(n, _)| n == host) else {
        return Err(Error::Usage(format!(
            "{host} is not a playground host (they are: {})",
            state
                .hosts
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    use std::os::unix::process::CommandExt;
    let err = Command::new("ssh")
        .arg("-F")
        .arg(dir.join("bed/ssh_config"))
        .arg(addr)
        .args(command)
        .exec();
    Err(Error::Failed(anyhow::anyhow!("ssh: {err}")))
}
