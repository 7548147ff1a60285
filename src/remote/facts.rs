//! Remote facts: one shell script per host gathers everything `up` needs to decide (JDK,
//! checksums, running services, free disk, listening ports, identity files), and a pure
//! parser turns its output into `HostFacts`. One SSH round trip per host, not one per fact.

use std::collections::{BTreeMap, BTreeSet};

use crate::shell::shell_quote;
use crate::version::JavaVersion;

/// What to ask a host.
#[derive(Debug, Default, Clone)]
pub struct FactRequest {
    pub java_home: String,
    /// Files whose sha256 we want (rendered files).
    pub checksum: Vec<String>,
    /// Uploaded archives: their checksum is read from the `.sha256` record written at upload,
    /// while the archive's size and mtime still match it (hashing 100 MB per run is too slow).
    pub archives: Vec<String>,
    /// role -> launcher path.
    pub launchers: Vec<(String, String)>,
    /// Directories whose free space matters.
    pub dirs: Vec<String>,
    /// Small files to read whole (myid, meta.properties, VERSION, unpack markers).
    pub read: Vec<String>,
    /// Directories whose existence matters (an already-unpacked distribution).
    pub exists: Vec<String>,
    /// For `verify`: the executable and JDK version of each running service, and where
    /// `java_home` really points.
    pub jvm: bool,
    /// For `verify`: distribution directories whose jars (`<top>/.../*.jar`, down to Hadoop's
    /// `share/hadoop/<part>/lib/`, for the classpath check) are listed.
    pub jars: Vec<String>,
    // --- users (issue 12: service users) ---
    /// Service accounts (user, group) whose existence matters.
    pub accounts: Vec<(String, String)>,
    /// Directories with the account that must own them (dir, user, group).
    pub owned_dirs: Vec<(String, String, String)>,
    // --- production preflight (issue 12): filesystems of the data dirs, clock, limits.
    /// Directories whose filesystem type matters (a data directory on tmpfs is lost at reboot).
    pub fs_dirs: Vec<String>,
    // --- supervision (issue 12): whether systemd is the init, and our units' states.
    /// role -> systemd unit name, whose state is read where systemd is the init.
    pub units: Vec<(String, String)>,
    // --- status (issue 15): how long each service has run, and how much its data takes.
    /// For `status`: the seconds each running service has run (`ps -o etimes`).
    pub since: bool,
    /// For `status`: directories whose size is read (`du -sk`, bounded to 2 s each).
    pub du: Vec<String>,
}

#[derive(Debug, Default, Clone)]
pub struct HostFacts {
    pub java_output: String,
    pub java: Option<JavaVersion>,
    pub sha256: BTreeMap<String, String>,
    /// Permission bits of the rendered files that exist (a secret's file must be 0600 even
    /// when its content already matches).
    pub modes: BTreeMap<String, u32>,
    /// role -> pid of the running service.
    pub running: BTreeMap<String, u32>,
    /// dir -> free KiB (of the filesystem it, or its nearest existing parent, is on).
    pub free_kb: BTreeMap<String, u64>,
    /// Directories whose `df` line could not be read, with what it said (an error, a format
    /// never seen): preflight names them instead of skipping the check.
    pub free_kb_unread: BTreeMap<String, String>,
    pub listening: BTreeSet<u16>,
    pub contents: BTreeMap<String, String>,
    pub existing_dirs: BTreeSet<String>,
    /// The answer reached its end marker (a cut-off answer is not facts).
    pub complete: bool,
    /// role -> (the running JVM's executable, its JDK's JAVA_VERSION), when asked.
    pub jvm: BTreeMap<String, (String, String)>,
    /// `java_home/bin/java` with every symlink resolved, when asked.
    pub java_home_exe: Option<String>,
    /// distribution dir -> its jar files, as paths starting with the dir's own name.
    pub jars: BTreeMap<String, Vec<String>>,
    // --- users (issue 12: service users) ---
    /// `id -u` of the session that runs the scripts (0: root, by login or become).
    pub uid: Option<u32>,
    /// The login user's name (`SUDO_USER` under become, else `id -un`).
    pub login_user: Option<String>,
    /// Asked-for users and groups that exist.
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    /// Asked-for owned directories that exist, and whether everything in them already belongs
    /// to their account.
    pub dirs_owned: BTreeMap<String, bool>,
    /// `user:group` of the rendered files that exist.
    pub owners: BTreeMap<String, String>,
    /// role -> (uid, user name) of its running process, from /proc/<pid>/status.
    pub proc_owner: BTreeMap<String, (u32, String)>,
    // --- production preflight (issue 12): filesystems of the data dirs, clock, limits.
    /// dir -> the filesystem it (or its nearest existing parent) is on.
    pub fs_types: BTreeMap<String, FsType>,
    /// Directories whose filesystem could not be read, with what `stat` said.
    pub fs_unread: BTreeMap<String, String>,
    /// The host's clock, read at the end of the script (None: no readable answer).
    pub clock: Option<HostClock>,
    /// The controller's clock (ns since the epoch) just before the round trip that carried
    /// this script was sent and just after its answer came back: set by the caller, not parsed.
    pub round_trip_ns: Option<(i128, i128)>,
    /// The open-file limits of the shell stackctl starts services from.
    pub nofile: Option<OpenFileLimits>,
    // --- supervision (issue 12)
    /// systemd is the host's init (`/run/systemd/system` exists and `systemctl` is there):
    /// services get units and survive a reboot.
    pub systemd: bool,
    /// role -> its unit's state, on a systemd host.
    pub units: BTreeMap<String, UnitState>,
    // --- status (issue 15)
    /// role -> seconds its running process has run, when asked.
    pub since: BTreeMap<String, u64>,
    /// dir -> KiB it holds (`du -sk`), when asked and answered in time.
    pub du_kb: BTreeMap<String, u64>,
    /// dir -> (size, used) KiB of the filesystem it is on, from the same `df` line as free_kb.
    pub disk_kb: BTreeMap<String, (u64, u64)>,
}

