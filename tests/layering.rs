//! The crate's layering, enforced: every module import points down.
//!
//! Each file under `src/` is scanned as text (comments and string literals blanked out) for its
//! references into the crate — `use crate::…` trees, inline `crate::…`, `super::…` and `self::…`
//! paths, paths through a child module (`mod x;` then `x::…`) or through a name a `use` brought
//! in, and `stackctl::…` in `main.rs`. Each reference points at the deepest module *file* its
//! path names (re-exports are not followed: `crate::components::Cluster` is `components/mod.rs`
//! even if `Cluster` is defined elsewhere). Then:
//!
//! 1. a reference must point to a lower rank in `LAYERS`, or stay inside its own top-level group
//!    and respect the order within it (rank 0 leaves may use each other);
//! 2. a module may always use its own descendants (`compat/mod.rs` -> `compat/detect.rs`);
//!    these references belong to the module tree, like the `mod` declarations, and are not
//!    edges of the import graph;
//! 3. the file-level import graph has no cycle at all;
//! 4. every module is in `LAYERS` (new component files are covered by `components::*`).
//!
//! `src/lib.rs` may declare and re-export anything, but library code must not import through a
//! crate-root re-export (`crate::Foo`): that would hide where `Foo` lives. Not seen by a text
//! scan: names brought in by glob imports (`use x::*` itself counts as a reference to `x`) and
//! paths built by macros.
//!
//! The test lists every problem at once. The parser has its own tests at the bottom of this file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// THE RANK TABLE: the one place to edit when a module is added or moved.
//
// The layering we want (STYLE.md, "The layering we want"): leaves at the bottom, the binary at
// the top, and every import pointing down. A module may use anything of a lower rank; within a
// top-level group (the first path segment: `components`, `deploy`, ...) the second number orders
// the group's files; files of equal rank in the same group may use each other as long as that
// makes no cycle. Rank 0 leaves may use other leaves, again without a cycle.
//
// Names are module paths: `src/foo/bar.rs` is `foo::bar`, `src/foo/mod.rs` is `foo`, `main` is
// `src/main.rs`, `exit` is the inline module in `src/lib.rs`. `foo::*` covers every module below
// `foo` (its files at any depth) that has no row of its own.
// ---------------------------------------------------------------------------------------------
type Rank = (u32, u32);

#[rustfmt::skip]
const LAYERS: &[(Rank, &[&str])] = &[
    // 0: leaves — they know nothing of stacks, hosts or components.
    ((0, 0), &["diag", "version", "shell", "events", "cli", "exit", "secrets", "runlog"]),
    //    and release archives fetched from a mirror, verified and cached: generic, the paths
    //    below the mirror come from the components (through `archives`).
    ((0, 0), &["dist", "dist::*"]),
    // 1: the inventory as written, and the template renderer.
    ((1, 0), &["inventory", "inventory::catalog", "inventory::raw", "inventory::shape", "inventory::load", "inventory::text", "render"]),
    // 2: talking to hosts.
    ((2, 0), &["remote", "remote::transport", "remote::facts", "remote::probe", "remote::zk",
               "remote::kafka_wire", "remote::sshcfg", "remote::persist"]),
    // 3: compatibility rules and the lock file.
    ((3, 0), &["compat", "compat::detect", "compat::classpath", "lock"]),
    // 4: components — the shared core lowest, then every component (each may use another
    //    component, e.g. HBase needs ZooKeeper's connect string; the files of one component
    //    directory may use each other), the registry (`components/mod.rs`) highest.
    ((4, 0), &["components::core"]),
    ((4, 1), &["components::*"]),
    ((4, 2), &["components"]),
    // 5: the versions in effect and their verdicts: the rules evaluated with what the
    //    components say of their distributions.
    ((5, 0), &["versions"]),
    //    and each component's archive: as written, or fetched from the mirror into the cache.
    ((5, 1), &["archives"]),
    // 6: the plan: what every host should look like.
    ((6, 0), &["plan"]),
    // 7: deploying a plan: the pure core lowest, then connecting, applying, walking.
    ((7, 0), &["deploy::changes"]),
    ((7, 0), &["deploy::guard"]),
    ((7, 0), &["deploy::preflight"]),
    ((7, 2), &["deploy::session"]),
    ((7, 3), &["deploy::apply"]),
    ((7, 4), &["deploy::walk"]),
    ((7, 5), &["deploy"]),
    // 8: checking a running cluster.
    ((8, 0), &["verify"]),
    // 8.1: quick looks and the playground (status shares verify's `--limit` rule).
    ((8, 1), &["status"]),
    ((8, 1), &["playground"]),
    // 9: turning results into text.
    ((9, 0), &["output", "output::*"]),
    // 10: one module per CLI command.
    ((10, 0), &["commands", "commands::*"]),
    // 11: the binary; it may use anything (through `stackctl::`).
    ((11, 0), &["main"]),
];

