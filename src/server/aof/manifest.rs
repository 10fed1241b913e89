//! The manifest of a multi-part AOF: the small text file that says which
//! files make up the AOF and in which order (mirror of the manifest half of
//! Redis 7's `aof.c`).
//!
//! Redis 7 splits the AOF into a *base* (the dataset as of the last
//! rewrite), *incremental* files (the commands since) and *history* files
//! (old parts waiting to be deleted). `<appendfilename>.manifest` lists them
//! one per line, as `file <name> seq <n> type <b|i|h>`, the base first. The
//! names follow `<appendfilename>.<seq>.base.aof` and
//! `<appendfilename>.<seq>.incr.aof`; Redis's base is often an RDB file
//! (`.base.rdb`), ours is always RESP commands, as Redis writes with
//! `aof-use-rdb-preamble no`.
//!
//! A new manifest is written to a temporary file, fsynced and renamed over
//! the old one, so a crash leaves either the old manifest or the new one.

use std::fs;
use std::io::Write;
use std::path::Path;

/// The parts of an AOF, as its manifest lists them (Redis's `aofManifest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file and its sequence number.
    pub base: Option<(String, u64)>,
    /// Incremental files in order, with their sequence numbers.
    pub incrs: Vec<(String, u64)>,
    /// History files: no longer part of the data, kept only until deleted.
    pub history: Vec<String>,
}

/// The manifest's file name for `appendfilename`.
pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

impl Manifest {
    /// Parses a manifest's text (mirror of `aofLoadManifestFromFile`).
    /// Lines starting with `#` are comments; every other line is pairs of
    /// words, of which `file`, `seq` and `type` are required.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err(format!("line {} has a key without a value", n + 1));
            }
            let field = |key: &str| {
                words
                    .chunks(2)
                    .find(|pair| pair[0] == key)
                    .map(|pair| pair[1])
            };
            let (Some(name), Some(seq), Some(kind)) = (field("file"), field("seq"), field("type"))
            else {
                return Err(format!("line {} lacks file, seq or type", n + 1));
            };
            if name.contains('/') {
                return Err(format!("line {} names a path, not a file", n + 1));
            }
            let seq: u64 = seq
                .parse()
                .map_err(|_| format!("line {} has a bad sequence number", n + 1))?;
            match kind {
                "b" if m.base.is_none() => m.base = Some((name.to_string(), seq)),
                "b" => return Err("more than one base file".into()),
                "i" => m.incrs.push((name.to_string(), seq)),
                "h" => m.history.push(name.to_string()),
                _ => return Err(format!("line {} has an unknown file type", n + 1)),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("it names no base and no incremental file".into());
        }
        Ok(m)
    }

    /// The manifest's text (mirror of `getAofManifestAsString`).
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some((name, seq)) = &self.base {
            out.push_str(&format!("file {name} seq {seq} type b\n"));
        }
        for name in &self.history {
            out.push_str(&format!("file {name} seq 0 type h\n"));
        }
        for (name, seq) in &self.incrs {
            out.push_str(&format!("file {name} seq {seq} type i\n"));
        }
        out
    }

    /// Reads `<dir>/<appendfilename>.manifest`; `Ok(None)` when there is
    /// none (a first start).
    pub fn read(dir: &Path, appendfilename: &str) -> Result<Option<Manifest>, String> {
        let path = dir.join(manifest_name(appendfilename));
        match fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("{} is not text", path.display()))?;
                Manifest::parse(&text)
                    .map(Some)
                    .map_err(|why| format!("Invalid AOF manifest {}: {why}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("Cannot read {}: {e}", path.display())),
        }
    }

    /// The sequence number for the next base and incremental file.
    pub fn next_seq(&self) -> u64 {
        let base = self.base.as_ref().map_or(0, |b| b.1);
        let incr = self.incrs.iter().map(|i| i.1).max().unwrap_or(0);
        base.max(incr) + 1
    }

    /// Creates the parts of a new AOF in `dir`: a base file holding `base`,
    /// an empty incremental file, both numbered `seq`, and the manifest
    /// naming them (what Redis does on a first start, or when a rewrite
    /// completes).
    pub fn create(
        dir: &Path,
        appendfilename: &str,
        seq: u64,
        base: &[u8],
    ) -> std::io::Result<Manifest> {
        fs::create_dir_all(dir)?;
        let base_name = format!("{appendfilename}.{seq}.base.aof");
        let incr_name = format!("{appendfilename}.{seq}.incr.aof");
        write_durably(&dir.join(&base_name), base)?;
        write_durably(&dir.join(&incr_name), b"")?;
        let m = Manifest {
            base: Some((base_name, seq)),
            incrs: vec![(incr_name, seq)],
            history: Vec::new(),
        };
        m.persist(dir, appendfilename)?;
        Ok(m)
    }

    /// Writes the manifest: a temporary file, fsynced, renamed over the old
    /// one, and the directory fsynced so the rename itself survives a crash
    /// (mirror of `persistAofManifest`).
    pub fn persist(&self, dir: &Path, appendfilename: &str) -> std::io::Result<()> {
        let name = manifest_name(appendfilename);
        let temp = dir.join(format!("temp-{name}"));
        write_durably(&temp, self.text().as_bytes())?;
        fs::rename(&temp, dir.join(&name))?;
        fs::File::open(dir)?.sync_all()
    }

    /// Every file this manifest lists, base first.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.base
            .iter()
            .map(|b| b.0.as_str())
            .chain(self.history.iter().map(String::as_str))
            .chain(self.incrs.iter().map(|i| i.0.as_str()))
    }

    /// Deletes this manifest's files that `newer` does not list (Redis
    /// moves them to history and deletes them in the background).
    pub fn remove_files_not_in(&self, dir: &Path, newer: &Manifest) {
        for name in self.files() {
            if !newer.files().any(|n| n == name) {
                let _ = fs::remove_file(dir.join(name));
            }
        }
    }
}

