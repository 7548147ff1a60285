//! Reading an inventory file: YAML shape first, then the rules that need no component knowledge.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::catalog::{Catalog, SettingKind};
use super::raw::{pos, Node, RawHost, RawInventory, RawSettings, S};
use super::shape;
use super::text::{self, TextRule};
use super::{ComponentSpec, Host, Inventory, ProbeVia, Prop, RoleRef, Setting};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, InvalidInput, Pos};
use crate::version::{JavaVersion, Version};

/// Loads and validates the inventory at `path`. Warnings are returned with the inventory;
/// any error makes the whole load fail with every diagnostic found.
///
/// `-` reads standard input; the inventory's path is then `<stdin>` ([`STDIN`]), which has no
/// lock file beside it.
pub fn load(path: &Path, cat: &Catalog) -> Result<(Inventory, Diagnostics), InvalidInput> {
    let stdin = path == Path::new("-");
    let path = if stdin { Path::new(STDIN) } else { path };
    let read = if stdin {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    let bytes = read.map_err(|e| {
        single(
            path,
            Pos::default(),
            "",
            format!("cannot read inventory: {e}"),
            None,
        )
    })?;
    if bytes.contains(&0) {
        return Err(single(
            path,
            Pos::default(),
            "",
            "this is a binary file, not a YAML inventory".into(),
            Some("pass the inventory's .yml file with -i".into()),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        single(
            path,
            Pos::new(line, 1),
            "",
            "the inventory is not valid UTF-8 text".into(),
            None,
        )
    })?;
    load_str(path, text, cat)
}

/// The path of an inventory read from standard input (`-i -`).
pub const STDIN: &str = "<stdin>";

pub fn load_str(
    path: &Path,
    text: String,
    cat: &Catalog,
) -> Result<(Inventory, Diagnostics), InvalidInput> {
    let fail = |diagnostics: Diagnostics, text: &str| InvalidInput {
        diagnostics,
        source: Some(text.to_string()),
    };
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        let mut d = Diagnostics::default();
        d.push(
            Diagnostic::error(path, Pos::default(), "", "the inventory is empty")
                .with_help("an inventory needs at least `cluster:`, `components:` and `hosts:`; see inventories/ for examples"),
        );
        return Err(fail(d, &text));
    }
    let (raw, shaped) = match parse_yaml(path, &text).map_err(|d| fail(d, &text))? {
        Parsed::Clean(raw) => (raw, None),
        Parsed::Shaped(s, d) => (s.raw, Some((s.poisoned, d))),
    };
    let mut diags = Diagnostics::default();
    let inv = resolve(path, &text, raw, cat, &mut diags);
    if let Some((poisoned, shape_errors)) = shaped {
        // The shape mistakes, and the other errors of the sound part: every independent
        // mistake in one run. Warnings and errors about what was left out would only echo them.
        let echoes = |field: &str| {
            poisoned.iter().any(|p| {
                let any_host = p.strip_prefix("*.").is_some_and(|k| {
                    field.starts_with("hosts[") && field.ends_with(&format!("].{k}"))
                });
                any_host
                    || field == p
                    || field
                        .strip_prefix(p.as_str())
                        .is_some_and(|r| r.starts_with(['.', '[']))
            })
        };
        diags.0.retain(|d| d.is_error() && !echoes(&d.field));
        diags.extend(shape_errors);
        diags.sort();
        return Err(fail(dedup(diags), &text));
    }
    if !diags.has_errors() {
        (cat.validate)(&inv, &mut diags);
    }
    diags.sort();
    let diags = dedup(diags);
    if diags.has_errors() {
        return Err(fail(diags, &text));
    }
    Ok((inv, diags))
}

/// A mistake in `defaults:` is found once per host that inherits it: report it once, for the
/// field where it is written. Diagnostics are sorted, so repeats are neighbours.
fn dedup(diags: Diagnostics) -> Diagnostics {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.0.len());
    for d in diags.0 {
        if let Some(last) = out.last_mut() {
            if d.pos.is_known()
                && last.pos == d.pos
                && last.message == d.message
                && last.file == d.file
            {
                if let Some((_, setting)) = last.field.split_once("].") {
                    if last.field.starts_with("hosts[") {
                        last.field = format!("defaults.{setting}");
                    }
                }
                continue;
            }
        }
        out.push(d);
    }
    Diagnostics(out)
}

fn single(path: &Path, pos: Pos, field: &str, msg: String, help: Option<String>) -> InvalidInput {
    let mut d = Diagnostic::error(path, pos, field, msg);
    d.help = help;
    let mut ds = Diagnostics::default();
    ds.push(d);
    InvalidInput {
        diagnostics: ds,
        source: None,
    }
}

enum Parsed {
    Clean(RawInventory),
    /// serde found a shape mistake; `shape` found them all, and the sound part.
    Shaped(shape::Shaped, Diagnostics),
}