// ---------------------------------------------------------------------------------------------
// The check.
// ---------------------------------------------------------------------------------------------

#[test]
fn imports_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_tree(root, &root.join("src"), &mut files);
    assert!(
        files.iter().any(|(p, _)| p == "src/lib.rs"),
        "no src/lib.rs under {}",
        root.display()
    );
    let outcome = check(&files);
    // Guard against a scanner that silently finds nothing.
    assert!(
        outcome.references > 0,
        "found no crate-internal references in src/"
    );
    assert!(
        outcome.problems.is_empty(),
        "{} layering problem(s); the rank table is LAYERS at the top of tests/layering.rs \
         (see STYLE.md, \"The layering we want\"):\n  {}\n",
        outcome.problems.len(),
        outcome.problems.join("\n  ")
    );
}

/// Every `.rs` file below `dir`, as (`src/…` path with `/`, text), sorted.
fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let rel = path.strip_prefix(root).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            out.push((rel.join("/"), text));
        }
    }
}

struct Outcome {
    problems: Vec<String>,
    /// Crate-internal references found in all files (a sanity figure).
    references: usize,
}

/// One source file: its path (`src/…`) and module path (`main.rs` is the module `main`).
struct Source<'a> {
    path: &'a str,
    module: Vec<String>,
    bin: bool,
    parsed: Parsed,
}

/// The module file a reference lands on, and the module path it named.
struct Target {
    file: String,
    module: Vec<String>,
}

/// Module path of a file under `src/`: `src/a/b.rs` is `a::b`, `src/a/mod.rs` is `a`,
/// `src/lib.rs` is the crate root (empty), `src/main.rs` is `main`.
fn module_of(path: &str) -> (Vec<String>, bool) {
    let rel = path.strip_prefix("src/").unwrap_or(path);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    match rel {
        "lib" => return (vec![], false),
        "main" => return (vec!["main".into()], true),
        _ => {}
    }
    let mut segs: Vec<String> = rel.split('/').map(String::from).collect();
    if segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    (segs, false)
}

/// The rank of a module: its own row, else the longest `prefix::*` row covering it.
fn rank_of(module: &[String]) -> Option<Rank> {
    let name = module.join("::");
    let mut best: Option<(usize, Rank)> = None;
    for (rank, names) in LAYERS {
        for pat in *names {
            if *pat == name {
                return Some(*rank);
            }
            if let Some(base) = pat.strip_suffix("::*") {
                let covers = name.len() > base.len() + 2
                    && name.starts_with(base)
                    && name[base.len()..].starts_with("::");
                if covers && best.is_none_or(|(len, _)| base.len() > len) {
                    best = Some((base.len(), *rank));
                }
            }
        }
    }
    best.map(|(_, r)| r)
}

fn show_rank(r: Rank, with_order: bool) -> String {
    if with_order {
        format!("{}.{}", r.0, r.1)
    } else {
        r.0.to_string()
    }
}

fn is_prefix(prefix: &[String], of: &[String]) -> bool {
    prefix.len() < of.len() && of[..prefix.len()] == *prefix
}

