//! Turning a downloaded list into a filter file, streaming, in bounded
//! memory: a first pass parses each line and appends its key to its
//! shard's scratch file; a second builds each shard's filter from its keys
//! alone. Memory is about 34 bytes a key of the largest shard (the keys,
//! sorted, and the filter's construction), whatever the list's length.

use crate::format::{shard_of, FileWriter, MAX_SHARD_BITS};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use xorf::BinaryFuse16;

/// Keys aimed at per shard: about 70 MiB of memory while one is built.
const KEYS_PER_SHARD: u64 = 2 << 20;
/// The shortest line that counts: 40 hex digits and a newline.
const MIN_LINE_BYTES: u64 = 41;
/// At most 2^8 scratch files open at once, well under any descriptor limit.
const MAX_IMPORT_SHARD_BITS: u32 = 8;

/// Why an import stopped; the old filter file, if any, is untouched.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "line {line}: expected 40 hexadecimal digits (a SHA-1), optionally followed by \":COUNT\""
    )]
    BadLine { line: u64 },
    #[error("the list has no entries")]
    Empty,
    #[error("the filter of shard {shard} could not be built: {why}")]
    Build { shard: usize, why: &'static str },
}

/// How far an import has come, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Input bytes read so far, of the file's length.
    Reading { bytes: u64, of: u64 },
    /// Shards built so far, of all of them.
    Building { shards: usize, of: usize },
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub lines: u64,
    /// Distinct keys in the filter.
    pub entries: u64,
    pub shards: usize,
    /// The filter file's size.
    pub bytes: u64,
}

/// Reads the list at `input` and writes the filter to `output`, replacing
/// it only when the new one is whole (written beside it, synced, renamed).
pub fn import(
    input: &Path,
    output: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    import_sharded(input, output, KEYS_PER_SHARD, progress)
}

/// [`import`] with shards of about `keys_per_shard` keys.
fn import_sharded(
    input: &Path,
    output: &Path,
    keys_per_shard: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let io_at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    let file = File::open(input).map_err(io_at(input))?;
    let length = file.metadata().map_err(io_at(input))?.len();
    let shard_bits = shard_bits_for(length / MIN_LINE_BYTES, keys_per_shard);
    let folder = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".breached-import-")
        .tempdir_in(&folder)
        .map_err(io_at(&folder))?;
    let lines = split_into_shards(file, length, scratch.path(), shard_bits, progress).map_err(
        |e| match e {
            Split::Io(source) => ImportError::Io {
                path: input.to_path_buf(),
                source,
            },
            Split::BadLine(line) => ImportError::BadLine { line },
        },
    )?;

    let partial = tempfile::Builder::new()
        .prefix(".breached-filter-")
        .tempfile_in(&folder)
        .map_err(io_at(&folder))?;
    let out = partial.reopen().map_err(io_at(partial.path()))?;
    let mut writer = FileWriter::new(out, shard_bits).map_err(io_at(partial.path()))?;
    let shards = 1usize << shard_bits;
    let mut entries = 0u64;
    for shard in 0..shards {
        let path = scratch.path().join(shard.to_string());
        let mut keys = read_keys(&path).map_err(io_at(&path))?;
        keys.sort_unstable();
        keys.dedup();
        entries += keys.len() as u64;
        let filter = if keys.is_empty() {
            None
        } else {
            Some(BinaryFuse16::try_from(&keys).map_err(|why| ImportError::Build { shard, why })?)
        };
        drop(keys);
        writer
            .shard(shard, filter.as_ref())
            .map_err(io_at(partial.path()))?;
        fs::remove_file(&path).map_err(io_at(&path))?;
        progress(Progress::Building {
            shards: shard + 1,
            of: shards,
        });
    }
    if entries == 0 {
        return Err(ImportError::Empty);
    }
    let file = writer.finish(entries).map_err(io_at(partial.path()))?;
    let bytes = file.metadata().map_err(io_at(partial.path()))?.len();
    partial.persist(output).map_err(|e| ImportError::Io {
        path: output.to_path_buf(),
        source: e.error,
    })?;
    Ok(ImportReport {
        lines,
        entries,
        shards,
        bytes,
    })
}

/// Enough shards that each holds about `keys_per_shard` keys.
fn shard_bits_for(most_keys: u64, keys_per_shard: u64) -> u32 {
    let mut bits = 0;
    while bits < MAX_IMPORT_SHARD_BITS.min(MAX_SHARD_BITS) && (most_keys >> bits) > keys_per_shard {
        bits += 1;
    }
    bits
}

enum Split {
    Io(io::Error),
    BadLine(u64),
}