fn parse_yaml(path: &Path, text: &str) -> Result<Parsed, Diagnostics> {
    // serde_path_to_error tracks the field path; serde-saphyr rejects duplicate keys and gives
    // the position. The path is stashed outside the closure because the closure's error type is
    // serde-saphyr's own.
    // Path tracking costs a quarter of a 1,000-host plan, so it runs only to explain an error.
    let e = match serde_saphyr::from_str::<RawInventory>(text) {
        Ok(raw) => return Ok(Parsed::Clean(raw)),
        Err(e) => e,
    };
    if let Some(d) = parser_limit(path, text, &e) {
        let mut ds = Diagnostics::default();
        ds.push(d);
        return Err(ds);
    }
    // A shape mistake: read the file again as a generic tree and check every field by hand.
    match serde_saphyr::from_str::<S<Node>>(text) {
        Ok(root) => {
            let mut d = Diagnostics::default();
            match shape::convert(path, text, root, &mut d) {
                Some(shaped) if d.has_errors() => return Ok(Parsed::Shaped(shaped, d)),
                None if d.has_errors() => return Err(d),
                _ => {}
            }
        }
        // serde stops at the first field it cannot use, which may come before a syntax error
        // further on (a key indented wrongly reads as "missing field"): the syntax error is
        // the mistake to report.
        Err(e2) => {
            if let Some(d) = parser_limit(path, text, &e2) {
                let mut ds = Diagnostics::default();
                ds.push(d);
                return Err(ds);
            }
            let (mut message, mut help) = explain_yaml_error(&e2);
            if message.starts_with("while parsing") || message.starts_with("while scanning") {
                let at = e2
                    .location()
                    .map(|l| Pos::from_saphyr(&l))
                    .unwrap_or_default();
                if message.contains("did not find expected '-' indicator")
                    || message.contains("did not find expected key")
                {
                    let lines: Vec<&str> = text.lines().collect();
                    let prev = lines[..(at.line.max(1) as usize - 1).min(lines.len())]
                        .iter()
                        .enumerate()
                        .rev()
                        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
                    message = "this line is indented differently from the lines above it, so YAML cannot tell what it belongs to".into();
                    help = Some(match prev {
                        Some((i, l)) => {
                            let body = l.trim_start().trim_start_matches("- ");
                            let col = l.len() - body.len() + 1;
                            format!("YAML nests by indentation: to belong with line {} (its key starts at column {col}), start this line at column {col} too", i + 1)
                        }
                        None => {
                            "YAML nests by indentation: line it up with the keys it belongs with"
                                .into()
                        }
                    });
                }
                let mut ds = Diagnostics::default();
                let mut d = Diagnostic::error(path, at, "", message);
                d.help = help;
                ds.push(d);
                return Err(ds);
            }
        }
    }
    let field_path: RefCell<String> = RefCell::new(String::new());
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize::<_, RawInventory>(de).map_err(|e| {
            *field_path.borrow_mut() = e.path().to_string();
            e.into_inner()
        })
    });
    let e = match result {
        Err(tracked) => tracked,
        Ok(_) => e,
    };
    Err({
        let pos = e
            .location()
            .map(|l| Pos::from_saphyr(&l))
            .unwrap_or_default();
        let (message, help) = explain_yaml_error(&e);
        let mut field = clean_path(&field_path.into_inner());
        let syntax = message.starts_with("while parsing") || message.starts_with("while scanning");
        if syntax {
            // A YAML syntax error is found where the parser gave up, often a line after the
            // mistake; a field name would mislead.
            field.clear();
        } else if field.contains('?') || field.is_empty() {
            // Inside generic mappings serde cannot name the key; read it off the text instead.
            if let Some(p) = yaml_path_at(text, pos) {
                field = p;
            }
        }
        let mut d = Diagnostics::default();
        let mut diag = Diagnostic::error(path, pos, field, message);
        diag.help = help;
        d.push(diag);
        d
    })
}

/// Errors where the parser's own words would leak (a second document, the node budget) or its
/// position is a line early (a tab): said in the operator's words, at the line to change.
fn parser_limit(path: &Path, text: &str, e: &serde_saphyr::Error) -> Option<Diagnostic> {
    let full = e.to_string();
    let at = e
        .location()
        .map(|l| Pos::from_saphyr(&l))
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if full.contains("multiple YAML documents") {
        // The `---` that starts the second document (the first may open the file).
        let mut seen_content = false;
        let mut sep = None;
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_end();
            if t == "---" || t.starts_with("--- ") {
                if seen_content {
                    sep = Some(i as u64 + 1);
                    break;
                }
            } else if !t.trim().is_empty() && !t.trim_start().starts_with('#') {
                seen_content = true;
            }
        }
        return Some(
            Diagnostic::error(
                path,
                sep.map_or(at, |l| Pos::new(l, 1)),
                "",
                "a `---` line starts a second YAML document; an inventory is one document",
            )
            .with_help("remove the `---` line and merge what follows into the inventory above, or make it a separate inventory file"),
        );
    }
    if full.contains("budget breached") {
        return Some(
            Diagnostic::error(
                path,
                at,
                "",
                "the inventory is too large: it expands to more than 250,000 YAML values (an alias `*name` counts its whole anchor each time it is used)",
            )
            .with_help("an inventory of thousands of hosts stays far below this; look for aliases used inside other anchors (`&b [*a, *a, ...]`), which multiply"),
        );
    }
    if full.contains("found a tab") || full.contains("tabs") {
        // The parser reports where the token before the tab ended; the tab is on a later line.
        let from = (at.line.max(1) - 1) as usize;
        for (i, l) in lines.iter().enumerate().skip(from) {
            let indent: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            if let Some(col) = indent.find('\t') {
                return Some(
                    Diagnostic::error(
                        path,
                        Pos::new(i as u64 + 1, col as u64 + 1),
                        "",
                        "a tab indents this line; YAML indents with spaces only",
                    )
                    .with_help("replace the tab with spaces, so that the key lines up with the keys it belongs with"),
                );
            }
        }
    }
    None
}