/// Creates (or replaces) `path` with `bytes` and fsyncs it.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest Redis 7.0.15 wrote on a first start with
    /// `aof-use-rdb-preamble no`.
    const REDIS_FIRST_START: &str = "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";

    #[test]
    fn reads_and_writes_redis_manifests() {
        let m = Manifest::parse(REDIS_FIRST_START).expect("valid");
        assert_eq!(m.base, Some(("appendonly.aof.1.base.aof".to_string(), 1)));
        assert_eq!(m.incrs, vec![("appendonly.aof.1.incr.aof".to_string(), 1)]);
        assert_eq!(m.text(), REDIS_FIRST_START);
        assert_eq!(m.next_seq(), 2);
        let rdb = Manifest::parse("file a.1.base.rdb seq 1 type b\n# note\nfile a.2.incr.aof seq 2 type i\nfile a.3.incr.aof seq 3 type i\n")
            .expect("valid");
        assert_eq!(rdb.incrs.len(), 2);
        assert_eq!(rdb.next_seq(), 4);
    }

    #[test]
    fn refuses_bad_manifests() {
        for bad in [
            "",
            "file x seq 1\n",
            "file x seq one type b\n",
            "file x seq 1 type z\n",
            "file ../x seq 1 type i\n",
            "file x seq 1 type b\nfile y seq 2 type b\n",
            "file x seq\n",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn create_lays_out_the_files_like_redis() {
        let dir = std::env::temp_dir().join(format!("loopscope-manifest-{}", std::process::id()));
        let m = Manifest::create(&dir, "appendonly.aof", 1, b"").expect("create");
        let text = fs::read_to_string(dir.join("appendonly.aof.manifest")).expect("manifest");
        assert_eq!(text, REDIS_FIRST_START);
        assert_eq!(
            Manifest::read(&dir, "appendonly.aof").expect("read"),
            Some(m.clone())
        );
        let next = Manifest::create(
            &dir,
            "appendonly.aof",
            m.next_seq(),
            b"*1\r\n$4\r\nPING\r\n",
        )
        .expect("create");
        m.remove_files_not_in(&dir, &next);
        assert!(!dir.join("appendonly.aof.1.base.aof").exists());
        assert!(dir.join("appendonly.aof.2.base.aof").exists());
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