/// The first pass: every line's key appended to its shard's scratch file.
/// Returns the number of lines.
fn split_into_shards(
    file: File,
    length: u64,
    scratch: &Path,
    shard_bits: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, Split> {
    let mut shards = (0..1usize << shard_bits)
        .map(|i| {
            File::create(scratch.join(i.to_string())).map(|f| BufWriter::with_capacity(1 << 16, f))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(Split::Io)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(128);
    let (mut number, mut read) = (0u64, 0u64);
    loop {
        line.clear();
        // A line longer than any list's is cut here and refused below.
        let n = (&mut reader)
            .take(4096)
            .read_until(b'\n', &mut line)
            .map_err(Split::Io)?;
        if n == 0 {
            break;
        }
        number += 1;
        read += n as u64;
        let text = trim(&line);
        if text.is_empty() {
            continue;
        }
        let key = parse_line(text).ok_or(Split::BadLine(number))?;
        shards[shard_of(key, shard_bits)]
            .write_all(&key.to_le_bytes())
            .map_err(Split::Io)?;
        if number.is_multiple_of(1 << 20) {
            progress(Progress::Reading {
                bytes: read,
                of: length,
            });
        }
    }
    for shard in &mut shards {
        shard.flush().map_err(Split::Io)?;
    }
    progress(Progress::Reading {
        bytes: read,
        of: length,
    });
    Ok(number)
}

fn trim(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// A line's key: 40 hex digits (either case), then nothing or ":COUNT".
fn parse_line(text: &[u8]) -> Option<u64> {
    let (hash, rest) = text.split_at_checked(40)?;
    if !(rest.is_empty() || (rest[0] == b':' && rest[1..].iter().all(u8::is_ascii_digit))) {
        return None;
    }
    let mut digest = [0u8; 20];
    hex::decode_to_slice(hash, &mut digest).ok()?;
    Some(crate::keys::key_of_digest(&digest))
}

fn read_keys(path: &Path) -> io::Result<Vec<u64>> {
    let bytes = fs::read(path)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::BreachedList;
    use sha1::{Digest, Sha1};

    fn line_of(password: &str, count: u32) -> String {
        format!(
            "{}:{count}\r\n",
            hex::encode_upper(Sha1::digest(password.as_bytes()))
        )
    }

    #[test]
    fn a_list_round_trips_through_the_filter_file() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list.txt");
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&line_of(&format!("listed-{i}"), i + 1));
        }
        text.push_str(&line_of("listed-7", 3)); // a duplicate
        text.push('\n');
        fs::write(&list, text).unwrap();
        let out = dir.path().join("breached.filter");
        let mut seen = Vec::new();
        // About 250 keys a shard: 32 shards, some of them small.
        let report = import_sharded(&list, &out, 250, &mut |p| seen.push(p)).unwrap();
        assert_eq!(report.shards, 32);
        assert_eq!(report.entries, 5000);
        assert_eq!(report.lines, 5002);
        assert!(matches!(seen.last(), Some(Progress::Building { .. })));
        let filter = BreachedList::open(&out).unwrap();
        assert_eq!(filter.entries(), 5000);
        for i in 0..5000 {
            assert!(filter.contains_password(&format!("listed-{i}")));
        }
        let false_positives = (0..20_000)
            .filter(|i| filter.contains_password(&format!("not-listed-{i}")))
            .count();
        assert!(false_positives <= 5, "{false_positives} false positives");
        // No scratch files are left beside the filter.
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2);
    }

    #[test]
    fn a_bad_line_is_named_and_the_old_filter_stays() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("breached.filter");
        fs::write(&out, b"old").unwrap();
        let list = dir.path().join("list.txt");
        fs::write(&list, format!("{}not a hash\n", line_of("a", 1))).unwrap();
        let err = import(&list, &out, &mut |_| {}).unwrap_err();
        assert!(matches!(err, ImportError::BadLine { line: 2 }), "{err}");
        assert_eq!(fs::read(&out).unwrap(), b"old");
        fs::write(&list, "\n\n").unwrap();
        assert!(matches!(
            import(&list, &out, &mut |_| {}),
            Err(ImportError::Empty)
        ));
    }

    #[test]
    fn lines_are_parsed_strictly() {
        let hash = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        assert_eq!(parse_line(hash.as_bytes()), Some(0x5BAA_61E4_C9B9_3F3F));
        let lower = hash.to_lowercase() + ":12";
        assert_eq!(parse_line(lower.as_bytes()), Some(0x5BAA_61E4_C9B9_3F3F));
        assert_eq!(parse_line(b"5BAA61E4"), None);
        assert_eq!(parse_line(format!("{hash}:x").as_bytes()), None);
        assert_eq!(parse_line(format!("{hash}0").as_bytes()), None);
    }

    #[test]
    fn shards_follow_the_lists_length() {
        assert_eq!(shard_bits_for(1000, KEYS_PER_SHARD), 0);
        assert_eq!(shard_bits_for(KEYS_PER_SHARD * 3, KEYS_PER_SHARD), 2);
        assert_eq!(
            shard_bits_for(u64::MAX, KEYS_PER_SHARD),
            MAX_IMPORT_SHARD_BITS
        );
    }

    #[test]
    fn a_damaged_file_is_refused_not_read_out_of_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list.txt");
        fs::write(&list, line_of("x", 1) + &line_of("y", 1)).unwrap();
        let out = dir.path().join("f");
        import(&list, &out, &mut |_| {}).unwrap();
        let mut bytes = fs::read(&out).unwrap();
        // Claim a longer segment than the block holds.
        bytes[24 + 8] = 0;
        bytes[24 + 9] = 0x40;
        fs::write(&out, &bytes).unwrap();
        assert!(matches!(
            BreachedList::open(&out),
            Err(crate::format::OpenError::Malformed { .. })
        ));
        fs::write(&out, b"SKBRCH01").unwrap();
        assert!(BreachedList::open(&out).is_err());
        assert!(BreachedList::open(&dir.path().join("missing")).is_err());
    }
}
