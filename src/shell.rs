//! POSIX shell quoting: the one way any value reaches a remote shell (scripts, launchers,
//! fact requests). Kept as a leaf so transport, facts, rendering and deploy share it.

/// Quotes `s` as one shell word: returned as is when it is made of safe characters only,
/// else single-quoted (with `'` written as `'\''`).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("/opt/stack"), "/opt/stack");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's $(x)"), "'it'\\''s $(x)'");
    }
}
