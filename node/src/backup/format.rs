//! The backup file: a header, sections, an end marker.
//!
//! ```text
//! "KOPNET-BACKUP\n"  (14 bytes)   FORMAT_VERSION u32 LE
//! section*:  kind u8 | name_len u16 LE | name | len u64 LE | payload | blake3 (32)
//! ```
//!
//! The blake3 of each section covers its kind, name and payload (keyed by
//! [`SECTION_DOMAIN`]); the last section is [`Kind::End`], whose payload
//! is the running blake3 of every earlier section's hash, so a file cut
//! short, reordered or spliced is refused even where each section is
//! whole. Every length is bounded ([`NAME_BYTES_MAX`],
//! [`PAYLOAD_BYTES_MAX`]) before anything is allocated.

use std::io::{Read, Write};

/// The file's first bytes.
pub const MAGIC: &[u8; 14] = b"KOPNET-BACKUP\n";
/// The format this code writes. Format 2 added the snapshot sections
/// ([`Kind::SnapshotManifest`], [`Kind::SnapshotChunk`]); a kopnet that reads
/// only format 1 refuses a format-2 file by its version, plainly.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format this code reads (format 1 is format 2 without
/// snapshot sections).
pub const FORMAT_VERSION_OLDEST: u32 = 1;
/// Longest section name (a home file's relative path, an address).
pub const NAME_BYTES_MAX: usize = 256;
/// Largest section payload: a block (12 MiB at most) with its certificate.
pub const PAYLOAD_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Domain of the per-section hash.
pub const SECTION_DOMAIN: &str = "kopnet/backup/section/v1";
/// Domain of the end marker's hash over all sections.
pub const END_DOMAIN: &str = "kopnet/backup/end/v1";

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JSON: chain id, height, when, by which version ([`super::Header`]).
    Header,
    /// A file of the node's home; the name is its path relative to the home.
    HomeFile,
    /// One committed block and its commit certificate (name: the height).
    Block,
    /// One member's personal data (name: the address; payload: the
    /// personal store's JSON form).
    Member,
    /// The manifest of the snapshot the chain starts from (name: its
    /// height; payload: the encoded [`kopnet_ledger::snapshot::Manifest`]).
    SnapshotManifest,
    /// One chunk of that snapshot (name: its index), in order.
    SnapshotChunk,
    /// The end marker (name empty; payload: the hash over all sections).
    End,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Header => 1,
            Kind::HomeFile => 2,
            Kind::Block => 3,
            Kind::Member => 4,
            Kind::SnapshotManifest => 5,
            Kind::SnapshotChunk => 6,
            Kind::End => 0xff,
        }
    }

    fn from_byte(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Header,
            2 => Kind::HomeFile,
            3 => Kind::Block,
            4 => Kind::Member,
            5 => Kind::SnapshotManifest,
            6 => Kind::SnapshotChunk,
            0xff => Kind::End,
            _ => return None,
        })
    }
}

/// Why a backup file cannot be read. Reading never writes anything.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a kopnet backup file (it does not start with the backup header)")]
    NotABackup,
    #[error(
        "backup format {0} is not one this kopnet reads (it reads {FORMAT_VERSION_OLDEST} to {FORMAT_VERSION})"
    )]
    Version(u32),
    #[error("the backup file ends in the middle of section {section}: it is cut short")]
    Truncated { section: u64 },
    #[error(
        "the backup file ends without its end marker after {sections} sections: it is cut short"
    )]
    NoEnd { sections: u64 },
    #[error("section {section} has an unknown kind {kind}")]
    UnknownKind { section: u64, kind: u8 },
    #[error("section {section}'s {what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        section: u64,
        what: &'static str,
        len: u64,
        max: u64,
    },
    #[error("section {section}'s name is not UTF-8")]
    BadName { section: u64 },
    #[error("section {section} ({name}) does not match its checksum: the file is damaged")]
    Checksum { section: u64, name: String },
    #[error(
        "the end marker does not match the sections before it: the file is damaged or spliced"
    )]
    EndMismatch,
    #[error("bytes follow the end marker: the file is damaged")]
    TrailingBytes,
    #[error("reading the backup: {0}")]
    Io(#[from] std::io::Error),
}