/// serde-saphyr's messages are good but speak of Rust types; turn the common ones into
/// inventory language.
fn explain_yaml_error(e: &serde_saphyr::Error) -> (String, Option<String>) {
    let full = e.to_string();
    // The Display form may carry its own snippet; the first line is the message.
    let first = full.lines().next().unwrap_or("").trim().to_string();
    let mut msg = first.strip_prefix("error: ").unwrap_or(&first).to_string();
    msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    // Drop the position prefix (we print our own) and advice meant for Rust programmers.
    if let Some(rest) = msg.strip_prefix("line ") {
        if let Some(i) = rest.find(": ") {
            if rest[..i]
                .split(' ')
                .all(|w| w == "column" || w.chars().all(|c| c.is_ascii_digit()))
            {
                msg = rest[i + 2..].to_string();
            }
        }
    }
    msg = msg.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    for (rust, plain) in [
        ("invalid u64", "expected a whole number"),
        ("invalid i64", "expected a whole number"),
        ("invalid type: ", "wrong type: "),
    ] {
        msg = msg.replace(rust, plain);
    }
    let help = if msg.contains("duplicate") {
        Some("each key may appear once in a mapping; merge the two entries (many YAML tools silently keep only the last one)".to_string())
    } else if let Some(rest) = msg.strip_prefix("unknown field `") {
        let given = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = msg
            .split("expected one of ")
            .nth(1)
            .unwrap_or("")
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .collect();
        Some(match did_you_mean(given, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "check the spelling; see inventories/ for every field an inventory accepts"
                .to_string(),
        })
    } else if msg.contains("missing field") {
        Some("add the field; see inventories/ for complete examples".to_string())
    } else if msg.starts_with("while parsing") || msg.starts_with("while scanning") {
        Some("YAML syntax: check the brackets, quotes and indentation on this line and the one before".to_string())
    } else {
        None
    };
    (msg, help)
}

/// `hosts.value[0].value.adress` -> `hosts[0].adress`: `Spanned` adds `value` levels.
fn clean_path(p: &str) -> String {
    if p == "." {
        return String::new();
    }
    let parts: Vec<&str> = p
        .split('.')
        .filter(|s| *s != "value")
        .map(|s| s.strip_prefix("value").unwrap_or(s))
        .collect();
    let mut out = String::new();
    for part in parts {
        if part.starts_with('[') || out.is_empty() {
            out.push_str(part);
        } else {
            out.push('.');
            out.push_str(part);
        }
    }
    out
}

/// The field path of the key at `pos`, read from block-style YAML by indentation: the keys of
/// the enclosing mappings, with list indices. Used where serde cannot name a map key.
fn yaml_path_at(text: &str, pos: Pos) -> Option<String> {
    struct Line {
        indent: usize,
        dash: Option<usize>,
        key_col: usize,
        key: Option<String>,
    }
    fn parse(l: &str) -> Line {
        let indent = l.len() - l.trim_start_matches(' ').len();
        let rest = &l[indent..];
        let (dash, body, key_col) = match rest.strip_prefix("- ") {
            Some(after) => {
                let pad = after.len() - after.trim_start().len();
                (Some(indent), after.trim_start(), indent + 2 + pad)
            }
            None => (None, rest, indent),
        };
        let key = body
            .split_once(':')
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.contains(['{', '[', ' ']));
        Line {
            indent,
            dash,
            key_col,
            key,
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let idx = (pos.line as usize).checked_sub(1)?;
    let first = parse(lines.get(idx)?);
    let mut path = vec![first.key?];
    let mut col = first.key_col;
    // The dash column of the list item we are inside, while its index is being counted.
    let mut item: Option<(usize, usize)> = first.dash.map(|d| (d, 0));
    for l in lines[..idx].iter().rev() {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let line = parse(l);
        if let Some((dc, count)) = item {
            if line.dash == Some(dc) {
                item = Some((dc, count + 1));
                continue;
            }
            if line.indent > dc {
                continue;
            }
            path.push(format!("[{count}]"));
            item = None;
            match line.key {
                Some(k) => {
                    path.push(k);
                    col = line.key_col;
                    item = line.dash.map(|d| (d, 0));
                }
                None => break,
            }
            continue;
        }
        if line.indent >= col {
            continue;
        }
        match (line.dash, line.key) {
            // Our key is a sibling of this item's first key: we are inside this list item.
            (Some(dc), _) if line.key_col == col => item = Some((dc, 0)),
            (dash, Some(k)) if line.key_col < col => {
                path.push(k);
                col = line.key_col;
                item = dash.map(|d| (d, 0));
            }
            _ => break,
        }
    }
    if let Some((_, count)) = item {
        path.push(format!("[{count}]"));
    }
    path.reverse();
    let mut out = String::new();
    for p in path {
        if !out.is_empty() && !p.starts_with('[') {
            out.push('.');
        }
        out.push_str(&p);
    }
    Some(out)
}

const DEFAULT_INSTALL_DIR: &str = "/opt/stack";
const DEFAULT_DATA_DIR: &str = "/data/stack";
const DEFAULT_LOG_DIR: &str = "/var/log/stack";

struct Ctx<'a> {
    path: &'a Path,
    cat: &'a Catalog,
    diags: &'a mut Diagnostics,
}

