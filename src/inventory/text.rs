//! The characters each free-text field of an inventory accepts: one table, used by the loader
//! (and by a component for its own settings), stated in every error and in the README.
//!
//! Escaping protects values where the format has an escape (a shell word, a properties value,
//! XML text); these rules cover the places where it has none or where a consumer reads the text
//! differently from what it looks like: template comments, directory names, keys that ZooKeeper
//! trims, names inside XML comments.

/// A rule for one kind of field: what it accepts, in words, and the check.
pub struct TextRule {
    /// What the field is, for messages: "host name".
    pub what: &'static str,
    /// The accepted characters, as the README and the error's help state them.
    pub accepts: &'static str,
    check: fn(&str) -> bool,
}

impl TextRule {
    pub fn accepts_text(&self, s: &str) -> bool {
        (self.check)(s)
    }

    /// `Err((message, help))` when `s` breaks the rule; the help states the whitelist.
    pub fn check(&self, s: &str) -> Result<(), (String, String)> {
        if (self.check)(s) {
            return Ok(());
        }
        let shown = visible(s);
        let message = match first_control(s) {
            Some(c) => format!("{} `{shown}` contains {}", self.what, describe(c)),
            None => format!("{} `{shown}` is not valid", self.what),
        };
        Err((message, format!("{} accepts {}", self.what, self.accepts)))
    }
}

/// Cluster and host names: they become directory names (`plan --out DIR/<host>`), markers in
/// process command lines and words in XML comments.
pub const NAME: TextRule = TextRule {
    what: "a name",
    accepts: "letters, digits, `.`, `_` and `-`, starting with a letter or digit, without `--`, at most 253 characters",
    check: |s| {
        !s.is_empty()
            && s.len() <= 253
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && !s.contains("--")
    },
};

/// The remote user `ssh` logs in as: never an option (`-o...`), never two words.
pub const USER_NAME: TextRule = TextRule {
    what: "a user name",
    accepts: "letters, digits, `.`, `_` and `-`, not starting with `-`",
    check: |s| {
        !s.is_empty()
            && !s.starts_with('-')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    },
};

/// The qualifier of a component version (`beta`, `cdh5.3.6` in `3.4.5-cdh5.3.6`): it is part
/// of the distribution's directory name and of every file's header comment.
pub const VERSION_QUALIFIER: TextRule = TextRule {
    what: "a version qualifier",
    accepts: "letters, digits, `.`, `_`, `+` and `-`, without `..` or `--`",
    check: |s| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
            && !s.contains("..")
            && !s.contains("--")
    },
};

/// A Scala binary version (`2.12`, `2.13`): part of Kafka's directory name.
pub const SCALA: TextRule = TextRule {
    what: "a Scala version",
    accepts: "digits and `.` (e.g. `2.12`)",
    check: |s| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_digit() || c == '.')
            && s.split('.').all(|p| !p.is_empty())
    },
};

/// A configuration key (`dataDir`, `log.dirs`, `dfs.replication`): written escaped into
/// properties files and as XML text, but read back trimmed by ZooKeeper and Hadoop.
pub const CONFIG_KEY: TextRule = TextRule {
    what: "a configuration key",
    accepts: "any printable characters (no control characters, no U+FFFE/U+FFFF), not empty, without leading or trailing whitespace",
    check: |s| {
        !s.is_empty()
            && s.trim() == s
            && !s.chars().any(|c| c.is_control() || !xml_char(c))
    },
};

/// A configuration value: escaped for each format; line breaks and tabs are data there.
pub const CONFIG_VALUE: TextRule = TextRule {
    what: "a configuration value",
    accepts: "any printable characters, tab and line breaks (no other control characters, no U+FFFE/U+FFFF)",
    check: |s| {
        !s.chars().any(|c| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || !xml_char(c)
        })
    },
};

/// A single-valued component setting (`heap`, `jvm_opts`, `chroot`, a port): shell-quoted
/// where it reaches a script, but never meant to hold a line break.
pub const SETTING: TextRule = TextRule {
    what: "a setting value",
    accepts: "any printable characters (no control characters, no U+FFFE/U+FFFF)",
    check: |s| !s.chars().any(|c| c.is_control() || !xml_char(c)),
};

/// A remote directory (`install_dir`, `java_home`, `dataDir`): created and removed on hosts.
pub const ABS_PATH: TextRule = TextRule {
    what: "a path",
    accepts: "an absolute path of printable characters without `.`, `..` or empty (`//`) segments",
    check: plain_abs_path,
};

