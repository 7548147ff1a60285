//! `stackctl man`: the pages shipped under man/ are exactly what the binary generates (so they
//! never go stale), and groff renders every one without a warning.

use std::path::{Path, PathBuf};
use std::process::Command;

fn stackctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .output()
        .expect("run stackctl")
}

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// The files of a directory: (name, bytes), sorted by name.
fn pages_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn generated() -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = stackctl(&["man", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages = pages_in(tmp.path());
    (tmp, pages)
}

#[test]
fn shipped_pages_are_what_the_binary_generates() {
    let (_tmp, generated) = generated();
    let shipped = pages_in(&shipped_dir());
    let names = |p: &[(String, Vec<u8>)]| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let fix = "regenerate them: `cargo run -- man --dir man`";
    assert_eq!(
        names(&shipped),
        names(&generated),
        "man/ holds other pages than `stackctl man --dir` writes; {fix}"
    );
    for ((name, want), (_, have)) in generated.iter().zip(&shipped) {
        assert!(want == have, "man/{name} is stale; {fix}");
    }
    assert!(names(&generated).contains(&"stackctl.1".to_string()));
    assert!(names(&generated).contains(&"stackctl-plan.1".to_string()));
}

#[test]
fn man_prints_the_main_page_or_one_subcommands() {
    let shipped = shipped_dir();
    let main = stackctl(&["man"]);
    assert_eq!(main.status.code(), Some(0));
    assert_eq!(
        main.stdout,
        std::fs::read(shipped.join("stackctl.1")).unwrap()
    );
    let plan = stackctl(&["man", "plan"]);
    assert_eq!(plan.status.code(), Some(0));
    assert_eq!(
        plan.stdout,
        std::fs::read(shipped.join("stackctl-plan.1")).unwrap()
    );
    let nope = stackctl(&["man", "nope"]);
    assert_eq!(nope.status.code(), Some(2));
    let err = String::from_utf8_lossy(&nope.stderr);
    assert!(
        err.contains("no manual page for `nope`") && err.contains("plan, up, down, verify"),
        "{err}"
    );
}

#[test]
fn pages_have_the_sections_man_readers_expect() {
    for (name, roff) in pages_in(&shipped_dir()) {
        let text = String::from_utf8(roff).unwrap();
        let stem = name.strip_suffix(".1").expect("section 1");
        assert!(
            text.contains(&format!(".TH {stem} 1 ")),
            "{name}: no .TH line"
        );
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "\"EXIT STATUS\"",
            "\"SEE ALSO\"",
        ] {
            assert!(
                text.contains(&format!("\n.SH {section}\n")),
                "{name}: no .SH {section}"
            );
        }
        // One preamble per page, not one per section.
        assert_eq!(text.matches(".ds Aq \\(aq").count(), 1, "{name}");
    }
    let main = std::fs::read_to_string(shipped_dir().join("stackctl.1")).unwrap();
    for code in ["0", "1", "2", "3", "4", "10", "130"] {
        assert!(
            main.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "stackctl.1: EXIT STATUS lacks {code}"
        );
    }
    let plan = std::fs::read_to_string(shipped_dir().join("stackctl-plan.1")).unwrap();
    assert!(plan.contains("\\-\\-detailed\\-exitcode"));
}

/// groff (what `man` runs) renders every page with all warnings on and says nothing. Skipped,
/// saying so, where groff is not installed; the structural test above still runs. `-P-cbou`:
/// plain text, no overstrike, so the headings can be found.
#[test]
fn groff_renders_every_page_without_warnings() {
    if Command::new("groff").arg("--version").output().is_err() {
        eprintln!("groff not installed: rendering not checked");
        return;
    }
    for (name, _) in pages_in(&shipped_dir()) {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
            .arg(shipped_dir().join(&name))
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("run groff");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.trim().is_empty(),
            "groff on man/{name}: {err}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{name}: {text}"
        );
    }
}