impl Ctx<'_> {
    fn error(
        &mut self,
        pos: Pos,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(self.path, pos, field, msg));
        self.diags.0.last_mut().expect("just pushed")
    }
    fn warning(
        &mut self,
        pos: Pos,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::warning(self.path, pos, field, msg));
        self.diags.0.last_mut().expect("just pushed")
    }
}

fn resolve(
    path: &Path,
    text: &str,
    raw: RawInventory,
    cat: &Catalog,
    diags: &mut Diagnostics,
) -> Inventory {
    let mut cx = Ctx { path, cat, diags };
    let cluster = raw.cluster.value.trim().to_string();
    if !valid_name(&cluster) {
        cx.error(
            pos(&raw.cluster),
            "cluster",
            format!("cluster name `{cluster}` is not valid"),
        )
        .help = Some(format!("a cluster name accepts {}", text::NAME.accepts));
    }
    let defaults = raw.defaults.map(|d| d.value).unwrap_or_default();
    let mut broken = Vec::new();
    let components = resolve_components(
        &mut cx,
        raw.components.map(|c| c.value.0).unwrap_or_default(),
        &mut broken,
    );
    if raw.hosts.value.is_empty() && raw.host_index.is_empty() {
        cx.error(pos(&raw.hosts), "hosts", "the inventory has no hosts")
            .help = Some("list at least one host with a name, an address and roles".into());
    }
    let index = raw.host_index;
    let hosts: Vec<Host> = raw
        .hosts
        .value
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            resolve_host(
                &mut cx,
                index.get(i).copied().unwrap_or(i),
                h.value,
                &defaults,
            )
        })
        .collect();
    check_uniqueness(&mut cx, &hosts);
    check_roles_against_components(&mut cx, &hosts, &components, &broken);
    let by_role = Inventory::index_roles(&hosts);
    let mut secret_keys = Vec::new();
    for k in raw.secret_keys.map(|k| k.value).unwrap_or_default() {
        let pattern = k.value.trim().to_string();
        let ok = !pattern.is_empty()
            && pattern.chars().any(|c| c != '*')
            && pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-*".contains(c));
        if ok {
            secret_keys.push(pattern);
        } else {
            cx.error(
                pos(&k),
                "secret_keys",
                format!("`{}` is not a key pattern", k.value),
            )
            .help = Some(
                "a key pattern is letters, digits, `.`, `_`, `-` and `*` (any run of characters), e.g. `my.app.*.token`"
                    .into(),
            );
        }
    }
    let mirror = raw.mirror.and_then(|m| {
        let base = path.parent().unwrap_or(Path::new("."));
        match crate::dist::Mirror::parse(&m.value, base) {
            Ok(mirror) => Some((mirror, pos(&m))),
            Err(e) => {
                cx.error(pos(&m), "mirror", e).help = Some(format!(
                    "write a base laid out like the Apache archive: `mirror: {}`, `mirror: file:///srv/apache` or a directory",
                    crate::dist::DEFAULT_MIRROR
                ));
                None
            }
        }
    });
    Inventory {
        mirror,
        secret_keys,
        path: path.to_path_buf(),
        source: text.to_string(),
        cluster,
        hosts,
        components,
        by_role,
    }
}

pub(crate) fn valid_name(s: &str) -> bool {
    text::NAME.accepts_text(s)
}

/// Reports `s` at `p` when it breaks `rule`; true when it passed.
fn check_text(cx: &mut Ctx, rule: &TextRule, s: &str, p: Pos, field: &str) -> bool {
    match rule.check(s) {
        Ok(()) => true,
        Err((msg, help)) => {
            cx.error(p, field, msg).help = Some(help);
            false
        }
    }
}