/// What `systemctl show` says about one unit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnitState {
    /// `LoadState`: `loaded`, `not-found` (not installed) ...
    pub load: String,
    /// `ActiveState`: `active`, `inactive`, `failed`, `activating` ...
    pub active: String,
    /// `UnitFileState`: `enabled`, `disabled` ...
    pub enabled: String,
    /// `NRestarts`: restarts systemd made since the unit was last started by hand.
    pub restarts: u32,
    /// `Result`: `success`, `exit-code`, `start-limit-hit` ...
    pub result: String,
}

/// The filesystem a directory is on, as `stat -f` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsType {
    /// The directory actually measured: the path itself or its nearest existing parent.
    pub on: String,
    /// The filesystem's magic number (`statfs.f_type`), when stat printed it.
    pub magic: Option<u64>,
    /// Its name (`tmpfs`, `ext2/ext3`, `xfs`, `UNKNOWN (0x1234)`).
    pub name: String,
}

/// tmpfs's and ramfs's magic numbers (linux/magic.h: TMPFS_MAGIC, RAMFS_MAGIC).
const TMPFS_MAGIC: u64 = 0x0102_1994;
const RAMFS_MAGIC: u64 = 0x8584_58f6;

impl FsType {
    /// `tmpfs` or `ramfs` when the filesystem lives in memory (its content is gone at reboot);
    /// by magic number first (a stat too old to know the name prints `UNKNOWN`), else by name.
    pub fn in_memory(&self) -> Option<&'static str> {
        match (self.magic, self.name.as_str()) {
            (Some(TMPFS_MAGIC), _) | (_, "tmpfs") => Some("tmpfs"),
            (Some(RAMFS_MAGIC), _) | (_, "ramfs") => Some("ramfs"),
            _ => None,
        }
    }
}

/// A host's clock reading: nanoseconds since the epoch, and how coarse the reading is (a
/// `date` without `%N`, busybox's, reads whole seconds: the true time is up to 1 s later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostClock {
    pub ns: i128,
    pub resolution_ns: i128,
}

/// `ulimit -Sn` and `ulimit -Hn` of the shell (None: `unlimited`), and the kernel's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenFileLimits {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
    /// fs.nr_open: no process's limit can be raised above it, not even by root.
    pub nr_open: Option<u64>,
    /// fs.file-max: open files on the whole host.
    pub file_max: Option<u64>,
    /// Whether this shell may raise its hard limit (root with CAP_SYS_RESOURCE): then a
    /// launcher can reach fs.nr_open. None: not asked or not readable.
    pub raisable: Option<bool>,
}

/// The section marker: random per process, so a file read back (a config file, anything
/// `plan --live` compares) cannot fake a section by containing a line that starts with it.
pub fn mark() -> &'static str {
    static MARK: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MARK.get_or_init(|| {
        use sha2::Digest;
        let seed = format!(
            "{}{:?}{:p}",
            std::process::id(),
            std::time::SystemTime::now(),
            &MARK
        );
        let h = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
        format!("@@stackctl-{}", &h[..16])
    })
}

