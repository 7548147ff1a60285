//! Diagnostics that point at the inventory: file, line, column, field path and a hint.
//!
//! Every problem stackctl finds in user input is a `Diagnostic`. They are collected rather than
//! returned one at a time, so an operator sees all the mistakes of an inventory in one run.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Text that came from a host (`java -version`, launcher output, log tails, ZooKeeper fields,
/// remote files in a diff), made safe for the operator's terminal: every control character
/// but line feed and tab, and the bidirectional overrides, are shown as `\u{1b}`-style escapes,
/// so no ANSI/OSC sequence (colours, a window title, a hyperlink, a cleared screen) or carriage
/// return acts on the terminal. Used where host text is printed, never on JSON (serde escapes).
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A position in a source file; 1-based line and column. `line == 0` means "whole file".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub fn new(line: u64, column: u64) -> Self {
        Pos { line, column }
    }
    pub fn from_saphyr(loc: &serde_saphyr::Location) -> Self {
        Pos {
            line: loc.line(),
            column: loc.column(),
        }
    }
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// File the problem is in (the inventory, its lock file, an archive).
    pub file: PathBuf,
    #[serde(flatten)]
    pub pos: Pos,
    /// Field path in the inventory, e.g. `hosts[1].roles[2]`.
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(
        file: &Path,
        pos: Pos,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            pos,
            field: field.into(),
            message: message.into(),
            help: None,
        }
    }
    pub fn warning(
        file: &Path,
        pos: Pos,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, pos, field, message)
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic with a source snippet, like rustc: message, `--> file:line:col`,
    /// the offending line with a caret, then the field path and the hint.
    pub fn render(&self, source: Option<&str>) -> String {
        let line = if self.pos.is_known() {
            source.and_then(|s| s.lines().nth((self.pos.line - 1) as usize))
        } else {
            None
        };
        self.render_line(line)
    }

    /// `render` given the source line the diagnostic points at: finding it costs a walk over
    /// the file, which rendering many diagnostics of one file should do once (`InvalidInput`).
    fn render_line(&self, source_line: Option<&str>) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!("{label}: {}\n", self.message));
        if self.pos.is_known() {
            out.push_str(&format!(
                "  --> {}:{}:{}\n",
                self.file.display(),
                self.pos.line,
                self.pos.column
            ));
            if let Some(line) = source_line {
                let num = self.pos.line.to_string();
                let pad = " ".repeat(num.len());
                let caret_col = (self.pos.column.max(1) - 1) as usize;
                let shown: String = line.chars().take(200).collect();
                let prefix: String = shown
                    .chars()
                    .take(caret_col)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                out.push_str(&format!("{pad} |\n{num} | {shown}\n{pad} | {prefix}^\n"));
            }
        } else {
            out.push_str(&format!("  --> {}\n", self.file.display()));
        }
        if !self.field.is_empty() {
            out.push_str(&format!("   = field: {}\n", self.field));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("   = help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.render(None))
    }
}

/// "did you mean `x`?" for a misspelt name, using Jaro-Winkler similarity.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A set of diagnostics from one operation, errors and warnings together.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (&a.file, a.pos.line, a.pos.column).cmp(&(&b.file, b.pos.line, b.pos.column))
        });
    }
}

/// An inventory that could not be loaded: all the problems found, with the source text for
/// snippets. This is the error type of `inventory::load`; it maps to exit code 2.
#[derive(Debug)]
pub struct InvalidInput {
    pub diagnostics: Diagnostics,
    pub source: Option<String>,
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One walk over the source for all diagnostics, not one each: 20,000 diagnostics of a
        // 20,000-line inventory would otherwise read 400 million lines.
        let lines: Vec<&str> = self
            .source
            .as_deref()
            .map_or(Vec::new(), |s| s.lines().collect());
        for d in &self.diagnostics.0 {
            let line = match self.source {
                Some(_) if d.pos.is_known() => lines.get((d.pos.line - 1) as usize).copied(),
                _ => None,
            };
            write!(f, "{}", d.render_line(line))?;
        }
        let n = self.diagnostics.errors().count();
        let file = self
            .diagnostics
            .errors()
            .next()
            .map(|d| d.file.display().to_string())
            .unwrap_or_default();
        write!(f, "{n} error{} in {file}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for InvalidInput {}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn host_text_cannot_drive_the_terminal() {
        // Colours, an OSC window title and hyperlink, a clear screen, a carriage return that
        // would overwrite the line, a bidi override, C1's CSI.
        let hostile = "ok \x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2J\rfake \u{202e}txt \u{9b}1m";
        let safe = terminal_safe(hostile);
        assert!(
            !safe.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{safe:?}"
        );
        assert_eq!(
            safe,
            "ok \\u{1b}[31mred\\u{1b}[0m \\u{1b}]0;pwned\\u{7} \\u{1b}]8;;http://x\\u{1b}\\link\\u{1b}]8;;\\u{1b}\\ \\u{1b}[2J\\u{d}fake \\u{202e}txt \\u{9b}1m"
        );
        // Ordinary output stays as it is, lines and tabs included, without a copy.
        let plain = "openjdk version \"11.0.13\"\n\tat org.apache.Foo(Foo.java:1)\ncafé";
        assert!(matches!(
            terminal_safe(plain),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(terminal_safe(plain), plain);
    }
}