/// `broken` collects components that were declared but are in error, so roles using them are
/// not reported a second time as "not declared".
fn resolve_components(
    cx: &mut Ctx,
    entries: Vec<(S<String>, S<Node>)>,
    broken: &mut Vec<&'static str>,
) -> BTreeMap<&'static str, ComponentSpec> {
    let cat = cx.cat;
    let mut out = BTreeMap::new();
    for (key, node) in entries {
        let field = format!("components.{}", key.value);
        let Some(component) = cat.component(&key.value) else {
            let d = cx.error(
                pos(&key),
                field,
                format!("unknown component `{}`", key.value),
            );
            d.help = Some(match did_you_mean(&key.value, cat.names().into_iter()) {
                Some(s) => format!(
                    "did you mean `{s}`? stackctl deploys: {}",
                    cat.names().join(", ")
                ),
                None => format!("stackctl deploys: {}", cat.names().join(", ")),
            });
            continue;
        };
        let node_pos = pos(&node);
        let entries = match node.value {
            Node::Map(entries) => entries,
            other => {
                cx.error(
                    node_pos,
                    field,
                    format!(
                        "expected a mapping with at least `version:`, found {}",
                        other.kind()
                    ),
                );
                continue;
            }
        };
        let mut version = None;
        let mut archive = None;
        let mut archive_url = None;
        let mut settings = BTreeMap::new();
        for (k, v) in entries {
            let kfield = format!("{field}.{}", k.value);
            match k.value.as_str() {
                "version" => match &v.value {
                    Node::Float(f) => {
                        broken.push(component.name);
                        cx.error(pos(&v), kfield, format!("the version is an unquoted number, which YAML reads as {f} (it turns 2.10 into 2.1)"))
                            .help = Some("quote it: `version: \"2.10\"`".into());
                    }
                    Node::Scalar(s) => match Version::parse(s) {
                        Ok(ver) => {
                            // The qualifier names the distribution's directory and heads every
                            // file: no line break, no `/` or `..`, no `--`.
                            let q = ver.qualifier.as_deref().unwrap_or("");
                            if check_text(cx, &text::VERSION_QUALIFIER, q, pos(&v), &kfield) {
                                version = Some((ver, pos(&v)));
                            } else {
                                broken.push(component.name);
                            }
                        }
                        Err(e) => {
                            broken.push(component.name);
                            cx.error(pos(&v), kfield, e);
                        }
                    },
                    other => {
                        cx.error(
                            pos(&v),
                            kfield,
                            format!(
                                "expected a version such as \"3.5.6\", found {}",
                                other.kind()
                            ),
                        );
                    }
                },
                "archive" => match &v.value {
                    Node::Scalar(s) if !s.trim().is_empty() => match archive_url_of(s) {
                        Ok(Some(url)) => archive_url = Some((url, pos(&v))),
                        Ok(None) => archive = Some((resolve_archive(cx.path, s), pos(&v))),
                        Err(e) => {
                            cx.error(pos(&v), kfield, e).help = Some(
                                "write a path to the tarball (or its unpacked directory), an http(s) URL, or leave `archive:` out to fetch the official release"
                                    .into(),
                            );
                        }
                    },
                    other => {
                        cx.error(
                            pos(&v),
                            kfield,
                            format!(
                                "expected a path to a tarball or directory, found {}",
                                other.kind()
                            ),
                        );
                    }
                },
                key => {
                    let Some(def) = component.settings.iter().find(|s| s.key == key) else {
                        let mut known: Vec<&str> = vec!["version", "archive"];
                        known.extend(component.settings.iter().map(|s| s.key));
                        let d = cx.error(
                            pos(&k),
                            kfield,
                            format!("unknown field `{key}` for component `{}`", component.name),
                        );
                        d.help = Some(match did_you_mean(key, known.iter().copied()) {
                            Some(s) => format!(
                                "did you mean `{s}`? `{}` accepts: {}",
                                component.name,
                                known.join(", ")
                            ),
                            None => format!("`{}` accepts: {}", component.name, known.join(", ")),
                        });
                        continue;
                    };
                    let p = pos(&v);
                    let setting = match (def.kind, v.value) {
                        (SettingKind::Scalar, Node::Float(f)) if key == "scala" => {
                            cx.error(p, kfield, format!("the Scala version is an unquoted number, which YAML reads as {f} (it turns 2.10 into 2.1)"))
                                .help = Some("quote it: `scala: \"2.12\"`".into());
                            continue;
                        }
                        (SettingKind::Scalar, Node::Scalar(s) | Node::Float(s)) => {
                            if !check_text(cx, &text::SETTING, &s, p, &kfield) {
                                continue;
                            }
                            Setting::Scalar(s, p)
                        }
                        (SettingKind::Map, Node::Map(props)) => {
                            Setting::Map(props_of(cx, &kfield, props), p)
                        }
                        (SettingKind::Map, Node::Null) => Setting::Map(Vec::new(), p),
                        (kind, other) => {
                            let want = match kind {
                                SettingKind::Scalar => "a single value",
                                SettingKind::Map => "a mapping of property: value",
                            };
                            cx.error(
                                p,
                                kfield,
                                format!("expected {want}, found {}", other.kind()),
                            );
                            continue;
                        }
                    };
                    settings.insert(key.to_string(), setting);
                }
            }
        }
        let Some((version, version_pos)) = version else {
            broken.push(component.name);
            if !cx
                .diags
                .errors()
                .any(|d| d.field == format!("{field}.version"))
            {
                cx.error(
                    pos(&key),
                    format!("{field}.version"),
                    format!("component `{}` has no `version`", component.name),
                )
                .help = Some(format!(
                    "add e.g. `version: \"{}\"`",
                    component.example_version
                ));
            }
            continue;
        };
        if out.contains_key(component.name) {
            // The YAML layer rejects duplicate keys; this guards against `kafka` and `Kafka`-like
            // aliases should a component ever accept one.
            cx.error(
                pos(&key),
                field,
                format!("component `{}` is declared twice", component.name),
            );
            continue;
        }
        out.insert(
            component.name,
            ComponentSpec {
                name: component.name,
                pos: pos(&key),
                version,
                version_pos,
                archive,
                archive_url,
                settings,
            },
        );
    }
    out
}