fn check(files: &[(String, String)]) -> Outcome {
    let sources: Vec<Source> = files
        .iter()
        .map(|(path, text)| {
            let (module, bin) = module_of(path);
            let parsed = parse(text, &module, bin);
            Source {
                path,
                module,
                bin,
                parsed,
            }
        })
        .collect();

    // Every module that exists, and the file it lives in: module files, plus inline `mod x { }`.
    let mut modules: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for s in sources.iter().filter(|s| !s.bin) {
        modules.insert(s.module.clone(), s.path.to_string());
    }
    for s in sources.iter().filter(|s| !s.bin) {
        for m in &s.parsed.inline_modules {
            modules
                .entry(m.clone())
                .or_insert_with(|| s.path.to_string());
        }
    }
    let file_module: BTreeMap<&str, &[String]> = sources
        .iter()
        .map(|s| (s.path, s.module.as_slice()))
        .collect();
    let target_of = |path: &[String]| -> Target {
        let k = (0..=path.len())
            .rev()
            .find(|k| modules.contains_key(&path[..*k]))
            .unwrap_or(0);
        Target {
            file: modules
                .get(&path[..k])
                .cloned()
                .unwrap_or_else(|| "src/lib.rs".into()),
            module: path[..k].to_vec(),
        }
    };
    let target_rank = |t: &Target| -> Option<Rank> {
        rank_of(&t.module).or_else(|| file_module.get(t.file.as_str()).and_then(|m| rank_of(m)))
    };

    let mut violations: BTreeSet<String> = BTreeSet::new();
    let mut root_items: BTreeSet<String> = BTreeSet::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut references = 0;

    for s in &sources {
        let own_rank = rank_of(&s.module);
        if !s.module.is_empty() && own_rank.is_none() {
            unknown.push(format!(
                "{} (module `{}`) is not in the rank table: add it to LAYERS at the top of \
                 tests/layering.rs",
                s.path,
                s.module.join("::")
            ));
        }
        if s.module.is_empty() {
            // The crate root's inline modules (`exit`) have ranks of their own.
            for m in s.parsed.inline_modules.iter().filter(|m| m.len() == 1) {
                if rank_of(m).is_none() {
                    unknown.push(format!(
                        "{} (inline module `{}`) is not in the rank table: add it to LAYERS at \
                         the top of tests/layering.rs",
                        s.path, m[0]
                    ));
                }
            }
        }
        graph.entry(s.path.to_string()).or_default();
        let prefix = if s.bin { "stackctl" } else { "crate" };
        for r in &s.parsed.refs {
            references += 1;
            let t = target_of(&r.path);
            if t.file == s.path {
                continue;
            }
            // A module may use its descendants (and the crate root, lib.rs, may re-export all).
            if !s.bin && is_prefix(&s.module, &t.module) {
                continue;
            }
            if t.module.is_empty() {
                // An item of the crate root itself, i.e. a re-export in lib.rs.
                if !s.bin {
                    let named = r.path.first().map_or(String::new(), |f| format!("::{f}"));
                    root_items.insert(format!(
                        "{} imports crate{named} (src/lib.rs, the crate root): import it from \
                         the module that defines it; re-exports at the root hide the layering",
                        s.path
                    ));
                }
                continue;
            }
            graph
                .entry(s.path.to_string())
                .or_default()
                .insert(t.file.clone());
            let (Some(from), Some(to)) = (own_rank, target_rank(&t)) else {
                continue; // reported as missing from the table
            };
            let same_group = s.module.first() == t.module.first();
            let allowed = to < from || (to == from && (from.0 == 0 || same_group));
            if !allowed {
                let with_order = from.0 == to.0;
                violations.insert(format!(
                    "{} imports {prefix}::{} ({}, rank {}) from rank {}: imports must point down",
                    s.path,
                    t.module.join("::"),
                    t.file,
                    show_rank(to, with_order),
                    show_rank(from, with_order)
                ));
            }
        }
    }

    let mut problems: Vec<String> = violations.into_iter().collect();
    problems.extend(root_items);
    problems.extend(unknown);
    problems.extend(cycles(&graph));
    Outcome {
        problems,
        references,
    }
}

/// One cycle per strongly connected group of files, as `a.rs -> b.rs -> a.rs`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for scc in strongly_connected(graph) {
        if scc.len() < 2 {
            continue;
        }
        let start = scc.iter().next().unwrap().clone();
        // Shortest way from `start` back to itself inside the group.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start.as_str()]);
        let mut last = None;
        'bfs: while let Some(u) = queue.pop_front() {
            for v in &graph[u] {
                if !scc.contains(v) {
                    continue;
                }
                if *v == start {
                    last = Some(u);
                    break 'bfs;
                }
                if !parent.contains_key(v.as_str()) {
                    parent.insert(v.as_str(), u);
                    queue.push_back(v.as_str());
                }
            }
        }
        let mut path = vec![start.as_str()];
        let mut at = last.expect("a strongly connected group has a cycle");
        while at != start {
            path.push(at);
            at = parent[at];
        }
        path[1..].reverse();
        path.push(start.as_str());
        let mut msg = format!("import cycle: {}", path.join(" -> "));
        if scc.len() > path.len() - 1 {
            let all: Vec<&str> = scc.iter().map(String::as_str).collect();
            msg += &format!(
                " (one of the cycles among these {} files: {})",
                scc.len(),
                all.join(", ")
            );
        }
        out.push(msg);
    }
    out
}