/// Every rule, for the README check.
pub const ALL: &[&TextRule] = &[
    &NAME,
    &USER_NAME,
    &VERSION_QUALIFIER,
    &SCALA,
    &CONFIG_KEY,
    &CONFIG_VALUE,
    &SETTING,
    &ABS_PATH,
];

/// An absolute path without `..`, `.`, empty segments or control characters: safe to create
/// on a host, and the same path `plan --out` writes. A trailing `/` is allowed.
pub fn plain_abs_path(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    !p.contains(|c: char| c.is_control() || !xml_char(c))
        && (rest.is_empty() || rest.split('/').all(|seg| !matches!(seg, "" | "." | "..")))
}

/// XML 1.0's `Char` production, less what Rust strings cannot hold anyway (surrogates).
fn xml_char(c: char) -> bool {
    !matches!(c, '\u{FFFE}' | '\u{FFFF}') && (c >= ' ' || matches!(c, '\t' | '\n' | '\r'))
}

/// "the control character U+000A", or "the character U+FFFE" for the non-characters.
pub fn describe(c: char) -> String {
    if c.is_control() {
        format!("the control character U+{:04X}", c as u32)
    } else {
        format!("the character U+{:04X}", c as u32)
    }
}

/// A field path segment for `key`: as is when it is a clean key, else quoted and escaped, so a
/// message never carries a raw control character or hides a leading space.
pub fn field_key(key: &str) -> String {
    if CONFIG_KEY.accepts_text(key) {
        key.to_string()
    } else {
        format!("\"{}\"", key.escape_debug())
    }
}

fn first_control(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control() || !xml_char(*c))
}

/// `s` for a message: control characters as `\u{..}` so the message stays on one line.
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || !xml_char(c) {
                format!("\\u{{{:04x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_states_every_rule() {
        let readme = include_str!("../../README.md");
        for r in ALL {
            assert!(readme.contains(r.accepts), "README: add `{}`", r.accepts);
        }
    }

    #[test]
    fn names() {
        for ok in ["a", "node-1", "t", "my_cluster.prod", "10.0.0.1"] {
            assert!(NAME.accepts_text(ok), "{ok}");
        }
        for bad in [".", "..", "-a", "a--b", "", "a b", "a/b", "a\nb", ".hidden"] {
            assert!(!NAME.accepts_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn version_qualifiers() {
        for ok in ["beta", "cdh5.3.6", "hadoop3", "alpha-1", "rc1+b2"] {
            assert!(VERSION_QUALIFIER.accepts_text(ok), "{ok}");
        }
        for bad in [
            "x\nserver.97=a",
            "..",
            "a/../b",
            "a--b",
            "a b",
            "$(id)",
            "a\u{1b}[31m",
        ] {
            assert!(!VERSION_QUALIFIER.accepts_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn keys_values_and_paths() {
        assert!(CONFIG_KEY.accepts_text("dataDir"));
        assert!(CONFIG_KEY.accepts_text("a b=c:d"));
        for bad in [
            " dataDir",
            "dataDir ",
            "a\tb",
            "a\u{1}b",
            "a\u{fffe}",
            "",
            "a\u{ffff}",
        ] {
            assert!(!CONFIG_KEY.accepts_text(bad), "{bad:?}");
        }
        assert!(CONFIG_VALUE.accepts_text("a\nb\tc"));
        assert!(!CONFIG_VALUE.accepts_text("a\u{fffe}"));
        assert!(
            SCALA.accepts_text("2.12")
                && !SCALA.accepts_text("2.12-x")
                && !SCALA.accepts_text("2..1")
        );
        for ok in ["/", "/opt/stack", "/opt/it's here/$(x)/a\\b", "/opt/stack/"] {
            assert!(plain_abs_path(ok), "{ok}");
        }
        for bad in [
            "opt", "/a/./b", "/a//b", "/a/.", "/a/..", "/../x", "/a\nb", "//a",
        ] {
            assert!(!plain_abs_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn messages_state_the_whitelist_and_stay_on_one_line() {
        let (msg, help) = VERSION_QUALIFIER.check("x\nserver.1=a").unwrap_err();
        assert_eq!(
            msg,
            "a version qualifier `x\\u{000a}server.1=a` contains the control character U+000A"
        );
        assert!(help.contains("letters, digits"), "{help}");
    }
}