fn section_hash(kind: Kind, name: &str, payload: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(SECTION_DOMAIN);
    hasher.update(&[kind.byte()]);
    hasher.update(&(name.len() as u64).to_le_bytes());
    hasher.update(name.as_bytes());
    hasher.update(payload);
    *hasher.finalize().as_bytes()
}

/// Writes sections to `W` and ends the file with [`Writer::finish`].
pub struct Writer<W: Write> {
    out: W,
    sections: blake3::Hasher,
    count: u64,
}

impl<W: Write> Writer<W> {
    /// Start a file: the magic and the version.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_le_bytes())?;
        Ok(Writer {
            out,
            sections: blake3::Hasher::new_derive_key(END_DOMAIN),
            count: 0,
        })
    }

    /// Add one section. Names and payloads over the bounds are refused.
    pub fn section(&mut self, kind: Kind, name: &str, payload: &[u8]) -> std::io::Result<()> {
        if name.len() > NAME_BYTES_MAX || payload.len() as u64 > PAYLOAD_BYTES_MAX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("section {name:?} is larger than a backup section may be"),
            ));
        }
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        let hash = section_hash(kind, name, payload);
        self.out.write_all(&[kind.byte()])?;
        self.out.write_all(&name_len.to_le_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&(payload.len() as u64).to_le_bytes())?;
        self.out.write_all(payload)?;
        self.out.write_all(&hash)?;
        self.sections.update(&hash);
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// Write the end marker and hand back the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        let end = *self.sections.finalize().as_bytes();
        self.section(Kind::End, "", &end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One section read back and checked.
#[derive(Debug)]
pub struct Section {
    pub kind: Kind,
    pub name: String,
    pub payload: Vec<u8>,
}

/// Reads and checks sections one by one; `Ok(None)` after a valid end
/// marker that nothing follows.
pub struct Reader<R: Read> {
    input: R,
    sections: blake3::Hasher,
    count: u64,
    ended: bool,
}

impl<R: Read> Reader<R> {
    /// Check the magic and the version.
    pub fn new(mut input: R) -> Result<Self, FormatError> {
        let mut magic = [0u8; 14];
        read_exact_or(&mut input, &mut magic, FormatError::NotABackup)?;
        if &magic != MAGIC {
            return Err(FormatError::NotABackup);
        }
        let mut version = [0u8; 4];
        read_exact_or(&mut input, &mut version, FormatError::NotABackup)?;
        let version = u32::from_le_bytes(version);
        if !(FORMAT_VERSION_OLDEST..=FORMAT_VERSION).contains(&version) {
            return Err(FormatError::Version(version));
        }
        Ok(Reader {
            input,
            sections: blake3::Hasher::new_derive_key(END_DOMAIN),
            count: 0,
            ended: false,
        })
    }

    /// The next section (never the end marker, which is checked here).
    pub fn next_section(&mut self) -> Result<Option<Section>, FormatError> {
        if self.ended {
            return Ok(None);
        }
        let section = self.count;
        let cut = || FormatError::Truncated { section };
        let mut kind = [0u8; 1];
        if self.input.read(&mut kind)? == 0 {
            return Err(FormatError::NoEnd { sections: section });
        }
        let kind = Kind::from_byte(kind[0]).ok_or(FormatError::UnknownKind {
            section,
            kind: kind[0],
        })?;
        let mut len2 = [0u8; 2];
        read_exact_or(&mut self.input, &mut len2, cut())?;
        let name_len = usize::from(u16::from_le_bytes(len2));
        if name_len > NAME_BYTES_MAX {
            return Err(FormatError::TooLarge {
                section,
                what: "name",
                len: name_len as u64,
                max: NAME_BYTES_MAX as u64,
            });
        }
        let mut name = vec![0u8; name_len];
        read_exact_or(&mut self.input, &mut name, cut())?;
        let name = String::from_utf8(name).map_err(|_| FormatError::BadName { section })?;
        let mut len8 = [0u8; 8];
        read_exact_or(&mut self.input, &mut len8, cut())?;
        let len = u64::from_le_bytes(len8);
        if len > PAYLOAD_BYTES_MAX {
            return Err(FormatError::TooLarge {
                section,
                what: "payload",
                len,
                max: PAYLOAD_BYTES_MAX,
            });
        }
        let mut payload = vec![0u8; usize::try_from(len).unwrap_or(0)];
        read_exact_or(&mut self.input, &mut payload, cut())?;
        let mut hash = [0u8; 32];
        read_exact_or(&mut self.input, &mut hash, cut())?;
        if hash != section_hash(kind, &name, &payload) {
            return Err(FormatError::Checksum { section, name });
        }
        self.count = self.count.saturating_add(1);
        if kind == Kind::End {
            if payload.as_slice() != self.sections.finalize().as_bytes() {
                return Err(FormatError::EndMismatch);
            }
            let mut rest = [0u8; 1];
            if self.input.read(&mut rest)? != 0 {
                return Err(FormatError::TrailingBytes);
            }
            self.ended = true;
            return Ok(None);
        }
        self.sections.update(&hash);
        Ok(Some(Section {
            kind,
            name,
            payload,
        }))
    }
}

fn read_exact_or<R: Read>(
    input: &mut R,
    buf: &mut [u8],
    short: FormatError,
) -> Result<(), FormatError> {
    match input.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(short),
        Err(e) => Err(FormatError::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.section(Kind::Header, "", b"{}").unwrap();
        w.section(Kind::HomeFile, "config.toml", b"role = \"validator\"")
            .unwrap();
        w.section(Kind::Block, "1", &[7; 100]).unwrap();
        w.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Section>, FormatError> {
        let mut r = Reader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(s) = r.next_section()? {
            out.push(s);
        }
        Ok(out)
    }

    #[test]
    fn round_trip() {
        let sections = read_all(&sample()).unwrap();
        assert_eq!(sections.len(), 3);
        assert_eq!(sections[1].name, "config.toml");
        assert_eq!(sections[2].payload, vec![7; 100]);
    }

    /// Every cut of the file and every flipped byte is refused with a
    /// typed error, never a panic or a silent success.
    #[test]
    fn every_cut_and_every_flip_is_refused() {
        let good = sample();
        for cut in 0..good.len() {
            assert!(read_all(&good[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            assert!(read_all(&bad).is_err(), "flip at {at}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(read_all(&longer), Err(FormatError::TrailingBytes)));
    }

    /// Sections from another file spliced in keep their checksums but not
    /// the end marker's.
    #[test]
    fn a_dropped_section_breaks_the_end_marker() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.section(Kind::Header, "", b"{}").unwrap();
        let mut whole = w.finish().unwrap();
        // Add a valid section before the end marker of a file that did not have it.
        let mut other = Writer::new(Vec::new()).unwrap();
        other.section(Kind::Header, "", b"{}").unwrap();
        other.section(Kind::Block, "1", b"x").unwrap();
        let spliced = other.finish().unwrap();
        assert!(read_all(&spliced).is_ok());
        // The end marker of the one-section file after two sections.
        let end_of_one = whole.split_off(MAGIC.len() + 4 + 1 + 2 + 8 + 2 + 32);
        let two_sections_len = spliced.len() - end_of_one.len();
        let mut forged = spliced[..two_sections_len].to_vec();
        forged.extend_from_slice(&end_of_one);
        assert!(matches!(read_all(&forged), Err(FormatError::EndMismatch)));
    }

    #[test]
    fn oversized_lengths_are_refused_before_allocating() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.push(3);
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.push(b'1');
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            read_all(&bytes),
            Err(FormatError::TooLarge {
                what: "payload",
                ..
            })
        ));
        let mut wrong = sample();
        wrong[MAGIC.len()] = 9;
        assert!(matches!(read_all(&wrong), Err(FormatError::Version(9))));
        // Format 1 (before snapshot sections) still reads; the next one
        // does not.
        let mut older = sample();
        older[MAGIC.len()] = 1;
        assert!(read_all(&older).is_ok());
        let mut newer = sample();
        newer[MAGIC.len()] = 3;
        assert!(matches!(read_all(&newer), Err(FormatError::Version(3))));
        assert!(matches!(read_all(b"hello"), Err(FormatError::NotABackup)));
    }
}
