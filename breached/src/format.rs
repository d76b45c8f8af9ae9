//! The filter file, and reading it in place.
//!
//! ```text
//! header   magic "SKBRCH01" | shard_bits u32 | 0 u32 | entries u64     (24 bytes)
//! table    per shard: descriptor (20 bytes) | 0 u32 | offset u64 | bytes u64
//! blocks   each shard's fingerprints, at an offset aligned to 8
//! ```
//! Every number is little-endian. A shard with no keys has 0 bytes.

use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use xorf::{BinaryFuse16, BinaryFuse16Ref, DmaSerializable, Filter, FilterRef};

pub(crate) const MAGIC: &[u8; 8] = b"SKBRCH01";
pub(crate) const HEADER_BYTES: usize = 24;
const DESCRIPTOR_BYTES: usize = <BinaryFuse16 as DmaSerializable>::DESCRIPTOR_LEN;
pub(crate) const TABLE_ENTRY_BYTES: usize = 40;
/// At most 2^12 shards: more would only mean more open files at import.
pub(crate) const MAX_SHARD_BITS: u32 = 12;

/// Why a filter file cannot be used: each names the file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a breach filter (made by `sekisho admin breached-import`): {why}")]
    Malformed { path: PathBuf, why: &'static str },
}

/// A breach filter, mapped read-only. Cheap to share: checks only read.
pub struct BreachedList {
    map: Mmap,
    shard_bits: u32,
    entries: u64,
    path: PathBuf,
}

impl std::fmt::Debug for BreachedList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachedList")
            .field("path", &self.path)
            .field("entries", &self.entries)
            .field("shards", &(1u64 << self.shard_bits))
            .finish()
    }
}

impl BreachedList {
    /// Maps the file and checks its whole structure, so that no later
    /// check can index outside it.
    pub fn open(path: &Path) -> Result<BreachedList, OpenError> {
        let io = |source| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the mapping is read-only and private to this process. The
        // import never writes an existing file in place: it writes a new
        // one beside it and renames it over the old, so a mapped file's
        // bytes do not change while it is mapped (an operator who truncates
        // or edits the file by hand is told not to, in docs/security.md).
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let malformed = |why| OpenError::Malformed {
            path: path.to_path_buf(),
            why,
        };
        let (shard_bits, entries) = check(&map).map_err(malformed)?;
        Ok(BreachedList {
            map,
            shard_bits,
            entries,
            path: path.to_path_buf(),
        })
    }

    /// Distinct keys the list was made from.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The file's size in bytes.
    pub fn bytes(&self) -> usize {
        self.map.len()
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when `password` (exactly as the user would type it) is on the
    /// list, or one time in 65,536 when it is not.
    pub fn contains_password(&self, password: &str) -> bool {
        self.contains_key(crate::keys::key_of_password(password))
    }

    /// True when the key (see [`crate::keys::key_of_digest`]) is on the list.
    pub fn contains_key(&self, key: u64) -> bool {
        let shard = shard_of(key, self.shard_bits);
        let entry = table_entry(&self.map, shard);
        let (offset, bytes) = (entry.offset as usize, entry.bytes as usize);
        if bytes == 0 {
            return false;
        }
        let filter =
            BinaryFuse16Ref::from_dma(&entry.descriptor, &self.map[offset..offset + bytes]);
        filter.contains(&key)
    }
}

/// The shard of a key: its top `bits` bits.
pub(crate) fn shard_of(key: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (key >> (64 - bits)) as usize
    }
}