pub fn script(req: &FactRequest) -> String {
    let mark = mark();
    let mut s = String::from("export LC_ALL=C\n");
    // The JDK's version from its `release` file when it has one and an executable `java`: a
    // JVM start costs a CPU-second-ish per host per command, and every command asks. Else
    // `java -version` runs in the background while the rest is gathered, and its answer is
    // printed last (directly, if no temporary file can be made).
    s.push_str(&format!(
        "jh={jh}; jrel=; jv=\n\
         if [ -x \"$jh/bin/java\" ] && [ -f \"$jh/release\" ]; then jrel=$(sed -n 's/^JAVA_VERSION=\"\\([0-9][0-9A-Za-z._+-]*\\)\"$/\\1/p' \"$jh/release\" | head -n 1); fi\n\
         if [ -z \"$jrel\" ]; then jv=$(mktemp /tmp/.stackctl-java.XXXXXX 2>/dev/null) || jv=; if [ -n \"$jv\" ]; then \"$jh/bin/java\" -version > \"$jv\" 2>&1 & jpid=$!; fi; fi\n",
        jh = shell_quote(&req.java_home)
    ));
    s.push_str(&format!("echo '{mark} sha256'\n"));
    for f in &req.checksum {
        let q = shell_quote(f);
        // `sha256sum FILE` escapes a name holding `\` (and prefixes the sum with `\`), so the
        // sum is taken from stdin and the name printed as given: one stable key per file.
        s.push_str(&format!(
            "[ -f {q} ] && s=$(sha256sum < {q}) && printf '%s  %s\\n' \"${{s%% *}}\" {q}\n"
        ));
    }
    for a in &req.archives {
        let q = shell_quote(a);
        let r = shell_quote(&format!("{a}.sha256"));
        s.push_str(&format!(
            "if [ -f {q} ]; then if [ -f {r} ] && read sum size mtime < {r} && [ \"$(stat -c '%s %Y' {q})\" = \"$size $mtime\" ]; then printf '%s  %s\\n' \"$sum\" {q}; elif s=$(sha256sum < {q}); then printf '%s  %s\\n' \"${{s%% *}}\" {q}; fi; fi\n"
        ));
    }
    s.push_str(&format!("echo '{mark} modes'\n"));
    for f in &req.checksum {
        let q = shell_quote(f);
        s.push_str(&format!("[ -f {q} ] && stat -c '%a  %n' {q}\n"));
    }
    s.push_str(&format!("echo '{mark} running'\n"));
    for (role, l) in &req.launchers {
        let q = shell_quote(l);
        if req.jvm {
            // "<role> jvm <exe> <JAVA_VERSION>" after the status line of a running service.
            s.push_str(&format!(
                "if [ -x {q} ]; then o=$({q} status 2>/dev/null); echo \"{role} $o\"; set -- $o; if [ \"${{2:-}}\" = running ]; then e=$(readlink -f /proc/$3/exe); v=$(sed -n 's/^JAVA_VERSION=\"\\(.*\\)\"/\\1/p' \"${{e%/bin/java}}/release\" \"${{e%/jre/bin/java}}/release\" 2>/dev/null | head -n 1); echo \"{role} jvm $e ${{v:-?}}\"; fi; fi\n"
            ));
        } else if req.since {
            // "<role> since <seconds>" after the status line of a running service.
            s.push_str(&format!(
                "if [ -x {q} ]; then o=$({q} status 2>/dev/null); echo \"{role} $o\"; set -- $o; if [ \"${{2:-}}\" = running ]; then echo \"{role} since $(ps -o etimes= -p $3 2>/dev/null | tr -d ' ')\"; fi; fi\n"
            ));
        } else {
            s.push_str(&format!(
                "[ -x {q} ] && {q} status 2>/dev/null | sed 's/^/{role} /'\n"
            ));
        }
    }
    if !req.du.is_empty() {
        s.push_str(&format!("echo '{mark} du'\n"));
        for d in &req.du {
            let q = shell_quote(d);
            s.push_str(&format!(
                "[ -d {q} ] && printf '%s\\t%s\\n' {q} \"$(timeout 2 du -sk {q} 2>/dev/null | cut -f1)\"\n"
            ));
        }
    }
    if req.jvm {
        s.push_str(&format!(
            "echo '{mark} javahome'\nreadlink -f {}/bin/java\n",
            shell_quote(&req.java_home)
        ));
    }
    for d in &req.jars {
        let q = shell_quote(d);
        s.push_str(&format!(
            "printf '%s %s\\n' '{mark} jars' {q}\n[ -d {q} ] && (cd {q}/.. && find -H \"$(basename {q})\" -maxdepth 5 -name '*.jar')\n"
        ));
    }
    // --- supervision (issue 12): systemd as the init, and each unit's state in one line.
    s.push_str(&format!(
        "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo '{mark} systemd'\n"
    ));
    for (role, unit) in &req.units {
        s.push_str(&format!(
            "printf '%s ' {r}; systemctl show -p LoadState -p ActiveState -p UnitFileState -p NRestarts -p Result {u} 2>/dev/null | tr '\\n' ' '; echo\n",
            r = shell_quote(role),
            u = shell_quote(unit)
        ));
    }
    s.push_str("fi\n");
    users_block(&mut s, req, mark);
    s.push_str(&format!("echo '{mark} df'\n"));
    for d in &req.dirs {
        let q = shell_quote(d);
        // The path first, then a tab (paths hold no control characters), then df's last line:
        // a path with spaces cannot shift df's columns.
        s.push_str(&format!("d={q}; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; l=$(df -Pk \"$d\" 2>&1 | tail -n 1); printf '%s\\t%s\\n' {q} \"$l\"\n"));
    }
    // --- production preflight (issue 12). The filesystem of each data dir (or its nearest
    // existing parent), as `<path> TAB <dir measured> TAB <magic hex> <name>`; the open-file
    // limits a service started from this shell gets.
    s.push_str(&format!("echo '{mark} fstype'\n"));
    for d in &req.fs_dirs {
        let q = shell_quote(d);
        s.push_str(&format!("d={q}; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; l=$(stat -f -c '%t %T' \"$d\" 2>&1 | head -n 1); printf '%s\\t%s\\t%s\\n' {q} \"$d\" \"$l\"\n"));
    }
    s.push_str(&format!(
        "echo '{mark} nofile'\necho \"soft $(ulimit -Sn 2>&1)\"; echo \"hard $(ulimit -Hn 2>&1)\"; echo \"nr_open $(cat /proc/sys/fs/nr_open 2>&1)\"; echo \"file_max $(cat /proc/sys/fs/file-max 2>&1)\"; echo \"raisable $( (ulimit -Hn $(( $(ulimit -Hn) + 1 ))) 2>/dev/null && echo yes || echo no)\"\n"
    ));
    s.push_str(&format!(
        "echo '{mark} listen'\ncat /proc/net/tcp /proc/net/tcp6 2>/dev/null\n"
    ));
    for f in &req.read {
        let q = shell_quote(f);
        s.push_str(&format!(
            "if [ -f {q} ]; then printf '%s %s\\n' '{mark} file' {q}; head -c 1048576 {q}; echo; fi\n"
        ));
    }
    s.push_str(&format!("echo '{mark} exists'\n"));
    for d in &req.exists {
        let q = shell_quote(d);
        s.push_str(&format!("[ -d {q} ] && printf '%s\\n' {q}\n"));
    }
    s.push_str(&format!(
        "echo '{mark} java'; if [ -n \"$jrel\" ]; then echo \"java version \\\"$jrel\\\" (release file)\"; elif [ -n \"$jv\" ]; then wait $jpid; head -n 3 \"$jv\"; rm -f \"$jv\"; else {}/bin/java -version 2>&1 | head -n 3; fi\necho '{mark} clock'; date +%s.%N\necho '{mark} end'\n",
        shell_quote(&req.java_home)
    ));
    s
}

/// The service users' facts: who the session is, which accounts exist, who owns the
/// directories and files stackctl gives to them, and whom each running daemon runs as.
fn users_block(s: &mut String, req: &FactRequest, mark: &str) {
    s.push_str(&format!(
        "echo '{mark} users'\necho \"uid $(id -u)\"; echo \"login ${{SUDO_USER:-$(id -un)}}\"\n"
    ));
    let mut seen = BTreeSet::new();
    for (u, g) in &req.accounts {
        if seen.insert(("u", u)) {
            let q = shell_quote(u);
            s.push_str(&format!(
                "getent passwd {q} >/dev/null 2>&1 && echo \"user \"{q}\n"
            ));
        }
        if seen.insert(("g", g)) {
            let q = shell_quote(g);
            s.push_str(&format!(
                "getent group {q} >/dev/null 2>&1 && echo \"group \"{q}\n"
            ));
        }
    }
    for (d, u, g) in &req.owned_dirs {
        let (qd, qu, qg) = (shell_quote(d), shell_quote(u), shell_quote(g));
        // Anything inside owned by someone else (or an account find does not know) is "bad".
        s.push_str(&format!(
            "if [ -d {qd} ]; then if [ -n \"$(find {qd} \\( ! -user {qu} -o ! -group {qg} \\) -print -quit 2>&1)\" ]; then printf 'dirbad %s\\n' {qd}; else printf 'dirok %s\\n' {qd}; fi; fi\n"
        ));
    }
    for f in &req.checksum {
        let q = shell_quote(f);
        s.push_str(&format!("[ -f {q} ] && stat -c 'owner %U:%G  %n' {q}\n"));
    }
    for (role, l) in &req.launchers {
        let q = shell_quote(l);
        s.push_str(&format!(
            "if [ -x {q} ]; then set -- $({q} status 2>/dev/null); if [ \"${{2:-}}\" = running ]; then u=$(sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' /proc/$3/status 2>/dev/null); n=$(getent passwd \"$u\" | cut -d: -f1); echo \"proc {role} $u ${{n:-?}}\"; fi; fi\n"
        ));
    }
}

