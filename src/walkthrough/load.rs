//! Where chapters come from: the files in `walkthrough/` embedded at build
//! time (so the binary works anywhere), or a folder given with
//! `--walkthrough DIR` (so a teacher can try a chapter without rebuilding).
//! Either way, every `*.md` file except `README.md` is a chapter, and the
//! file names, sorted, give the order (`01-...md`, `02-...md`, …).

use std::fs;
use std::path::{Path, PathBuf};

use super::chapter::Chapter;
use super::parse::{Diagnostic, parse_bytes_as_far_as_they_go, parse_chapter_as_far_as_it_goes};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_chapters.rs"));
}

/// Where to read chapters from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The chapters built into the binary.
    Embedded,
    /// Every chapter file in this folder.
    Dir(PathBuf),
}

/// The chapters that could be read, and the problems of those that could not.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub chapters: Vec<Chapter>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads every chapter from `origin`; a file with a problem is left out
/// (its problems are in the diagnostics).
pub fn load(origin: &Origin) -> Loaded {
    load_keeping(origin, Keep::Whole)
}

/// Reads every chapter from `origin` for `loopscope chapters --check`: a
/// chapter with parse problems is kept too, as far as it parsed, so that
/// one pass reports its parse problems *and* what [`super::check`] finds in
/// the rest of it (an anchor that does not exist, a command's arity).
pub fn load_for_check(origin: &Origin) -> Loaded {
    load_keeping(origin, Keep::AsFarAsItParsed)
}

/// Which chapters [`load_keeping`] keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Whole,
    AsFarAsItParsed,
}

fn load_keeping(origin: &Origin, keep: Keep) -> Loaded {
    let mut loaded = Loaded::default();
    let collect = |loaded: &mut Loaded, (chapter, diags): (Option<Chapter>, Vec<Diagnostic>)| {
        if keep == Keep::AsFarAsItParsed || diags.is_empty() {
            loaded.chapters.extend(chapter);
        }
        loaded.diagnostics.extend(diags);
    };
    match origin {
        Origin::Embedded => {
            for (name, text) in embedded::CHAPTERS {
                let file = format!("walkthrough/{name}");
                collect(&mut loaded, parse_chapter_as_far_as_it_goes(&file, text));
            }
        }
        Origin::Dir(dir) => match chapter_files(dir) {
            Ok(files) => {
                for path in files {
                    let file = path.display().to_string();
                    match fs::read(&path) {
                        Ok(bytes) => {
                            collect(&mut loaded, parse_bytes_as_far_as_they_go(&file, &bytes))
                        }
                        Err(e) => loaded.diagnostics.push(whole_file(&file, e.to_string())),
                    }
                }
            }
            Err(e) => loaded
                .diagnostics
                .push(whole_file(&dir.display().to_string(), e.to_string())),
        },
    }
    if loaded.chapters.is_empty() && loaded.diagnostics.is_empty() {
        let place = match origin {
            Origin::Embedded => "this build".to_string(),
            Origin::Dir(dir) => dir.display().to_string(),
        };
        loaded.diagnostics.push(whole_file(
            &place,
            "no chapters: chapter files are `*.md` files other than README.md".into(),
        ));
    }
    check_unique_ids(&mut loaded);
    loaded
}

/// The chapter files of `dir`, sorted by name.
fn chapter_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|e| e == "md")
                && p.file_name().is_some_and(|n| n != "README.md")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn whole_file(file: &str, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: 0,
        message,
    }
}

/// Progress is kept by chapter id, so two chapters may not share one.
fn check_unique_ids(loaded: &mut Loaded) {
    let mut i = 0;
    while i < loaded.chapters.len() {
        let id = &loaded.chapters[i].id;
        if let Some(first) = loaded.chapters[..i].iter().find(|c| &c.id == id) {
            let message = format!("chapter id `{id}` is already used by {}", first.file);
            let dup = loaded.chapters.remove(i);
            loaded.diagnostics.push(Diagnostic {
                file: dup.file,
                line: 1,
                message,
            });
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_chapters_all_parse() {
        let loaded = load(&Origin::Embedded);
        let problems: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(loaded.chapters.len() >= 12, "{}", loaded.chapters.len());
    }

    #[test]
    fn a_folder_with_a_broken_and_a_duplicate_chapter() {
        let dir = std::env::temp_dir().join(format!("loopscope-load-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("dir");
        let good = "---\ntitle: T\nsummary: S\nid: same\n---\n## Step\nText.\n";
        fs::write(dir.join("01-a.md"), good).expect("write");
        fs::write(dir.join("02-b.md"), good).expect("write");
        fs::write(
            dir.join("03-c.md"),
            "---\ntitle: T\n---\n## Step\nwait: nothing\n",
        )
        .expect("write");
        fs::write(dir.join("README.md"), "not a chapter").expect("write");
        fs::write(dir.join("notes.txt"), "not a chapter").expect("write");
        let loaded = load(&Origin::Dir(dir.clone()));
        assert_eq!(loaded.chapters.len(), 1);
        let msgs: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        let dup = format!(
            "02-b.md:1: chapter id `same` is already used by {}",
            dir.join("01-a.md").display()
        );
        assert!(msgs.iter().any(|m| m.ends_with(&dup)), "{msgs:#?}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("03-c.md:1: the metadata block needs `summary:`")),
            "{msgs:#?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("03-c.md:5: `wait:` unknown event `nothing`")),
            "{msgs:#?}"
        );
        // For --check, the broken chapter is kept as far as it parsed, so
        // its unknown anchor is reported in the same pass.
        fs::write(
            dir.join("04-d.md"),
            "---\ntitle: T\nsummary: S\n---\n## Step\nwait: nothing\nanchor: ae.nowhere\n",
        )
        .expect("write");
        let checked = load_for_check(&Origin::Dir(dir.clone()));
        let mut all: Vec<String> = checked.diagnostics.iter().map(|d| d.to_string()).collect();
        all.extend(
            super::super::check::check(&checked.chapters)
                .iter()
                .map(|d| d.to_string()),
        );
        assert!(
            all.iter()
                .any(|m| m.contains("04-d.md:6: `wait:` unknown event")),
            "{all:#?}"
        );
        assert!(
            all.iter()
                .any(|m| m.contains("04-d.md:7: no anchor named `ae.nowhere`")),
            "{all:#?}"
        );
        assert_eq!(
            load(&Origin::Dir(dir.clone())).chapters.len(),
            1,
            "load still leaves them out"
        );
        let missing = load(&Origin::Dir(dir.join("nope")));
        assert!(missing.chapters.is_empty());
        assert_eq!(missing.diagnostics.len(), 1);
        let _ = fs::remove_dir_all(dir);
    }
}
