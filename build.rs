//! Embeds every file under `src/` into the binary, so the source pane can show
//! the code that is running even without the repository at hand, and every
//! chapter under `walkthrough/`, so the guide works without the repository too.

use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    files.sort();
    let mut code = String::from(
        "/// Every source file of the crate, as `(path relative to the crate root, text)`.\n",
    );
    code.push_str("pub static EMBEDDED: &[(&str, &str)] = &[\n");
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .expect("file under the crate root")
            .to_string_lossy()
            .replace('\\', "/");
        code.push_str(&format!(
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{rel}\"))),\n"
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_sources.rs");
    fs::write(out, code).expect("write embedded_sources.rs");
    println!("cargo:rerun-if-changed=src");
    embed_chapters(&root);
}

/// Writes `embedded_chapters.rs`: every `walkthrough/*.md` except the README,
/// sorted by file name (which is the chapters' order).
fn embed_chapters(root: &Path) {
    let dir = root.join("walkthrough");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".md") && n != "README.md")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("/// Every chapter file, as `(file name, text)`, in order.\n");
    code.push_str("pub static CHAPTERS: &[(&str, &str)] = &[\n");
    for name in &names {
        code.push_str(&format!(
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/walkthrough/{name}\"))),\n"
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_chapters.rs");
    fs::write(out, code).expect("write embedded_chapters.rs");
    println!("cargo:rerun-if-changed=walkthrough");
}