fn parse_users_line(f: &mut HostFacts, line: &str) {
    let Some((kind, rest)) = line.split_once(' ') else {
        return;
    };
    match kind {
        "uid" => f.uid = rest.trim().parse().ok(),
        "login" if !rest.trim().is_empty() => f.login_user = Some(rest.trim().to_string()),
        "user" => {
            f.users.insert(rest.to_string());
        }
        "group" => {
            f.groups.insert(rest.to_string());
        }
        "dirok" => {
            f.dirs_owned.insert(rest.to_string(), true);
        }
        "dirbad" => {
            f.dirs_owned.insert(rest.to_string(), false);
        }
        "owner" => {
            if let Some((owner, path)) = rest.split_once("  ") {
                f.owners.insert(path.to_string(), owner.to_string());
            }
        }
        "proc" => {
            let w: Vec<&str> = rest.split_whitespace().collect();
            if let [role, uid, name] = w[..] {
                if let Ok(uid) = uid.parse() {
                    f.proc_owner
                        .insert(role.to_string(), (uid, name.to_string()));
                }
            }
        }
        _ => {}
    }
}

pub fn parse(out: &str) -> HostFacts {
    let mut f = HostFacts::default();
    let mut section = String::new();
    let mut file: Option<String> = None;
    let mut buf = String::new();
    let mut jars_dir = String::new();
    let flush = |f: &mut HostFacts, file: &mut Option<String>, buf: &mut String| {
        if let Some(name) = file.take() {
            let mut text = std::mem::take(buf);
            text.pop(); // the newline the script adds after `head -c`
            f.contents.insert(name, text);
        }
        buf.clear();
    };
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix(mark()).and_then(|r| r.strip_prefix(' ')) {
            flush(&mut f, &mut file, &mut buf);
            // Names after "file "/"jars " are taken exactly (paths may end in spaces).
            if let Some(name) = rest.strip_prefix("file ") {
                section = "file".into();
                file = Some(name.to_string());
            } else if let Some(dir) = rest.strip_prefix("jars ") {
                section = "jars".into();
                jars_dir = dir.to_string();
                f.jars.entry(jars_dir.clone()).or_default();
            } else {
                section = rest.trim().to_string();
                if section == "end" {
                    f.complete = true;
                }
                if section == "systemd" {
                    f.systemd = true;
                }
            }
            continue;
        }
        match section.as_str() {
            "java" => {
                f.java_output.push_str(line);
                f.java_output.push('\n');
            }
            "modes" => {
                if let Some((mode, path)) = line.split_once("  ") {
                    if let Ok(m) = u32::from_str_radix(mode, 8) {
                        f.modes.insert(path.to_string(), m);
                    }
                }
            }
            "sha256" => {
                if let Some((sum, path)) = line.split_once("  ") {
                    f.sha256.insert(path.to_string(), sum.to_string());
                }
            }
            "running" => {
                // "<role> <name> running <pid>"
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.len() >= 4 && w[1] == "jvm" {
                    // "<role> jvm <exe, may hold spaces> <version>"
                    let rest = line.splitn(3, ' ').nth(2).unwrap_or("");
                    if let Some((exe, ver)) = rest.rsplit_once(' ') {
                        f.jvm
                            .insert(w[0].to_string(), (exe.to_string(), ver.to_string()));
                    }
                } else if w.len() == 3 && w[1] == "since" {
                    if let Ok(secs) = w[2].parse() {
                        f.since.insert(w[0].to_string(), secs);
                    }
                } else if w.len() >= 4 && w[2] == "running" {
                    if let Ok(pid) = w[3].parse() {
                        f.running.insert(w[0].to_string(), pid);
                    }
                }
            }
            "df" => {
                if let Some((dir, df)) = line.split_once('\t') {
                    if let Some(sizes) = df_size_used_kb(df) {
                        f.disk_kb.insert(dir.to_string(), sizes);
                    }
                    match df_available_kb(df) {
                        Some(kb) => {
                            f.free_kb.insert(dir.to_string(), kb);
                        }
                        None => {
                            f.free_kb_unread.insert(dir.to_string(), df.to_string());
                        }
                    }
                }
            }
            "du" => {
                if let Some((dir, kb)) = line.split_once('\t') {
                    if let Ok(kb) = kb.trim().parse() {
                        f.du_kb.insert(dir.to_string(), kb);
                    }
                }
            }
            "listen" => {
                // "  0: 0100007F:0CEA 00000000:0000 0A ..." state 0A is LISTEN.
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.len() > 3 && w[3] == "0A" {
                    if let Some(port) = w[1]
                        .rsplit(':')
                        .next()
                        .and_then(|p| u16::from_str_radix(p, 16).ok())
                    {
                        f.listening.insert(port);
                    }
                }
            }
            "exists" => {
                f.existing_dirs.insert(line.to_string());
            }
            "users" => parse_users_line(&mut f, line),
            "fstype" => {
                let mut parts = line.splitn(3, '\t');
                if let (Some(dir), Some(on), Some(said)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    match parse_fstype(on, said) {
                        Some(t) => {
                            f.fs_types.insert(dir.to_string(), t);
                        }
                        None => {
                            f.fs_unread.insert(dir.to_string(), said.to_string());
                        }
                    }
                }
            }
            "nofile" => {
                let mut l = f.nofile.unwrap_or_default();
                parse_nofile_line(&mut l, line);
                f.nofile = Some(l);
            }
            "clock" if f.clock.is_none() => {
                f.clock = parse_clock(line);
            }
            "systemd" => {
                // "<role> LoadState=loaded ActiveState=active UnitFileState=enabled NRestarts=0 Result=success"
                let mut w = line.split_whitespace();
                if let Some(role) = w.next() {
                    let mut u = UnitState::default();
                    for kv in w {
                        match kv.split_once('=') {
                            Some(("LoadState", v)) => u.load = v.to_string(),
                            Some(("ActiveState", v)) => u.active = v.to_string(),
                            Some(("UnitFileState", v)) => u.enabled = v.to_string(),
                            Some(("NRestarts", v)) => u.restarts = v.parse().unwrap_or(0),
                            Some(("Result", v)) => u.result = v.to_string(),
                            _ => {}
                        }
                    }
                    if !u.load.is_empty() {
                        f.units.insert(role.to_string(), u);
                    }
                }
            }
            "javahome" if !line.trim().is_empty() => {
                f.java_home_exe = Some(line.trim().to_string());
            }
            "jars" if !line.trim().is_empty() => {
                f.jars
                    .entry(jars_dir.clone())
                    .or_default()
                    .push(line.trim().to_string());
            }
            "file" => {
                buf.push_str(line);
                buf.push('\n');
            }
            _ => {}
        }
    }
    flush(&mut f, &mut file, &mut buf);
    f.java = JavaVersion::from_java_version_output(&f.java_output);
    f
}