struct TableEntry {
    descriptor: [u8; DESCRIPTOR_BYTES],
    offset: u64,
    bytes: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The table's entry for a shard (the file was checked at open).
fn table_entry(map: &[u8], shard: usize) -> TableEntry {
    let at = HEADER_BYTES + shard * TABLE_ENTRY_BYTES;
    let mut descriptor = [0u8; DESCRIPTOR_BYTES];
    descriptor.copy_from_slice(&map[at..at + DESCRIPTOR_BYTES]);
    TableEntry {
        descriptor,
        offset: u64_at(map, at + 24),
        bytes: u64_at(map, at + 32),
    }
}

/// Checks the header, the table and every shard's descriptor against its
/// block, so that a lookup stays inside the file whatever the file says.
fn check(map: &[u8]) -> Result<(u32, u64), &'static str> {
    if map.len() < HEADER_BYTES || &map[..8] != MAGIC {
        return Err("wrong header");
    }
    let shard_bits = u32_at(map, 8);
    if shard_bits > MAX_SHARD_BITS {
        return Err("too many shards");
    }
    let entries = u64_at(map, 16);
    let shards = 1usize << shard_bits;
    if map.len() < HEADER_BYTES + shards * TABLE_ENTRY_BYTES {
        return Err("table cut short");
    }
    for shard in 0..shards {
        let entry = table_entry(map, shard);
        if entry.bytes == 0 {
            continue;
        }
        let end = entry
            .offset
            .checked_add(entry.bytes)
            .ok_or("block outside")?;
        if end > map.len() as u64
            || !entry.offset.is_multiple_of(8)
            || !entry.bytes.is_multiple_of(2)
        {
            return Err("block outside the file or misaligned");
        }
        let d = &entry.descriptor;
        let segment_length = u32_at(d, 8) as u64;
        let mask = u32_at(d, 12) as u64;
        let segment_count_length = u32_at(d, 16) as u64;
        // A lookup reads below segment_count_length + 2 segments.
        if !segment_length.is_power_of_two()
            || mask != segment_length - 1
            || segment_count_length + 2 * segment_length > entry.bytes / 2
        {
            return Err("a shard's descriptor does not fit its block");
        }
    }
    Ok((shard_bits, entries))
}

/// Writes a filter file shard by shard: the table is filled in as each
/// shard's block is written after it.
pub(crate) struct FileWriter {
    file: File,
    shards: usize,
    next_offset: u64,
}

impl FileWriter {
    pub(crate) fn new(mut file: File, shard_bits: u32) -> io::Result<FileWriter> {
        let shards = 1usize << shard_bits;
        let table_end = (HEADER_BYTES + shards * TABLE_ENTRY_BYTES) as u64;
        let mut header = Vec::with_capacity(HEADER_BYTES);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&shard_bits.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
        file.write_all(&header)?;
        file.write_all(&vec![0u8; shards * TABLE_ENTRY_BYTES])?;
        Ok(FileWriter {
            file,
            shards,
            next_offset: table_end.next_multiple_of(8),
        })
    }

    /// Writes one shard's filter (`None`: the shard has no keys).
    pub(crate) fn shard(&mut self, shard: usize, filter: Option<&BinaryFuse16>) -> io::Result<()> {
        assert!(shard < self.shards);
        let mut entry = [0u8; TABLE_ENTRY_BYTES];
        if let Some(filter) = filter {
            filter.dma_copy_descriptor_to(&mut entry[..DESCRIPTOR_BYTES]);
            let block = filter.dma_fingerprints();
            entry[24..32].copy_from_slice(&self.next_offset.to_le_bytes());
            entry[32..40].copy_from_slice(&(block.len() as u64).to_le_bytes());
            self.file.seek(SeekFrom::Start(self.next_offset))?;
            self.file.write_all(block)?;
            self.next_offset = (self.next_offset + block.len() as u64).next_multiple_of(8);
        }
        let at = (HEADER_BYTES + shard * TABLE_ENTRY_BYTES) as u64;
        self.file.seek(SeekFrom::Start(at))?;
        self.file.write_all(&entry)
    }

    /// Writes the count of entries, pads the last block, and syncs.
    pub(crate) fn finish(mut self, entries: u64) -> io::Result<File> {
        self.file.seek(SeekFrom::Start(16))?;
        self.file.write_all(&entries.to_le_bytes())?;
        self.file.set_len(self.next_offset)?;
        self.file.sync_all()?;
        Ok(self.file)
    }
}
