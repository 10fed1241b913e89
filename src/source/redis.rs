//! `--redis-src DIR`: show the Redis function an anchor mirrors, read from the
//! user's own Redis checkout. Nothing of Redis is stored in loopscope; we only
//! know each function's name and file, and find it by name.

use std::path::{Path, PathBuf};

use super::RedisRef;
use super::highlight::{Kind, LexState, tokenize};

/// A function read from a Redis checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisFunction {
    pub path: String,
    /// 1-based number of the first line.
    pub first_line: u32,
    pub lines: Vec<String>,
}

/// A file every Redis checkout has, relative to the checkout.
const SIGN_OF_A_CHECKOUT: &str = "src/ae.c";

/// The checkout `--redis-src DIR` means: `DIR` itself when it holds
/// Redis's `src/`, or its parent when `DIR` *is* that `src/` folder (an
/// easy mistake, since that is where the files are). Anything else is not
/// a Redis checkout, and the error says what was looked for (the caller
/// names the folder and the flag).
pub fn checkout_root(dir: &Path) -> Result<PathBuf, String> {
    if !dir.is_dir() {
        return Err("no such folder (give the Redis checkout, the folder holding src/)".into());
    }
    if dir.join(SIGN_OF_A_CHECKOUT).is_file() {
        return Ok(dir.to_path_buf());
    }
    let file_name = Path::new(SIGN_OF_A_CHECKOUT)
        .file_name()
        .unwrap_or_default();
    if dir.join(file_name).is_file()
        && let Some(parent) = dir.parent()
        && parent.join(SIGN_OF_A_CHECKOUT).is_file()
    {
        return Ok(parent.to_path_buf());
    }
    Err(format!(
        "not a Redis checkout: it has no {SIGN_OF_A_CHECKOUT} (give the folder that holds \
         Redis's src/, e.g. a clone of the redis repository at tag 7.0.15)"
    ))
}

/// The bare C name of a reference like `aeProcessEvents (fired loop)`.
pub fn c_name(function: &str) -> &str {
    function.split([' ', '(']).next().unwrap_or(function)
}

/// Finds `r`'s function in the checkout at `dir` (the directory holding
/// Redis's `src/`). The error says plainly what is missing.
pub fn find_function(dir: &Path, r: &RedisRef) -> Result<RedisFunction, String> {
    let path = dir.join(r.file);
    let text = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let name = c_name(r.function);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| is_definition_of(l, name))
        .ok_or_else(|| {
            format!(
                "{} has no function named {name} (is this a Redis checkout?)",
                path.display()
            )
        })?;
    let end = closing_line(&lines, start)
        .ok_or_else(|| format!("{name} in {} has no closing brace", path.display()))?;
    Ok(RedisFunction {
        path: path.display().to_string(),
        first_line: start as u32 + 1,
        lines: lines[start..=end].iter().map(|l| l.to_string()).collect(),
    })
}

/// A C definition starts at column 0 (`int aeCreateFileEvent(...`), names the
/// function right before `(`, and is not a declaration ending in `;`.
fn is_definition_of(line: &str, name: &str) -> bool {
    if line.starts_with([' ', '\t', '#', '/', '*']) || line.trim_end().ends_with(';') {
        return false;
    }
    line.find('(').is_some_and(|paren| {
        let head = line[..paren].trim_end();
        head.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            == Some(name)
    })
}

fn closing_line(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut opened = false;
    let mut state = LexState::default();
    for (i, line) in lines.iter().enumerate().skip(start) {
        for tok in tokenize(line, &mut state)
            .iter()
            .filter(|t| t.kind == Kind::Punct)
        {
            match tok.text {
                "{" => {
                    depth += 1;
                    opened = true;
                }
                "}" => {
                    depth -= 1;
                    if opened && depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
    }
    None
}