/// The filesystem's size and used KiB in one line of `df -Pk` (found like the available KiB).
pub fn df_size_used_kb(line: &str) -> Option<(u64, u64)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let num = |s: &str| s.parse::<u64>().ok();
    (4..w.len()).find_map(|i| {
        let cap = w[i];
        let is_cap = cap == "-"
            || cap
                .strip_suffix('%')
                .is_some_and(|n| n.parse::<u64>().is_ok());
        if !is_cap {
            return None;
        }
        Some((num(w[i - 3])?, num(w[i - 2])?)).filter(|_| num(w[i - 1]).is_some())
    })
}

/// The available KiB in one line of `df -Pk`: `<filesystem> <blocks> <used> <available>
/// <capacity%> <mount>`. The file system name and the mount point may both hold spaces, so the
/// columns are found around the capacity: the first `N%` (or `-`) word preceded by three numbers.
pub fn df_available_kb(line: &str) -> Option<u64> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let num = |s: &str| s.parse::<u64>().ok();
    (4..w.len()).find_map(|i| {
        let cap = w[i];
        let is_cap = cap == "-"
            || cap
                .strip_suffix('%')
                .is_some_and(|n| n.parse::<u64>().is_ok());
        (is_cap && num(w[i - 3]).is_some() && num(w[i - 2]).is_some())
            .then(|| num(w[i - 1]))
            .flatten()
    })
}

/// One `stat -f -c '%t %T'` answer about `on`: the magic number in hex, then the type's name
/// (which may hold spaces: `UNKNOWN (0x1234)`, `ext2/ext3`). An error message or anything
/// else that does not start with a hex number and a name is not a filesystem.
pub fn parse_fstype(on: &str, said: &str) -> Option<FsType> {
    let said = said.trim();
    let (magic, name) = said.split_once(' ')?;
    let magic = u64::from_str_radix(magic, 16).ok()?;
    let name = name.trim();
    if name.is_empty() || on.is_empty() {
        return None;
    }
    Some(FsType {
        on: on.to_string(),
        magic: Some(magic),
        name: name.to_string(),
    })
}

/// One line of the `nofile` section: `soft N`, `hard N` (`unlimited` is None, anything else
/// unreadable leaves the field unset), `nr_open N`, `file_max N`.
pub fn parse_nofile_line(l: &mut OpenFileLimits, line: &str) {
    let Some((key, value)) = line.trim().split_once(' ') else {
        return;
    };
    let value = value.trim();
    let n = value.parse::<u64>().ok();
    match key {
        "soft" => l.soft = if value == "unlimited" { None } else { n },
        "hard" => l.hard = if value == "unlimited" { None } else { n },
        "nr_open" => l.nr_open = n,
        "file_max" => l.file_max = n,
        "raisable" => {
            l.raisable = match value {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }
        }
        _ => {}
    }
}

/// `date +%s.%N`: seconds, a dot, nanoseconds (GNU); a `date` without `%N` prints `%N` or
/// `N` after the dot, or nothing: then only the seconds are known.
pub fn parse_clock(line: &str) -> Option<HostClock> {
    let line = line.trim();
    let (secs, frac) = match line.split_once('.') {
        Some((s, f)) => (s, f),
        None => (line, ""),
    };
    if secs.is_empty() || secs.len() > 15 || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i128 = secs.parse().ok()?;
    if frac.len() == 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        let ns: i128 = frac.parse().ok()?;
        Some(HostClock {
            ns: secs * 1_000_000_000 + ns,
            resolution_ns: 1,
        })
    } else if frac.is_empty() || frac == "N" || frac == "%N" {
        Some(HostClock {
            ns: secs * 1_000_000_000,
            resolution_ns: 1_000_000_000,
        })
    } else {
        None
    }
}

