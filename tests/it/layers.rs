//! Layers point one way: domain ← (sources, normalize, classify, matching,
//! members: pure) ← store ← (mail, tracking) ← (jobs, web) ← (cli, demo,
//! daemon). Every `crate::X` a file of `src/` names is checked against what
//! its module may use; a lower layer naming a higher one fails this test
//! with the file and line.

use std::path::{Path, PathBuf};

/// Modules no layer below the command line may name, by the layer that owns them.
const PURE: &[&str] = &["sources", "normalize", "classify", "matching", "members"];

/// What the files of top-level module `module` must never name.
fn forbidden(module: &str) -> Vec<&'static str> {
    let above_store = ["jobs", "cli", "demo", "daemon", "web", "mail", "tracking"];
    let mut out: Vec<&'static str> = match module {
        // Leaves every layer may use: nothing above them.
        "domain" | "instance" | "toml_pos" | "csv_cell" | "csv_text" => [&["store"][..], PURE, &above_store].concat(),
        "config" | "i18n" => [&["store"][..], &above_store].concat(),
        m if PURE.contains(&m) => [&["store"][..], &above_store].concat(),
        "store" => above_store.to_vec(),
        "mail" | "tracking" => vec!["jobs", "cli", "demo", "daemon", "web"],
        // The daemon that runs the schedule and the web server beside it is
        // composed above both, next to the command line.
        "jobs" => vec!["cli", "demo", "daemon", "web"],
        "web" => vec!["cli", "demo", "daemon"],
        _ => Vec::new(),
    };
    out.retain(|m| *m != module);
    out
}

/// The top-level modules a line names through `crate::` (also inside `use crate::{a, b::c}`).
fn named_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push(name);
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every use of a higher layer in `src/`, as `file:line: module uses X`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        let banned = forbidden(&module);
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for named in named_modules(line) {
                if banned.contains(&named.as_str()) {
                    found.push(format!("{}:{}: {module} uses {named}", rel.display(), i + 1));
                }
            }
        }
    }
    found
}

#[test]
fn no_lower_layer_names_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "layers that point the wrong way:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_single_and_grouped_uses() {
    assert_eq!(named_modules("use crate::store::Store;"), ["store"]);
    assert_eq!(named_modules("use crate::{jobs::Ctx, domain};"), ["jobs", "domain"]);
    assert_eq!(named_modules("let s = crate::store::Store::memory(); crate::cli::run()"), ["store", "cli"]);
    assert!(forbidden("sources").contains(&"store") && forbidden("store").contains(&"tracking"));
    assert!(forbidden("mail").contains(&"jobs") && forbidden("classify").contains(&"cli"));
    assert!(!forbidden("jobs").contains(&"store"), "a higher layer may use a lower one");
    // A file that breaks the rule is found, with its line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sources")).unwrap();
    std::fs::write(dir.path().join("sources/x.rs"), "//! ok: crate::store in a comment\nuse crate::{domain, store::Store};\n").unwrap();
    assert_eq!(violations(dir.path()), ["sources/x.rs:2: sources uses store"]);
}