/// `archive:` as a URL: `Some` for http(s) (fetched), `None` for a path (`file://` is one);
/// any other scheme is an error.
fn archive_url_of(s: &str) -> Result<Option<String>, String> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let host = s.split_once("://").map_or("", |(_, r)| r);
        if host.split('/').next().unwrap_or("").is_empty() || s.contains(char::is_whitespace) {
            return Err(format!("`{s}` is not a usable URL"));
        }
        if host.split('/').next_back().unwrap_or("").is_empty() {
            return Err(format!("`{s}` names a directory, not an archive"));
        }
        return Ok(Some(s.to_string()));
    }
    match s.split_once("://") {
        Some(("file", _)) => Ok(None),
        Some((scheme, _)) if !scheme.contains('/') => Err(format!(
            "unsupported scheme `{scheme}://` in `{s}`: an archive is a path or an http(s) URL"
        )),
        _ => Ok(None),
    }
}

/// Relative archive paths are relative to the inventory file, like Cargo's `path =`.
fn resolve_archive(inventory: &Path, archive: &str) -> PathBuf {
    let archive = archive.trim();
    let p = PathBuf::from(archive.strip_prefix("file://").unwrap_or(archive));
    if p.is_absolute() {
        p
    } else {
        inventory.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn props_of(cx: &mut Ctx, field: &str, entries: Vec<(S<String>, S<Node>)>) -> Vec<Prop> {
    let mut props = Vec::new();
    for (k, v) in entries {
        let vpos = pos(&v);
        match v.value {
            Node::Scalar(value) | Node::Float(value) => {
                let pfield = format!("{field}.{}", text::field_key(&k.value));
                // ZooKeeper and Hadoop trim keys (so " dataDir" would slip past the checks on
                // `dataDir`); control characters and U+FFFE/U+FFFF break XML.
                let key_ok = check_text(cx, &text::CONFIG_KEY, &k.value, pos(&k), &pfield);
                // Control characters break XML parsers and are never meant in a property.
                if let Some(c) = value
                    .chars()
                    .find(|c| !text::CONFIG_VALUE.accepts_text(c.encode_utf8(&mut [0; 4])))
                {
                    cx.error(
                        vpos,
                        pfield,
                        format!("the value contains {}", text::describe(c)),
                    )
                    .help = Some(format!(
                        "{} accepts {}",
                        text::CONFIG_VALUE.what,
                        text::CONFIG_VALUE.accepts
                    ));
                    continue;
                }
                if !key_ok {
                    continue;
                }
                props.push(Prop {
                    key: k.value,
                    value,
                    pos: vpos,
                })
            }
            other => {
                cx.error(
                    vpos,
                    format!("{field}.{}", text::field_key(&k.value)),
                    format!("expected a single value, found {}", other.kind()),
                )
                .help =
                    Some("configuration properties are `key: value` pairs of plain values".into());
            }
        }
    }
    props
}

fn resolve_host(cx: &mut Ctx, i: usize, h: RawHost, d: &RawSettings) -> Host {
    let cat = cx.cat;
    let field = |f: &str| format!("hosts[{i}].{f}");
    let name = h.name.value.trim().to_string();
    if !valid_name(&name) {
        cx.error(
            pos(&h.name),
            field("name"),
            format!("host name `{name}` is not valid"),
        )
        .help = Some(format!("a host name accepts {}", text::NAME.accepts));
    }
    let address = h.address.value.trim().to_string();
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        cx.error(
            pos(&h.address),
            field("address"),
            format!("`{address}` is an IPv6 address; IPv6 is not supported yet"),
        )
        .help = Some(
            "use the host's IPv4 address or a host name (Hadoop before 3.4 does not support IPv6)"
                .into(),
        );
    } else if !valid_address(&address) {
        cx.error(
            pos(&h.address),
            field("address"),
            format!("`{address}` is not an IP address or host name"),
        );
    }
    let mut roles: Vec<RoleRef> = Vec::new();
    if h.roles.value.is_empty() {
        cx.warning(
            pos(&h.roles),
            field("roles"),
            format!("host `{name}` has no roles; nothing will run on it"),
        );
    }
    for (j, r) in h.roles.value.iter().enumerate() {
        let rname = r.value.trim();
        match cat.role(rname) {
            Some(def) => {
                if roles.iter().any(|x| x.name == def.name) {
                    cx.warning(
                        pos(r),
                        format!("hosts[{i}].roles[{j}]"),
                        format!("role `{rname}` is listed twice on host `{name}`"),
                    );
                } else {
                    roles.push(RoleRef {
                        name: def.name,
                        component: def.component,
                        pos: pos(r),
                    });
                }
            }
            None => {
                let d = cx.error(
                    pos(r),
                    format!("hosts[{i}].roles[{j}]"),
                    format!("unknown role `{rname}`"),
                );
                d.help = Some(match did_you_mean(rname, cat.role_names()) {
                    Some(s) => format!(
                        "did you mean `{s}`? roles are: {}",
                        cat.role_names().collect::<Vec<_>>().join(", ")
                    ),
                    None => format!(
                        "roles are: {}",
                        cat.role_names().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    // Each setting: the host's own value, else the default, else stackctl's default. The SSH
    // settings have no default of stackctl's: unset, the operator's ssh_config decides.
    let ssh_user = pick_str(&h.ssh_user, &d.ssh_user);
    if let Some(u) = &ssh_user {
        if !text::USER_NAME.accepts_text(&u.0) {
            cx.error(
                u.1,
                field("ssh_user"),
                format!("`{}` is not a user name", u.0.escape_debug()),
            )
            .help = Some(format!(
                "{} accepts {}",
                text::USER_NAME.what,
                text::USER_NAME.accepts
            ));
        }
    }
    let ssh_port = match h.ssh_port.as_ref().or(d.ssh_port.as_ref()) {
        Some(p) => {
            if p.value == 0 || p.value > 65535 {
                cx.error(
                    pos(p),
                    field("ssh_port"),
                    format!("ssh_port {} is not a TCP port (1-65535)", p.value),
                );
            }
            Some(p.value.clamp(1, 65535) as u16)
        }
        None => None,
    };
    let ssh_host = pick_str(&h.ssh_host, &d.ssh_host).map(|(v, at)| {
        let v = v.trim().to_string();
        // Given to ssh as its destination: a name or address, never an option (`-oProxyCommand=`).
        if !valid_address(&v) {
            cx.error(
                at,
                field("ssh_host"),
                format!("`{}` is not a host name or address", v.escape_debug()),
            )
            .help = Some(
                "ssh_host is what ssh dials (a name from your ssh_config, a DNS name or an address)"
                    .into(),
            );
        }
        v
    });
    let probe = match pick_str(&h.probe, &d.probe) {
        Some((v, at)) => match ProbeVia::parse(v.trim()) {
            Some(p) => p,
            None => {
                cx.error(
                    at,
                    field("probe"),
                    format!("`{}` is not a way to probe", v.escape_debug()),
                )
                .help = Some(format!("probe is one of: {}", ProbeVia::NAMES.join(", ")));
                ProbeVia::Auto
            }
        },
        None => ProbeVia::Auto,
    };
    let java_home = match pick_str(&h.java_home, &d.java_home) {
        Some(j) => {
            check_abs(cx, &j, &field("java_home"));
            j.0
        }
        None => {
            cx.error(
                pos(&h.name),
                field("java_home"),
                format!("host `{name}` has no java_home"),
            )
            .help = Some("set `java_home` under `defaults:` or on the host".into());
            String::new()
        }
    };
    let java_version = match h.java_version.as_ref().or(d.java_version.as_ref()) {
        Some(v) => match JavaVersion::parse(&v.value.0) {
            Ok(j) => Some((j, pos(v))),
            Err(e) => {
                cx.error(pos(v), field("java_version"), e);
                None
            }
        },
        None => None,
    };
    let mut dir = |own: &Option<S<String>>, def: &Option<S<String>>, fallback: &str, f: &str| {
        let v = pick_str(own, def).unwrap_or_else(|| (fallback.to_string(), Pos::default()));
        check_abs(cx, &v, &field(f));
        v.0.trim_end_matches('/').to_string()
    };
    let install_dir = dir(
        &h.install_dir,
        &d.install_dir,
        DEFAULT_INSTALL_DIR,
        "install_dir",
    );
    let data_dir = dir(&h.data_dir, &d.data_dir, DEFAULT_DATA_DIR, "data_dir");
    let data_dir_at = match (&h.data_dir, &d.data_dir) {
        (Some(own), _) => (field("data_dir"), pos(own)),
        (None, Some(def)) => ("defaults.data_dir".to_string(), pos(def)),
        (None, None) => (String::new(), Pos::default()),
    };
    let log_dir = dir(&h.log_dir, &d.log_dir, DEFAULT_LOG_DIR, "log_dir");
    let become_sudo = match pick_str(&h.r#become, &d.r#become) {
        None => false,
        Some((v, _)) if v == "sudo" => true,
        Some((v, at)) => {
            cx.error(
                at,
                field("become"),
                format!("unknown become method `{}`", v.escape_debug()),
            )
            .help = Some(format!(
                "become accepts: {} (or leave it out to run as the login user)",
                BECOME_METHODS.join(", ")
            ));
            false
        }
    };
    let create_users = match h.create_users.as_ref().or(d.create_users.as_ref()) {
        None => None,
        Some(v) => match v.value.0.trim() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                cx.error(
                    pos(v),
                    field("create_users"),
                    format!(
                        "create_users must be true or false, found `{}`",
                        other.escape_debug()
                    ),
                )
                .help = Some("write `create_users: true` or `create_users: false`".into());
                None
            }
        },
    };
    let mut pinned_ids = BTreeMap::new();
    for (key, v) in [
        ("zookeeper_id", &h.zookeeper_id),
        ("broker_id", &h.broker_id),
        ("controller_id", &h.controller_id),
    ] {
        if let Some(v) = v {
            // Checked here, not only when ids are resolved: an id out of range is a mistake of
            // the inventory like any other, reported with the others in one run.
            if let Some(def) = cat.id_def(key) {
                if v.value < def.min || v.value > def.max {
                    cx.error(
                        pos(v),
                        field(key),
                        format!(
                            "{key} {} is out of range: {} must be {}..={}",
                            v.value, def.what, def.min, def.max
                        ),
                    );
                }
            }
            pinned_ids.insert(key, (v.value, pos(v)));
        }
    }
    Host {
        index: i,
        name,
        name_pos: pos(&h.name),
        address,
        address_pos: pos(&h.address),
        roles,
        ssh_user: ssh_user.map(|u| u.0),
        ssh_port,
        ssh_host,
        probe,
        java_home: java_home.trim_end_matches('/').to_string(),
        java_version,
        install_dir,
        data_dir,
        data_dir_at,
        log_dir,
        become_sudo,
        create_users,
        pinned_ids,
    }
}

/// The accepted values of `become`.
pub const BECOME_METHODS: &[&str] = &["sudo"];

fn pick_str(own: &Option<S<String>>, def: &Option<S<String>>) -> Option<(String, Pos)> {
    own.as_ref()
        .or(def.as_ref())
        .map(|s| (s.value.trim().to_string(), pos(s)))
}

fn check_abs(cx: &mut Ctx, v: &(String, Pos), field: &str) {
    if !v.0.starts_with('/') {
        cx.error(v.1, field, format!("`{}` is not an absolute path", v.0))
            .help = Some("remote paths must start with `/`".into());
    } else if !text::plain_abs_path(&v.0) {
        // The same rule every later step (plan --out, the upload, the unpack) applies: a path
        // accepted here is one they accept.
        cx.error(
            v.1,
            field,
            format!("`{}` is not a plain absolute path", v.0.escape_debug()),
        )
        .help = Some(format!(
            "{} accepts {}",
            text::ABS_PATH.what,
            text::ABS_PATH.accepts
        ));
    }
}

/// An IPv4/IPv6 literal or an RFC 1123 host name. Anything else could not be reached anyway,
/// and refusing it early keeps shell metacharacters out of every later step.
pub(crate) fn valid_address(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn check_uniqueness(cx: &mut Ctx, hosts: &[Host]) {
    let mut names: HashMap<&str, &Host> = HashMap::new();
    let mut addrs: HashMap<&str, &Host> = HashMap::new();
    for h in hosts {
        if let Some(first) = names.insert(&h.name, h) {
            cx.error(
                h.name_pos,
                format!("hosts[{}].name", h.index),
                format!("duplicate host name `{}`", h.name),
            )
            .help = Some(format!(
                "`{}` is already hosts[{}] (line {}); host names must be unique",
                h.name, first.index, first.name_pos.line
            ));
            names.insert(&first.name, first);
        }
        if let Some(first) = addrs.insert(&h.address, h) {
            cx.error(
                h.address_pos,
                format!("hosts[{}].address", h.index),
                format!("duplicate address `{}`: hosts `{}` and `{}`", h.address, first.name, h.name),
            )
            .help = Some(format!(
                "two inventory hosts on one machine would fight over ports and directories; give `{}` its own address or merge the roles into hosts[{}] (line {})",
                h.name, first.index, first.address_pos.line
            ));
            addrs.insert(&first.address, first);
        }
    }
}

fn check_roles_against_components(
    cx: &mut Ctx,
    hosts: &[Host],
    comps: &BTreeMap<&'static str, ComponentSpec>,
    broken: &[&'static str],
) {
    let cat = cx.cat;
    let mut reported: std::collections::HashSet<&str> = broken.iter().copied().collect();
    for h in hosts {
        for r in &h.roles {
            if !comps.contains_key(r.component) && reported.insert(r.component) {
                let c = cat
                    .component(r.component)
                    .expect("roles belong to known components");
                cx.error(
                    r.pos,
                    format!("hosts[{}].roles", h.index),
                    format!(
                        "role `{}` needs `components.{}`, which is not declared",
                        r.name, r.component
                    ),
                )
                .help = Some(format!(
                    "add `{}: {{ version: \"{}\" }}` under `components:`",
                    r.component, c.example_version
                ));
            }
        }
    }
    for spec in comps.values() {
        if !hosts.iter().any(|h| h.has_component(spec.name)) {
            let c = cat.component(spec.name).expect("known");
            cx.warning(
                spec.pos,
                format!("components.{}", spec.name),
                format!(
                    "component `{}` is declared but no host has one of its roles",
                    spec.name
                ),
            )
            .help = Some(format!(
                "its roles are: {}",
                c.roles
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for def in cat.roles() {
        if let Some(max) = def.max_per_cluster {
            let with: Vec<&Host> = hosts.iter().filter(|h| h.has_role(def.name)).collect();
            if with.len() > max {
                let second = with[max];
                cx.error(
                    second.role_pos(def.name),
                    format!("hosts[{}].roles", second.index),
                    format!(
                        "more than {max} `{}` ({}): {}",
                        def.name,
                        def.service,
                        with.iter()
                            .map(|h| h.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .help = Some(
                    def.why_single
                        .unwrap_or("keep the role on one host")
                        .to_string(),
                );
            }
        }
    }
    // Pinned ids must be unique within their kind.
    let mut seen: HashMap<(&str, u64), &Host> = HashMap::new();
    for h in hosts {
        for (kind, (id, p)) in &h.pinned_ids {
            if let Some(first) = seen.insert((kind, *id), h) {
                cx.error(
                    *p,
                    format!("hosts[{}].{kind}", h.index),
                    format!(
                        "{kind} {id} is pinned on both `{}` and `{}`",
                        first.name, h.name
                    ),
                )
                .help = Some(
                    "ids identify a server for its whole life; each host needs its own".into(),
                );
            }
        }
    }
}