/// The controller's clock now, in ns since the epoch (what a host's clock is compared with).
pub fn controller_clock_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// `key=value` lines of a Java properties file (enough for meta.properties and VERSION).
pub fn properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_looking_answer() {
        let out = "@@M java\nopenjdk version \"11.0.13\" 2021-10-19\nOpenJDK Runtime Environment\n\
@@M sha256\nabc123  /opt/stack/etc/zookeeper/zoo.cfg\n\
@@M running\nzookeeper zookeeper running 4242\nkafka kafka stopped\n\
@@M df\n/data/stack\t/dev/vda 1000 10 123456 1% /\n\
@@M listen\n  sl  local_address rem_address   st tx_queue rx_queue\n   0: 0B4DE70A:0885 00000000:0000 0A 00000000:00000000\n   1: 0B4DE70A:0885 0C4DE70A:9C40 01 00000000:00000000\n\
@@M file /data/stack/zookeeper/myid\n2\n\n@@M file /data/stack/kafka/meta.properties\nversion=0\nbroker.id=2\n\n@@M end\n".replace("@@M", mark());
        let f = parse(&out);
        assert!(f.complete);
        assert_eq!(f.java.unwrap().major, 11);
        assert_eq!(f.sha256["/opt/stack/etc/zookeeper/zoo.cfg"], "abc123");
        assert_eq!(f.running.get("zookeeper"), Some(&4242));
        assert!(!f.running.contains_key("kafka"));
        assert_eq!(f.free_kb["/data/stack"], 123456);
        assert_eq!(f.listening.iter().copied().collect::<Vec<_>>(), vec![2181]);
        assert_eq!(f.contents["/data/stack/zookeeper/myid"].trim(), "2");
        assert_eq!(
            properties(&f.contents["/data/stack/kafka/meta.properties"])["broker.id"],
            "2"
        );
        // A file that tries to open a section of its own stays a file; a cut answer is not complete.
        let forged = format!(
            "{m} file /x\n@@stackctl running\nzookeeper zookeeper running 1\n{m} end\n",
            m = mark()
        );
        let f = parse(&forged);
        assert!(f.running.is_empty() && f.contents["/x"].contains("running 1"));
        assert!(!parse(&out[..out.len() / 2]).complete);
    }

    #[test]
    fn reads_systemd_and_unit_states() {
        let out = "@@M systemd\nzookeeper LoadState=loaded ActiveState=active UnitFileState=enabled NRestarts=2 Result=success \nkafka LoadState=not-found ActiveState=inactive UnitFileState= NRestarts=0 Result=success \nbad\n@@M df\n@@M end\n".replace("@@M", mark());
        let f = parse(&out);
        assert!(f.systemd);
        let zk = &f.units["zookeeper"];
        assert_eq!(
            (zk.active.as_str(), zk.enabled.as_str(), zk.restarts),
            ("active", "enabled", 2)
        );
        assert_eq!(f.units["kafka"].load, "not-found");
        assert!(!f.units.contains_key("bad"));
        // No systemd section: no systemd, whatever a file read back says.
        let f = parse(&format!(
            "{m} file /x\n{m2} systemd\n{m} end\n",
            m = mark(),
            m2 = "@@stackctl"
        ));
        assert!(!f.systemd && f.units.is_empty());
    }

    #[test]
    fn users_facts_say_who_the_session_is_which_accounts_exist_and_who_owns_what() {
        let dir = std::env::temp_dir().join(format!("stackctl-users-{}", std::process::id()));
        let (mine, other) = (dir.join("mine"), dir.join("other"));
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let id = |flag: &str| {
            let o = std::process::Command::new("id").arg(flag).output().unwrap();
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        };
        let (me, mygroup) = (id("-un"), id("-gn"));
        let file = mine.join("f");
        std::fs::write(&file, "x").unwrap();
        let p = |d: &std::path::Path| d.display().to_string();
        let req = FactRequest {
            java_home: "/nonexistent".into(),
            checksum: vec![p(&file)],
            accounts: vec![
                (me.clone(), mygroup.clone()),
                (
                    "stackctl-no-such-user".into(),
                    "stackctl-no-such-group".into(),
                ),
            ],
            owned_dirs: vec![
                (p(&mine), me.clone(), mygroup.clone()),
                (p(&other), "stackctl-no-such-user".into(), mygroup.clone()),
                ("/nonexistent/dir".into(), me.clone(), mygroup.clone()),
            ],
            ..Default::default()
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script(&req))
            .output()
            .unwrap();
        let f = parse(&String::from_utf8_lossy(&out.stdout));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(f.complete);
        assert_eq!(f.login_user.as_deref(), Some(me.as_str()));
        assert!(f.uid.is_some());
        assert!(f.users.contains(&me) && !f.users.contains("stackctl-no-such-user"));
        assert!(f.groups.contains(&mygroup) && !f.groups.contains("stackctl-no-such-group"));
        // Owned by us: ok; to a user that does not exist: not ok; missing: not reported.
        assert_eq!(f.dirs_owned.get(&p(&mine)), Some(&true), "{f:?}");
        assert_eq!(f.dirs_owned.get(&p(&other)), Some(&false), "{f:?}");
        assert!(!f.dirs_owned.contains_key("/nonexistent/dir"));
        assert_eq!(f.owners.get(&p(&file)), Some(&format!("{me}:{mygroup}")));
    }

    #[test]
    fn a_running_daemons_owner_is_read_from_proc() {
        let mut f = HostFacts::default();
        parse_users_line(&mut f, "proc kafka 998 kafka");
        parse_users_line(&mut f, "proc zookeeper x zookeeper");
        parse_users_line(&mut f, "uid 0");
        assert_eq!(f.proc_owner["kafka"], (998, "kafka".to_string()));
        assert!(!f.proc_owner.contains_key("zookeeper"));
        assert_eq!(f.uid, Some(0));
    }

    #[test]
    fn the_script_is_valid_shell_and_quotes_paths() {
        let req = FactRequest {
            java_home: "/usr/lib/jvm/j k".into(),
            checksum: vec!["/opt/a b/$(id)".into()],
            archives: vec!["/opt/x.tgz".into()],
            launchers: vec![("zookeeper".into(), "/opt/etc/launch/zookeeper.sh".into())],
            dirs: vec!["/data/x".into()],
            read: vec!["/data/myid".into()],
            exists: vec!["/".into()],
            jvm: true,
            jars: vec!["/no/such/dist".into()],
            accounts: vec![("k a".into(), "$(id)".into())],
            owned_dirs: vec![("/d x".into(), "k a".into(), "$(id)".into())],
            fs_dirs: vec!["/data/x".into()],
            units: vec![("zookeeper".into(), "stackctl-a b-zookeeper.service".into())],
            since: false,
            du: vec!["/d x/$(id)".into()],
        };
        let s = script(&req);
        assert!(s.contains("'/opt/a b/$(id)'"));
        let st = std::process::Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(&s)
            .status()
            .unwrap();
        assert!(st.success());
        // Run it for real against an empty world: it must not fail.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        let f = parse(&String::from_utf8_lossy(&out.stdout));
        assert!(f.java.is_none());
        assert!(f.free_kb.contains_key("/data/x"));
        assert!(f.existing_dirs.contains("/"));
    }

    #[test]
    fn df_lines_are_read_from_the_capacity_column_whatever_the_spaces() {
        for (line, want) in [
            ("/dev/vda1 41152736 5637280 33402300 15% /", Some(33402300)),
            (
                "/dev/vdb1 10255636 10153236 102400 100% /data/my disk",
                Some(102400),
            ),
            ("map auto home 0 0 0 - /home", Some(0)),
            (
                "//nas/share with space 100 50 50 50% /mnt/a 1 2 3 4% b",
                Some(50),
            ),
            ("tmpfs 1024 0 1024 0% /srv/100 200 300 4%", Some(1024)),
            ("df: /data: Permission denied", None),
            ("", None),
            (
                "Filesystem 1024-blocks Used Available Capacity Mounted on",
                None,
            ),
        ] {
            assert_eq!(df_available_kb(line), want, "{line}");
        }
        let out = format!(
            "{m} df\n/data/a b\t/dev/vda1 100 10 90 10% /\n/x\tdf: /x: No such file\n{m} end\n",
            m = mark()
        );
        let f = parse(&out);
        assert_eq!(f.free_kb["/data/a b"], 90);
        assert_eq!(f.free_kb_unread["/x"], "df: /x: No such file");
    }

    /// Paths with a backslash or spaces: the sum is the file's, under the path as given, on
    /// every run (GNU `sha256sum FILE` would escape the name and prefix the sum with `\`).
    #[test]
    fn checksums_and_free_space_of_odd_paths_are_read_back_under_their_own_names() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a b\\c $(x)");
        std::fs::create_dir_all(&odd).unwrap();
        let file = odd.join("zoo\\n.cfg");
        std::fs::write(&file, "tickTime=2000\n").unwrap();
        let arch = odd.join("z.tar.gz");
        std::fs::write(&arch, "archive").unwrap();
        let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
        let req = FactRequest {
            java_home: "/no/such/jdk".into(),
            checksum: vec![s(&file)],
            archives: vec![s(&arch)],
            dirs: vec![s(&odd), s(&odd.join("not yet"))],
            ..Default::default()
        };
        let out = std::process::Command::new("sh")
            .args(["-c", &script(&req)])
            .output()
            .unwrap();
        let f = parse(&String::from_utf8_lossy(&out.stdout));
        let want = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
        assert_eq!(
            f.sha256.get(&s(&file)),
            Some(&want(b"tickTime=2000\n")),
            "{f:?}"
        );
        assert_eq!(f.sha256.get(&s(&arch)), Some(&want(b"archive")));
        assert!(f.free_kb.contains_key(&s(&odd)), "{f:?}");
        assert!(f.free_kb.contains_key(&s(&odd.join("not yet"))), "{f:?}");
        assert!(f.free_kb_unread.is_empty(), "{f:?}");
    }

    #[test]
    fn status_facts_read_uptime_data_size_and_filesystem_use() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let launcher = d.join("zk.sh");
        std::fs::write(
            &launcher,
            format!(
                "#!/bin/sh\necho \"zookeeper running {}\"\n",
                std::process::id()
            ),
        )
        .unwrap();
        let stopped = d.join("kafka.sh");
        std::fs::write(&stopped, "#!/bin/sh\necho \"kafka stopped\"\n").unwrap();
        for l in [&launcher, &stopped] {
            std::process::Command::new("chmod")
                .args(["+x", l.to_str().unwrap()])
                .status()
                .unwrap();
        }
        let data = d.join("data dir");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("blob"), vec![7u8; 300 * 1024]).unwrap();
        let data = data.to_string_lossy().into_owned();
        let req = FactRequest {
            java_home: "/no/such/jdk".into(),
            launchers: vec![
                ("zookeeper".into(), launcher.to_string_lossy().into_owned()),
                ("kafka".into(), stopped.to_string_lossy().into_owned()),
            ],
            since: true,
            du: vec![data.clone(), "/no/such/dir".into()],
            dirs: vec![data.clone()],
            ..Default::default()
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script(&req))
            .output()
            .unwrap();
        let f = parse(&String::from_utf8_lossy(&out.stdout));
        assert!(f.complete, "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(f.running.get("zookeeper"), Some(&std::process::id()));
        // This test process has run for a few seconds at most (ps rounds down).
        assert!(f.since["zookeeper"] < 600, "{:?}", f.since);
        assert!(!f.since.contains_key("kafka") && !f.running.contains_key("kafka"));
        assert!(f.du_kb[&data] >= 300, "{:?}", f.du_kb);
        assert!(!f.du_kb.contains_key("/no/such/dir"));
        let (size, used) = f.disk_kb[&data];
        assert!(size > 0 && used <= size, "{size} {used}");
    }

    #[test]
    fn df_lines_give_size_and_used_around_the_capacity() {
        assert_eq!(
            df_size_used_kb("/dev/vda 1000 10 123456 1% /"),
            Some((1000, 10))
        );
        assert_eq!(
            df_size_used_kb("my disk 2000 500 1500 25% /mnt/a b"),
            Some((2000, 500))
        );
        assert_eq!(df_size_used_kb("df: /x: No such file"), None);
    }

    #[test]
    fn verify_facts_name_the_running_jvm_and_list_jars() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A launcher that reports this test process as the running service.
        let launcher = d.join("zk.sh");
        std::fs::write(
            &launcher,
            format!(
                "#!/bin/sh\necho \"zookeeper running {}\"\n",
                std::process::id()
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .args(["+x", launcher.to_str().unwrap()])
            .status()
            .unwrap();
        std::fs::create_dir_all(d.join("kafka_2.12-2.4.0/libs")).unwrap();
        std::fs::write(d.join("kafka_2.12-2.4.0/libs/zookeeper-3.5.6.jar"), "").unwrap();
        std::fs::write(d.join("kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0.jar"), "").unwrap();
        let req = FactRequest {
            java_home: "/no/such/jdk".into(),
            launchers: vec![("zookeeper".into(), launcher.to_string_lossy().into_owned())],
            jvm: true,
            jars: vec![d.join("kafka_2.12-2.4.0").to_string_lossy().into_owned()],
            ..Default::default()
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script(&req))
            .output()
            .unwrap();
        let f = parse(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(f.running.get("zookeeper"), Some(&std::process::id()));
        let (exe, ver) = &f.jvm["zookeeper"];
        assert_eq!(
            std::path::Path::new(exe),
            std::fs::canonicalize("/proc/self/exe").unwrap()
        );
        assert_eq!(ver, "?", "no JDK release file next to a test binary");
        let mut jars = f.jars[&d.join("kafka_2.12-2.4.0").to_string_lossy().into_owned()].clone();
        jars.sort();
        assert_eq!(
            jars,
            vec![
                "kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0.jar",
                "kafka_2.12-2.4.0/libs/zookeeper-3.5.6.jar"
            ]
        );
    }

    #[test]
    fn the_jdk_version_comes_from_its_release_file_without_starting_a_jvm() {
        let dir = tempfile::tempdir().unwrap();
        let jh = dir.path().join("jdk 11");
        std::fs::create_dir_all(jh.join("bin")).unwrap();
        // A `java` that would say something else if it ran: it must not run.
        std::fs::write(
            jh.join("bin/java"),
            "#!/bin/sh\necho 'openjdk version \"99.0.0\"' >&2\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(jh.join("bin/java"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(
            jh.join("release"),
            "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"11.0.13\"\n",
        )
        .unwrap();
        let req = FactRequest {
            java_home: jh.display().to_string(),
            ..Default::default()
        };
        let run = || {
            let o = std::process::Command::new("sh")
                .args(["-c", &script(&req)])
                .output()
                .unwrap();
            parse(&String::from_utf8_lossy(&o.stdout))
        };
        let f = run();
        assert!(f.complete);
        assert_eq!(f.java.as_ref().map(|j| j.raw.as_str()), Some("11.0.13"));
        // No release file (or a garbled one): `java -version` decides.
        std::fs::write(jh.join("release"), "JAVA_VERSION=\"$(id)\"\n").unwrap();
        assert_eq!(run().java.map(|j| j.raw), Some("99.0.0".into()));
        std::fs::remove_file(jh.join("release")).unwrap();
        assert_eq!(run().java.map(|j| j.raw), Some("99.0.0".into()));
    }

    // --- production preflight (issue 12)

    #[test]
    fn filesystem_types_are_read_by_magic_number_and_name_and_unreadable_ones_kept() {
        for (said, want) in [
            (
                "1021994 tmpfs",
                Some((Some(0x0102_1994), "tmpfs", Some("tmpfs"))),
            ),
            (
                "858458f6 ramfs",
                Some((Some(0x8584_58f6), "ramfs", Some("ramfs"))),
            ),
            ("ef53 ext2/ext3", Some((Some(0xef53), "ext2/ext3", None))),
            // An old stat that knows the magic but not the name: still tmpfs.
            (
                "1021994 UNKNOWN (0x1021994)",
                Some((Some(0x0102_1994), "UNKNOWN (0x1021994)", Some("tmpfs"))),
            ),
            ("58465342 xfs  ", Some((Some(0x5846_5342), "xfs", None))),
            (
                "794c7630 overlayfs",
                Some((Some(0x794c_7630), "overlayfs", None)),
            ),
            (
                "stat: cannot read file system information for '/x': Permission denied",
                None,
            ),
            ("tmpfs", None),
            ("1021994", None),
            ("1021994 ", None),
            ("", None),
            ("zz tmpfs", None),
        ] {
            let got = parse_fstype("/data", said);
            let got = got
                .as_ref()
                .map(|t| (t.magic, t.name.as_str(), t.in_memory()));
            assert_eq!(got, want, "{said:?}");
        }
        let out = format!(
            "{m} fstype\n/data/a b/zk\t/data\t1021994 tmpfs\n/x\t/\tstat: denied\nno tab here\n{m} end\n",
            m = mark()
        );
        let f = parse(&out);
        assert_eq!(f.fs_types["/data/a b/zk"].on, "/data");
        assert_eq!(f.fs_types["/data/a b/zk"].in_memory(), Some("tmpfs"));
        assert_eq!(f.fs_unread["/x"], "stat: denied");
        assert_eq!(f.fs_types.len() + f.fs_unread.len(), 2);
    }

    #[test]
    fn open_file_limits_and_clock_readings_are_parsed_strictly() {
        let out = format!(
            "{m} nofile\nsoft 1024\nhard unlimited\nnr_open 1048576\nfile_max garbage\nbogus 1\n{m} clock\n1796162550.530288282\n1.0\n{m} end\n",
            m = mark()
        );
        let f = parse(&out);
        assert_eq!(
            f.nofile,
            Some(OpenFileLimits {
                soft: Some(1024),
                hard: None,
                nr_open: Some(1048576),
                file_max: None,
                raisable: None
            })
        );
        // The first clock line counts; nanoseconds kept.
        assert_eq!(
            f.clock,
            Some(HostClock {
                ns: 1_796_162_550_530_288_282,
                resolution_ns: 1
            })
        );
        for (line, want) in [
            ("1796162550.000000001", Some((1_796_162_550_000_000_001, 1))),
            // busybox/BSD date: no %N, whole seconds only.
            (
                "1796162550.N",
                Some((1_796_162_550_000_000_000, 1_000_000_000)),
            ),
            (
                "1796162550.%N",
                Some((1_796_162_550_000_000_000, 1_000_000_000)),
            ),
            (
                "1796162550",
                Some((1_796_162_550_000_000_000, 1_000_000_000)),
            ),
            (
                " 1796162550.530288282 ",
                Some((1_796_162_550_530_288_282, 1)),
            ),
            ("1796162550.53", None),
            ("-5.000000000", None),
            ("date: invalid", None),
            ("", None),
            (".123456789", None),
            ("9999999999999999.000000000", None),
        ] {
            assert_eq!(
                parse_clock(line).map(|c| (c.ns, c.resolution_ns)),
                want,
                "{line:?}"
            );
        }
        // What this machine's shell answers, run for real.
        let req = FactRequest {
            java_home: "/no/such/jdk".into(),
            fs_dirs: vec!["/proc/self/not yet".into(), "/".into()],
            ..Default::default()
        };
        let before = controller_clock_ns();
        let out = std::process::Command::new("sh")
            .args(["-c", &script(&req)])
            .output()
            .unwrap();
        let after = controller_clock_ns();
        let f = parse(&String::from_utf8_lossy(&out.stdout));
        let c = f.clock.expect("a clock reading");
        assert!(before <= c.ns + c.resolution_ns && c.ns <= after, "{c:?}");
        let l = f.nofile.expect("limits");
        assert!(l.soft.is_some() || l.hard.is_none(), "{l:?}");
        assert!(l.nr_open.is_some(), "{l:?}");
        assert_eq!(f.fs_types["/proc/self/not yet"].on, "/proc/self");
        assert_eq!(f.fs_types["/proc/self/not yet"].name, "proc");
        assert!(f.fs_types.contains_key("/"), "{f:?}");
    }
}