/// Tarjan's algorithm; groups come out sorted by their first file.
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(st: &mut State<'g>, v: &'g str) {
        let i = st.index.len();
        st.index.insert(v, i);
        st.low.insert(v, i);
        st.stack.push(v);
        st.on_stack.insert(v);
        let graph = st.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !graph.contains_key(w) {
                continue;
            }
            if !st.index.contains_key(w) {
                visit(st, w);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if st.on_stack.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut group = BTreeSet::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on_stack.remove(w);
                group.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            st.out.push(group);
        }
    }
    let mut st = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !st.index.contains_key(v.as_str()) {
            visit(&mut st, v);
        }
    }
    st.out.sort();
    st.out
}

// ---------------------------------------------------------------------------------------------
// The scanner: comments and literals out, then tokens, then `use` trees and paths.
// ---------------------------------------------------------------------------------------------

/// A crate-internal reference: the path from the crate root, and the line it is on.
#[derive(Debug, Clone, PartialEq)]
struct Ref {
    path: Vec<String>,
    line: usize,
}

#[derive(Debug, Default)]
struct Parsed {
    /// References into the library, as absolute paths (without `crate`/`stackctl`).
    refs: Vec<Ref>,
    /// Absolute paths of the inline modules (`mod x { … }`) of the file.
    inline_modules: Vec<Vec<String>>,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with comments (nested block comments too), string, byte-string, raw-string and
/// character literals replaced by spaces; newlines are kept so lines still count.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, from: usize, to: usize| {
        for &ch in &c[from..to.min(c.len())] {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    // End (exclusive) of a "…" literal whose opening quote is at `i`.
    let string_end = |mut i: usize| -> usize {
        i += 1;
        while i < c.len() {
            match c[i] {
                '\\' => i += 2,
                '"' => return i + 1,
                _ => i += 1,
            }
        }
        c.len()
    };
    // End (exclusive) of a character literal at `i`, or None for a lifetime / label.
    let char_end = |i: usize| -> Option<usize> {
        if c.get(i + 1) == Some(&'\\') {
            let mut j = i + 3;
            while j < c.len() && c[j] != '\'' && c[j] != '\n' {
                j += 1;
            }
            Some(j + 1)
        } else if c.get(i + 2) == Some(&'\'') {
            Some(i + 3)
        } else {
            None
        }
    };
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            let mut j = i;
            while j < c.len() && c[j] != '\n' {
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
        } else if ch == '/' && next == Some('*') {
            let (mut j, mut depth) = (i, 0);
            while j < c.len() {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if ch == '"' {
            let j = string_end(i);
            blank(&mut out, i, j);
            i = j;
        } else if ch == '\'' {
            match char_end(i) {
                Some(j) => {
                    blank(&mut out, i, j);
                    i = j;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else if is_ident_start(ch) {
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let at = c.get(i).copied();
            let mut hashes = 0;
            while c.get(i + hashes) == Some(&'#') {
                hashes += 1;
            }
            match word.as_str() {
                "r" | "br" | "cr" if c.get(i + hashes) == Some(&'"') => {
                    // Raw string: ends at `"` followed by the same number of `#`.
                    let mut j = i + hashes + 1;
                    while j < c.len()
                        && !(c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')))
                    {
                        j += 1;
                    }
                    let end = (j + 1 + hashes).min(c.len());
                    blank(&mut out, start, end);
                    i = end;
                }
                "b" | "c" if at == Some('"') => {
                    let j = string_end(i);
                    blank(&mut out, start, j);
                    i = j;
                }
                "b" if at == Some('\'') => {
                    let j = char_end(i).unwrap_or(i + 1);
                    blank(&mut out, start, j);
                    i = j;
                }
                _ => out.push_str(&word),
            }
        } else if ch.is_ascii_digit() {
            // A number, suffix included (`1u8`, `0x1f`), so `1b` never starts a byte string.
            while i < c.len() && is_ident_char(c[i]) {
                out.push(c[i]);
                i += 1;
            }
        } else {
            out.push(ch);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Token {
    s: String,
    line: usize,
}

impl Token {
    fn is_ident(&self) -> bool {
        self.s.starts_with(is_ident_start)
    }
}

/// Identifiers (raw identifiers without `r#`), numbers, `::`, and single punctuation characters.
fn tokenize(stripped: &str) -> Vec<Token> {
    let c: Vec<char> = stripped.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if is_ident_char(ch) {
            if ch == 'r'
                && c.get(i + 1) == Some(&'#')
                && c.get(i + 2).is_some_and(|&x| is_ident_start(x))
            {
                i += 2;
            }
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            toks.push(Token {
                s: c[start..i].iter().collect(),
                line,
            });
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push(Token {
                s: "::".into(),
                line,
            });
            i += 2;
        } else {
            toks.push(Token {
                s: ch.to_string(),
                line,
            });
            i += 1;
        }
    }
    toks
}

/// A leaf of a `use` tree: its full path as written, the name it brings into scope (if any,
/// and not `_`), and its line.
type UseLeaf = (Vec<String>, Option<String>, usize);

/// Parses one use tree at `*i` (after `use`, or inside `{ }`), appending its leaves.
fn use_tree(toks: &[Token], i: &mut usize, mut prefix: Vec<String>, out: &mut Vec<UseLeaf>) {
    if toks.get(*i).is_some_and(|t| t.s == "::") {
        prefix.push("::".into()); // `::name`: an external crate
        *i += 1;
    }
    while let Some(t) = toks.get(*i) {
        match t.s.as_str() {
            "{" => {
                *i += 1;
                while let Some(t) = toks.get(*i) {
                    match t.s.as_str() {
                        "}" => {
                            *i += 1;
                            break;
                        }
                        "," => *i += 1,
                        _ => {
                            let before = *i;
                            use_tree(toks, i, prefix.clone(), out);
                            if *i == before {
                                *i += 1; // not a use tree: skip, never loop
                            }
                        }
                    }
                }
                return;
            }
            "*" => {
                *i += 1;
                out.push((prefix, None, t.line));
                return;
            }
            _ if t.is_ident() => {
                *i += 1;
                if toks.get(*i).is_some_and(|n| n.s == "::") {
                    prefix.push(t.s.clone());
                    *i += 1;
                    continue;
                }
                let (path, mut name) = if t.s == "self" && !prefix.is_empty() {
                    let name = prefix.last().cloned();
                    (prefix, name)
                } else {
                    prefix.push(t.s.clone());
                    (prefix, Some(t.s.clone()))
                };
                if toks.get(*i).is_some_and(|n| n.s == "as") {
                    name = toks.get(*i + 1).map(|n| n.s.clone()).filter(|n| n != "_");
                    *i += 2;
                }
                out.push((path, name, t.line));
                return;
            }
            _ => return,
        }
    }
}

/// Scans one file whose module path is `module` (`bin`: the file is `main.rs`, whose references
/// into the library are spelled `stackctl::…`).
fn parse(src: &str, module: &[String], bin: bool) -> Parsed {
    let toks = tokenize(&strip(src));
    // Paths as written, with the module scope they were written in.
    let mut raw: Vec<(Vec<String>, Vec<String>, usize)> = Vec::new();
    // Names brought into scope by `use`: (scope, name, path as written).
    let mut aliases: Vec<(Vec<String>, String, Vec<String>)> = Vec::new();
    // Child modules declared in this file (`mod x;` and `mod x { }`), absolute.
    let mut declared: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut inline_modules = Vec::new();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let scope = |stack: &[(String, usize)]| -> Vec<String> {
        module
            .iter()
            .cloned()
            .chain(stack.iter().map(|(n, _)| n.clone()))
            .collect()
    };
    let tok = |i: usize| toks.get(i).map_or("", |t| t.s.as_str());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.s.as_str() {
            "{" => depth += 1,
            "}" => {
                if stack.last().is_some_and(|(_, d)| *d == depth) {
                    stack.pop();
                }
                depth -= 1.min(depth);
            }
            "mod"
                if toks.get(i + 1).is_some_and(Token::is_ident)
                    && matches!(tok(i + 2), "{" | ";") =>
            {
                let name = toks[i + 1].s.clone();
                let mut abs = scope(&stack);
                abs.push(name.clone());
                declared.insert(abs.clone());
                if tok(i + 2) == "{" {
                    inline_modules.push(abs);
                    depth += 1;
                    stack.push((name, depth));
                }
                i += 3;
                continue;
            }
            "use" if tok(i + 1) != "<" => {
                // (`use<'a>` in a bound is precise capturing, not an import.)
                let here = scope(&stack);
                let mut leaves = Vec::new();
                i += 1;
                use_tree(&toks, &mut i, Vec::new(), &mut leaves);
                while i < toks.len() && toks[i].s != ";" && toks[i].s != "}" {
                    i += 1;
                }
                for (path, name, line) in leaves {
                    if let Some(name) = name {
                        aliases.push((here.clone(), name, path.clone()));
                    }
                    raw.push((path, here.clone(), line));
                }
                continue;
            }
            _ if t.is_ident()
                && tok(i + 1) == "::"
                && !matches!(i.checked_sub(1).map_or("", tok), "::" | "." | "'") =>
            {
                let mut path = vec![t.s.clone()];
                let mut j = i;
                while tok(j + 1) == "::" && toks.get(j + 2).is_some_and(Token::is_ident) {
                    path.push(toks[j + 2].s.clone());
                    j += 2;
                }
                raw.push((path, scope(&stack), t.line));
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }

    let resolver = Resolver {
        module,
        bin,
        declared: &declared,
        aliases: &aliases,
    };
    let refs = raw
        .into_iter()
        .filter_map(|(path, scope, line)| {
            resolver
                .resolve(&path, &scope, 0)
                .map(|path| Ref { path, line })
        })
        .collect();
    Parsed {
        refs,
        inline_modules,
    }
}

struct Resolver<'a> {
    module: &'a [String],
    bin: bool,
    declared: &'a BTreeSet<Vec<String>>,
    aliases: &'a [(Vec<String>, String, Vec<String>)],
}

impl Resolver<'_> {
    /// The absolute library path `path` (written in module `scope`) names, or None when it is
    /// not a path into the library (std, another crate, a local item).
    fn resolve(&self, path: &[String], scope: &[String], hops: usize) -> Option<Vec<String>> {
        let first = path.first()?.as_str();
        let rest = || path[1..].to_vec();
        match first {
            "crate" => (!self.bin).then(rest),
            "stackctl" if self.bin => Some(rest()),
            "self" if !self.bin => Some([scope, &path[1..]].concat()),
            "super" if !self.bin => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                let base = scope.len().checked_sub(ups)?;
                Some([&scope[..base], &path[ups..]].concat())
            }
            "::" | "self" | "super" => None,
            _ if !self.bin && self.declared.contains(&[scope, &path[..1]].concat()) => {
                Some([scope, path].concat())
            }
            _ if hops < 8 => {
                // A name a `use` brought in: in this scope, else in an enclosing one (what
                // `use super::*` would bring).
                let floor = if self.bin {
                    0
                } else {
                    self.module.len().min(scope.len())
                };
                (floor..=scope.len()).rev().find_map(|n| {
                    let (_, _, target) = self
                        .aliases
                        .iter()
                        .find(|(s, name, _)| s.as_slice() == &scope[..n] && name == first)?;
                    let full = [target.as_slice(), &path[1..]].concat();
                    self.resolve(&full, &scope[..n], hops + 1)
                })
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parser, proven on small snippets before it is trusted with src/.
// ---------------------------------------------------------------------------------------------

fn m(path: &str) -> Vec<String> {
    if path.is_empty() {
        return vec![];
    }
    path.split("::").map(String::from).collect()
}

/// The references of `src` (in module `module`), as `a::b` strings, in order.
fn refs(src: &str, module: &str) -> Vec<String> {
    parse(src, &m(module), false)
        .refs
        .iter()
        .map(|r| r.path.join("::"))
        .collect()
}

#[test]
fn grouped_multi_line_use() {
    let src = "
        pub use crate::a::{
            b::{c, d::e},
            f as g,
            self,
        };
        pub(crate) use crate::h::*;
        use crate::{i::I, j};
        fn x() { g::run(); }
    ";
    assert_eq!(
        refs(src, "z"),
        [
            "a::b::c",
            "a::b::d::e",
            "a::f",
            "a",
            "h",
            "i::I",
            "j",
            "a::f::run"
        ]
    );
}

#[test]
fn use_brings_names_that_later_paths_go_through() {
    let src = "
        use crate::components::{self, kafka::Kafka};
        use serde::Serialize;
        use std::fmt;
        fn f() { components::hbase::HBase::x(); Kafka::scala(); fmt::format(); Serialize::f(); }
        fn g<T>() -> impl Iterator<Item = T> + use<T> { todo!() }
    ";
    assert_eq!(
        refs(src, "plan"),
        [
            "components",
            "components::kafka::Kafka",
            "components::hbase::HBase::x",
            "components::kafka::Kafka::scala"
        ]
    );
}

#[test]
fn super_resolves_against_the_files_module() {
    // components/kafka.rs: `super` is `components`.
    let src = "use super::zookeeper::{self, ZooKeeper};\nfn f() { super::home_dir(); }";
    assert_eq!(
        refs(src, "components::kafka"),
        [
            "components::zookeeper",
            "components::zookeeper::ZooKeeper",
            "components::home_dir"
        ]
    );
    // components/kafka/live.rs: `super` is `components::kafka`, `super::super` is `components`.
    let src = "use super::Kafka; use super::super::Cluster; fn f() { self::g(); }";
    assert_eq!(
        refs(src, "components::kafka::live"),
        [
            "components::kafka::Kafka",
            "components::Cluster",
            "components::kafka::live::g"
        ]
    );
    // Inside an inline module, `super` is the file's own module.
    let src = "fn a() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn t() { super::a(); }\n}\nfn b() { super::c(); }";
    let p = parse(src, &m("remote::facts"), false);
    let got: Vec<_> = p.refs.iter().map(|r| (r.path.join("::"), r.line)).collect();
    assert_eq!(
        got,
        [
            ("remote::facts".into(), 4),
            ("remote::facts::a".into(), 5),
            ("remote::c".into(), 7)
        ]
    );
    assert_eq!(p.inline_modules, [m("remote::facts::tests")]);
}

#[test]
fn comments_and_strings_are_ignored() {
    let src = r####"
        // use crate::line_comment;
        /// [`crate::doc_comment`]
        //! crate::inner_doc
        /* crate::block /* crate::nested */ crate::still_block */
        fn f(x: &'static str) -> char {
            let a = "crate::string \" crate::escaped";
            let b = r#"crate::raw "quoted" crate::raw2"#;
            let c = br##"crate::raw_bytes "# "##;
            let d = b"crate::bytes";
            let e = '"'; crate::after_char_quote::f();
            let g = '\''; let h = b'"'; crate::after_byte_quote::f();
            let _ = format!("{}", crate::in_macro::X);
            'outer: loop { break 'outer; }
            crate::after_label::f()
        }
    "####;
    assert_eq!(
        refs(src, "z"),
        [
            "after_char_quote::f",
            "after_byte_quote::f",
            "in_macro::X",
            "after_label::f"
        ]
    );
}

#[test]
fn strip_keeps_lines() {
    let src = "/* a\nb */ x\n\"c\nd\" crate::y::z";
    let p = parse(src, &m("q"), false);
    assert_eq!(
        p.refs,
        [Ref {
            path: m("y::z"),
            line: 4
        }]
    );
}

#[test]
fn inline_crate_paths() {
    let src = "
        pub(crate) fn f() -> i32 {
            let v: Vec<crate::a::B> = crate::a::b::f::<u8>(1);
            if crate::exit::OK == 0 { crate::c::D { x: 1 }; }
            x.crate_like::y; // a field, then a path-like tail: not a reference
            std::process::exit(crate::exit::FAILED)
        }
        pub(in crate::scope) struct S;
    ";
    assert_eq!(
        refs(src, "z"),
        [
            "a::B",
            "a::b::f",
            "exit::OK",
            "c::D",
            "exit::FAILED",
            "scope"
        ]
    );
}

#[test]
fn child_modules_are_children_and_declarations_are_not_references() {
    // inventory/mod.rs
    let src = "mod load;\npub mod raw;\npub use load::{load, load_str};\nfn f() { raw::pos(); }";
    assert_eq!(
        refs(src, "inventory"),
        [
            "inventory::load::load",
            "inventory::load::load_str",
            "inventory::raw::pos"
        ]
    );
    // A name that is neither a child nor imported is somebody else's (a local item, a crate).
    assert_eq!(
        refs("fn f() { load::x(); Self::y(); }", "inventory"),
        Vec::<String>::new()
    );
}

#[test]
fn main_uses_the_library_through_stackctl() {
    let src = "
        use stackctl::deploy::{self, UpOptions};
        use stackctl::exit;
        mod local { pub fn f() {} }
        fn main() { deploy::up(); stackctl::transport::cleanup(); crate::local::f(); exit::OK; }
    ";
    let p = parse(src, &m("main"), true);
    let got: Vec<String> = p.refs.iter().map(|r| r.path.join("::")).collect();
    assert_eq!(
        got,
        [
            "deploy",
            "deploy::UpOptions",
            "exit",
            "deploy::up",
            "transport::cleanup",
            "exit::OK"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The rules, proven on a small in-memory tree (with the real LAYERS).
// ---------------------------------------------------------------------------------------------

#[test]
fn rules_on_a_small_tree() {
    let tree = [
        (
            "src/lib.rs",
            "pub mod compat; pub mod components; pub mod deploy; pub mod stray;\n\
                        pub use components::Cluster;\n\
                        pub mod exit { pub const OK: i32 = 0; }",
        ),
        (
            "src/main.rs",
            "use stackctl::deploy; use stackctl::Cluster; fn main() { deploy::up(); }",
        ),
        // Down (components -> compat is rank 4 -> 3) and to the exit codes: fine.
        (
            "src/compat/detect.rs",
            "use super::Link; fn f() -> i32 { crate::exit::OK }",
        ),
        // Up: compat -> components. Its own child: fine. A root re-export: not fine.
        (
            "src/compat/mod.rs",
            "pub mod detect;\nuse detect::f;\nuse crate::components::{self, kafka::Kafka};\n\
                               fn g(_: crate::Cluster) {}",
        ),
        ("src/components/core.rs", "use crate::compat::detect;"),
        // A component may use the core and another component, but not the registry.
        (
            "src/components/kafka.rs",
            "use super::core::Component; use super::zookeeper::Zk;\n\
                                     fn f() { super::Cluster::new(); }",
        ),
        (
            "src/components/zookeeper/mod.rs",
            "mod live; pub fn f() { live::g() }",
        ),
        (
            "src/components/zookeeper/live.rs",
            "use super::ZooKeeper; use crate::components::kafka;",
        ),
        (
            "src/components/mod.rs",
            "pub mod core; pub mod kafka; pub mod zookeeper;\n\
                                   use crate::compat::Link; use kafka::Kafka;",
        ),
        // Within deploy/: changes is lowest.
        (
            "src/deploy/changes.rs",
            "use super::walk::step; use crate::deploy::Up;",
        ),
        ("src/deploy/walk.rs", "use super::changes::Change;"),
        (
            "src/deploy/mod.rs",
            "mod changes; mod walk; use walk::step;",
        ),
        ("src/stray.rs", "use crate::compat;"),
    ];
    let files: Vec<(String, String)> = tree
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let outcome = check(&files);
    assert_eq!(
        outcome.problems,
        [
            "src/compat/mod.rs imports crate::components (src/components/mod.rs, rank 4) from rank 3: imports must point down",
            "src/compat/mod.rs imports crate::components::kafka (src/components/kafka.rs, rank 4) from rank 3: imports must point down",
            "src/components/kafka.rs imports crate::components (src/components/mod.rs, rank 4.2) from rank 4.1: imports must point down",
            "src/deploy/changes.rs imports crate::deploy (src/deploy/mod.rs, rank 7.5) from rank 7.0: imports must point down",
            "src/deploy/changes.rs imports crate::deploy::walk (src/deploy/walk.rs, rank 7.4) from rank 7.0: imports must point down",
            "src/compat/mod.rs imports crate::Cluster (src/lib.rs, the crate root): import it from the module that defines it; re-exports at the root hide the layering",
            "src/stray.rs (module `stray`) is not in the rank table: add it to LAYERS at the top of tests/layering.rs",
            // zookeeper/mod.rs -> live.rs -> mod.rs is no cycle: a parent naming its child
            // belongs to the module tree.
            "import cycle: src/compat/detect.rs -> src/compat/mod.rs -> src/components/kafka.rs -> src/components/core.rs -> src/compat/detect.rs (one of the cycles among these 5 files: src/compat/detect.rs, src/compat/mod.rs, src/components/core.rs, src/components/kafka.rs, src/components/mod.rs)",
            "import cycle: src/deploy/changes.rs -> src/deploy/walk.rs -> src/deploy/changes.rs",
        ]
    );
}

#[test]
fn rank_table_lookup() {
    assert_eq!(rank_of(&m("components::core")), Some((4, 0)));
    assert_eq!(rank_of(&m("components::hbase")), Some((4, 1)));
    assert_eq!(rank_of(&m("components::hbase::live")), Some((4, 1)));
    assert_eq!(rank_of(&m("components")), Some((4, 2)));
    assert_eq!(rank_of(&m("output::plan_text")), Some((9, 0)));
    assert_eq!(rank_of(&m("remote::new_thing")), None);
    assert_eq!(rank_of(&m("componentsx")), None);
    assert_eq!(
        module_of("src/components/zookeeper/mod.rs"),
        (m("components::zookeeper"), false)
    );
    assert_eq!(module_of("src/lib.rs"), (vec![], false));
    assert_eq!(module_of("src/main.rs"), (m("main"), true));
}
