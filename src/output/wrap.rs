//! Text output fits 100 columns: a line that is longer is broken at spaces, its continuation
//! lines indented (a hanging indent), and a word longer than a whole line is cut. Widths count
//! what a terminal shows: colour escapes take no column.

/// The width every text report fits.
pub const WIDTH: usize = 100;

/// Columns `s` takes on a terminal: characters, without `ESC [ ... m` colour sequences.
pub fn width(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// `line` (no newline) broken to `WIDTH` columns, continuation lines indented by `hang`
/// columns (at most half the width, so every line keeps room for words). Each piece ends
/// with a newline.
pub fn line(line: &str, hang: usize) -> String {
    if width(line) <= WIDTH {
        return format!("{line}\n");
    }
    let hang = hang.min(WIDTH / 2);
    let pad = " ".repeat(hang);
    let mut out = String::new();
    let mut cur = String::new();
    let mut cur_w = 0;
    // The leading spaces are the first line's own indent, not breaking points.
    let body = line.trim_start_matches(' ');
    cur.push_str(&line[..line.len() - body.len()]);
    cur_w += line.len() - body.len();
    let mut first_word = true;
    for word in body.split(' ') {
        let w = width(word);
        if !first_word && cur_w + 1 + w > WIDTH && cur_w > hang {
            out.push_str(cur.trim_end());
            out.push('\n');
            cur = pad.clone();
            cur_w = hang;
        } else if !first_word {
            cur.push(' ');
            cur_w += 1;
        }
        first_word = false;
        // A word longer than a whole line: cut it where the line ends.
        let mut rest = word;
        while cur_w + width(rest) > WIDTH && !rest.contains('\x1b') {
            let room = WIDTH.saturating_sub(cur_w).max(1);
            let at = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
            cur.push_str(&rest[..at]);
            out.push_str(&cur);
            out.push('\n');
            cur = pad.clone();
            cur_w = hang;
            rest = &rest[at..];
        }
        cur.push_str(rest);
        cur_w += width(rest);
    }
    out.push_str(cur.trim_end());
    out.push('\n');
    out
}

/// Every line of `text` fitted, each continuation indented two columns past the line's own
/// indent.
pub fn block(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for l in text.split_inclusive('\n') {
        let bare = l.strip_suffix('\n').unwrap_or(l);
        let indent = bare.len() - bare.trim_start_matches(' ').len();
        let fitted = line(bare, indent + 2);
        if l.ends_with('\n') {
            out.push_str(&fitted);
        } else {
            out.push_str(fitted.strip_suffix('\n').unwrap_or(&fitted));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_breaks_at_spaces_with_its_hanging_indent() {
        let words = "word ".repeat(40);
        let out = line(&format!("  head {words}"), 8);
        assert!(out.lines().count() > 1, "{out}");
        for (i, l) in out.lines().enumerate() {
            assert!(width(l) <= WIDTH, "{l}");
            if i > 0 {
                assert!(l.starts_with("        word"), "{l:?}");
            }
        }
        assert!(out.starts_with("  head word"));
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut_and_nothing_is_lost() {
        let long = "x".repeat(250);
        let out = line(&format!("evidence: {long} end"), 4);
        for l in out.lines() {
            assert!(width(l) <= WIDTH, "{} columns", width(l));
        }
        let joined: String = out.split_whitespace().collect();
        assert_eq!(joined, format!("evidence:{long}end"));
    }

    #[test]
    fn colour_takes_no_column_and_short_lines_stay_as_they_are() {
        let red = format!("\x1b[31m{}\x1b[0m", "a".repeat(95));
        assert_eq!(width(&red), 95);
        assert_eq!(line(&red, 2), format!("{red}\n"));
        assert_eq!(block("a\n  b\nc"), "a\n  b\nc");
    }
}
