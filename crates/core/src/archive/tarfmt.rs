//! The tar layer: encoding member headers (GNU format) and a small, strict streaming parser.
//!
//! We do not use `tar::Builder`/`tar::Archive` for the stream itself because the writer must emit
//! headers, data and padding into different gzip members, and the reader must tell apart "clean
//! end-of-archive marker", "stream ended without one", "truncated data" and "corrupt
//! decompression" — distinctions `tar::Archive` does not expose. `tar::Header` is still used to
//! encode header fields (octal / base-256 numbers, checksum).

use std::io::{self, Read};

pub(crate) const BLOCK: usize = 512;

/// Bytes of zero padding after `size` bytes of member data.
pub(crate) fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

pub(crate) const ZEROS: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

/// The header block(s) of one regular-file member: a GNU `././@LongLink` entry first when the
/// name does not fit the 100-byte name field. The name must already be validated.
pub(crate) fn file_header(name: &str, size: u64, mtime: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOCK * 3);
    let name = name.as_bytes();
    let mut header = tar::Header::new_gnu();
    if name.len() > 100 {
        // GNU long name: a pseudo-entry whose data is the NUL-terminated name.
        let mut long = tar::Header::new_gnu();
        long.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        long.set_entry_type(tar::EntryType::GNULongName);
        long.set_mode(0o644);
        long.set_uid(0);
        long.set_gid(0);
        long.set_mtime(0);
        long.set_size(name.len() as u64 + 1);
        long.set_cksum();
        out.extend_from_slice(long.as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.resize(out.len() + padding(name.len() as u64 + 1), 0);
        header
            .as_gnu_mut()
            .unwrap()
            .name
            .copy_from_slice(&name[..100]);
    } else {
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    }
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(size);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out
}

/// What a header describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
    /// Devices, FIFOs, sparse files, unknown type flags: never accepted.
    Other(u8),
}

#[derive(Debug, Clone)]
pub(crate) struct EntryHeader {
    /// The member name (lossily decoded when not UTF-8; see `utf8`).
    pub name: String,
    pub utf8: bool,
    pub kind: Kind,
    pub size: u64,
}

impl EntryHeader {
    /// Why this entry must not be written to disk, if it must not.
    pub fn unsafe_reason(&self) -> Option<String> {
        if !self.utf8 {
            return Some("name is not valid UTF-8".into());
        }
        match &self.kind {
            Kind::File => crate::archive::check_member_name(&self.name, false).err(),
            Kind::Dir => crate::archive::check_member_name(&self.name, true).err(),
            Kind::Symlink(target) => Some(format!("symbolic link to {target:?}")),
            Kind::Hardlink(target) => Some(format!("hard link to {target:?}")),
            Kind::Other(flag) => Some(format!("unsupported entry type {:?}", *flag as char)),
        }
    }
}

/// Why the tar stream could not be read further.
#[derive(Debug)]
pub(crate) enum TarError {
    /// The decompressed stream ended in the middle of a header or of member data.
    Truncated,
    /// The underlying reader failed: corrupt deflate data, gzip CRC mismatch, a bad gzip header
    /// of a later member, or a read error of the file itself.
    Stream(io::Error),
    /// A header block is not a valid tar header (or an extension header is malformed).
    BadHeader(String),
}

impl std::fmt::Display for TarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TarError::Truncated => f.write_str("the archive is truncated"),
            TarError::Stream(e) => write!(f, "the compressed data is damaged or unreadable ({e})"),
            TarError::BadHeader(why) => write!(f, "invalid tar header: {why}"),
        }
    }
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            TarError::Truncated
        } else {
            TarError::Stream(e)
        }
    }
}

/// What [`TarReader::next`] found.
#[derive(Debug)]
pub(crate) enum Next {
    Entry(EntryHeader),
    /// A zero block: the end-of-archive marker.
    End,
    /// The stream ended cleanly at a block boundary without an end-of-archive marker.
    Eof,
}

/// Largest GNU long-name or pax extension payload we accept.
const MAX_EXT: u64 = 1 << 20;

/// A streaming tar parser. Call [`next`](Self::next) for each header, then
/// [`read`](Self::read) for the entry's data (unread data is skipped by the next `next`).
/// After any error the reader stays failed.
pub(crate) struct TarReader<R> {
    inner: R,
    /// Data bytes of the current entry not yet consumed.
    remaining: u64,
    /// Padding after the current entry's data not yet consumed.
    pad: u64,
    failed: bool,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R) -> Self {
        TarReader {
            inner,
            remaining: 0,
            pad: 0,
            failed: false,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Data bytes of the current entry still unread.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn fail<T>(&mut self, e: TarError) -> Result<T, TarError> {
        self.failed = true;
        Err(e)
    }

    /// Reads up to `buf.len()` bytes of the current entry; `Ok(0)` only at the entry's end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        if self.failed {
            return Err(TarError::Stream(io::Error::other(
                "archive reader already failed",
            )));
        }
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => return self.fail(TarError::Truncated),
                Ok(n) => {
                    self.remaining -= n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(e.into()),
            }
        }
    }

    /// Fills `buf` as far as the current entry allows; returns the bytes read (short only at
    /// the entry's end).
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        let mut n = 0;
        while n < buf.len() {
            match self.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// Discards `n` bytes of the stream (data or padding).
    fn skip(&mut self, mut n: u64) -> Result<(), TarError> {
        let mut scratch = [0u8; 8192];
        while n > 0 {
            let want = scratch.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            match self.inner.read(&mut scratch[..want]) {
                Ok(0) => return self.fail(TarError::Truncated),
                Ok(k) => n -= k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(e.into()),
            }
        }
        Ok(())
    }

    /// Reads one 512-byte block; `Ok(false)` on a clean end of stream before its first byte.
    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> Result<bool, TarError> {
        let mut n = 0;
        while n < BLOCK {
            match self.inner.read(&mut block[n..]) {
                Ok(0) if n == 0 => return Ok(false),
                Ok(0) => return self.fail(TarError::Truncated),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(e.into()),
            }
        }
        Ok(true)
    }

    /// Reads the (small) data of an extension entry.
    fn read_ext(&mut self, size: u64) -> Result<Vec<u8>, TarError> {
        if size > MAX_EXT {
            return self.fail(TarError::BadHeader(format!(
                "extension header of {size} bytes"
            )));
        }
        let mut data = vec![0u8; size as usize];
        self.remaining = size;
        let n = self.fill(&mut data)?;
        debug_assert_eq!(n, data.len());
        self.skip(padding(size) as u64)?;
        Ok(data)
    }

    /// Skips what is left of the current entry and reads the next header.
    pub fn next(&mut self) -> Result<Next, TarError> {
        if self.failed {
            return Err(TarError::Stream(io::Error::other(
                "archive reader already failed",
            )));
        }
        self.skip(self.remaining + self.pad)?;
        self.remaining = 0;
        self.pad = 0;

        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax_path: Option<Vec<u8>> = None;
        let mut pax_link: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        let mut block = [0u8; BLOCK];
        loop {
            if !self.read_block(&mut block)? {
                if long_name.is_some() || pax_path.is_some() || pax_size.is_some() {
                    return self.fail(TarError::Truncated);
                }
                return Ok(Next::Eof);
            }
            if block.iter().all(|&b| b == 0) {
                return Ok(Next::End);
            }
            if let Err(why) = check_checksum(&block) {
                return self.fail(TarError::BadHeader(why));
            }
            let Some(size) = parse_num(&block[124..136]) else {
                return self.fail(TarError::BadHeader("invalid size field".into()));
            };
            let flag = block[156];
            match flag {
                b'L' => long_name = Some(trim_nul(self.read_ext(size)?)),
                b'K' => long_link = Some(trim_nul(self.read_ext(size)?)),
                b'x' => {
                    let data = self.read_ext(size)?;
                    let recs = match parse_pax(&data) {
                        Ok(r) => r,
                        Err(why) => return self.fail(TarError::BadHeader(why)),
                    };
                    for (k, v) in recs {
                        match k.as_slice() {
                            b"path" => pax_path = Some(v),
                            b"linkpath" => pax_link = Some(v),
                            b"size" => {
                                match std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()) {
                                    Some(n) => pax_size = Some(n),
                                    None => {
                                        return self
                                            .fail(TarError::BadHeader("invalid pax size".into()))
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                // Global pax header: nothing we need in it.
                b'g' => {
                    self.read_ext(size)?;
                }
                _ => {
                    let size = pax_size.unwrap_or(size);
                    let raw_name = match (pax_path.take(), long_name.take()) {
                        (Some(p), _) => p,
                        (None, Some(l)) => l,
                        (None, None) => header_name(&block),
                    };
                    let raw_link = pax_link
                        .take()
                        .or(long_link.take())
                        .unwrap_or_else(|| field_str(&block[157..257]));
                    let link = String::from_utf8_lossy(&raw_link).into_owned();
                    let kind = match flag {
                        b'0' | b'\0' | b'7' => Kind::File,
                        b'5' => Kind::Dir,
                        b'1' => Kind::Hardlink(link),
                        b'2' => Kind::Symlink(link),
                        other => Kind::Other(other),
                    };
                    let (name, utf8) = match String::from_utf8(raw_name) {
                        Ok(s) => (s, true),
                        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
                    };
                    self.remaining = size;
                    self.pad = padding(size) as u64;
                    return Ok(Next::Entry(EntryHeader {
                        name,
                        utf8,
                        kind,
                        size,
                    }));
                }
            }
        }
    }

    /// After [`Next::End`]: reads the rest of the stream (which makes the decompressor check the
    /// last gzip CRC) and checks it holds nothing but zero padding.
    pub fn finish(&mut self) -> Result<(), TarError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.inner.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    if buf[..n].iter().any(|&b| b != 0) {
                        return self.fail(TarError::BadHeader(
                            "data after the end-of-archive marker".into(),
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(e.into()),
            }
        }
    }
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// A NUL-terminated header string field.
fn field_str(field: &[u8]) -> Vec<u8> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field[..end].to_vec()
}

/// The name of a header, with the POSIX ustar prefix when present. (GNU headers use the
/// prefix area for other fields, so it is only read for the POSIX magic "ustar\0".)
fn header_name(block: &[u8; BLOCK]) -> Vec<u8> {
    let name = field_str(&block[0..100]);
    if &block[257..263] == b"ustar\0" {
        let prefix = field_str(&block[345..500]);
        if !prefix.is_empty() {
            let mut full = prefix;
            full.push(b'/');
            full.extend_from_slice(&name);
            return full;
        }
    }
    name
}

/// Verifies the header checksum (unsigned sum, with the signed variant old tars used).
fn check_checksum(block: &[u8; BLOCK]) -> Result<(), String> {
    let Some(stored) = parse_num(&block[148..156]) else {
        return Err("not a tar header (invalid checksum field)".into());
    };
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += b as i64;
        signed += b as i8 as i64;
    }
    if stored as i64 == unsigned || stored as i64 == signed {
        Ok(())
    } else {
        Err("not a tar header (checksum mismatch)".into())
    }
}

/// A numeric header field: octal text, or GNU base-256 when the high bit of the first byte is
/// set. `None` when malformed or negative.
pub(crate) fn parse_num(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return None; // negative
        }
        let mut v = (field[0] & 0x7f) as u64;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    let text: &[u8] = {
        let start = field.iter().position(|&b| b != b' ').unwrap_or(field.len());
        let rest = &field[start..];
        let end = rest
            .iter()
            .position(|&b| b == 0 || b == b' ')
            .unwrap_or(rest.len());
        &rest[..end]
    };
    let mut v: u64 = 0;
    for &b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
    }
    Some(v)
}

/// One pax record: key and value bytes.
type PaxRecord = (Vec<u8>, Vec<u8>);

/// Parses pax extended header records: `<len> <key>=<value>\n`.
pub(super) fn parse_pax(mut data: &[u8]) -> Result<Vec<PaxRecord>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.iter().all(|&b| b == 0) {
            break;
        }
        let sp = data
            .iter()
            .position(|&b| b == b' ')
            .ok_or("malformed pax record")?;
        let len: usize = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("malformed pax record length")?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err("malformed pax record".into());
        }
        let rec = &data[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&b| b == b'=')
            .ok_or("malformed pax record")?;
        out.push((rec[..eq].to_vec(), rec[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = (Vec<(EntryHeader, Vec<u8>)>, Result<Next, String>);

    fn entries(bytes: &[u8]) -> Parsed {
        let mut r = TarReader::new(bytes);
        let mut out = Vec::new();
        loop {
            match r.next() {
                Ok(Next::Entry(h)) => {
                    let mut data = vec![0u8; h.size as usize];
                    match r.fill(&mut data) {
                        Ok(n) => data.truncate(n),
                        Err(e) => return (out, Err(e.to_string())),
                    }
                    out.push((h, data));
                }
                Ok(other) => return (out, Ok(other)),
                Err(e) => return (out, Err(e.to_string())),
            }
        }
    }

    #[test]
    fn headers_roundtrip_with_tar_crate_and_own_parser() {
        let long = format!("storage/bucket/{}/file.bin", "k".repeat(150));
        let mut bytes = Vec::new();
        for (name, data) in [
            ("a.txt", &b"hello"[..]),
            (long.as_str(), &b"x"[..]),
            ("empty", &b""[..]),
        ] {
            bytes.extend(file_header(name, data.len() as u64, 1_700_000_000));
            bytes.extend_from_slice(data);
            bytes.resize(bytes.len() + padding(data.len() as u64), 0);
        }
        bytes.extend_from_slice(&ZEROS);

        // The tar crate agrees...
        let mut ar = tar::Archive::new(&bytes[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["a.txt".to_string(), long.clone(), "empty".to_string()]
        );

        // ...and so does our parser.
        let (got, end) = entries(&bytes);
        assert!(matches!(end, Ok(Next::End)), "{end:?}");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.name, "a.txt");
        assert_eq!(got[0].1, b"hello");
        assert_eq!(got[1].0.name, long);
        assert_eq!(got[1].0.kind, Kind::File);
        assert_eq!(got[2].1, b"");
    }

    #[test]
    fn big_sizes_use_base256() {
        let h = file_header("big", 20 << 30, 0);
        let block: &[u8] = &h[..BLOCK];
        assert_eq!(parse_num(&block[124..136]), Some(20 << 30));
        assert_eq!(parse_num(b"0000644\0"), Some(0o644));
        assert_eq!(parse_num(b"  12 \0"), Some(0o12));
        assert_eq!(parse_num(b"12x"), None);
    }

    #[test]
    fn truncation_and_garbage_are_errors() {
        let mut bytes = file_header("a.txt", 1000, 0);
        bytes.extend(vec![7u8; 1000]);
        bytes.resize(bytes.len() + padding(1000), 0);
        bytes.extend_from_slice(&ZEROS);
        for cut in [1, 511, 512, 700, 1512] {
            let (_, end) = entries(&bytes[..cut]);
            assert!(end.is_err(), "cut at {cut}: {end:?}");
        }
        // Cut exactly after the member's padding: no end marker.
        let (got, end) = entries(&bytes[..1536]);
        assert_eq!(got.len(), 1);
        assert!(matches!(end, Ok(Next::Eof)));
        // Not a tar header at all.
        let (_, end) = entries(&[b'x'; 1024]);
        assert!(end.unwrap_err().contains("not a tar header"));
        // Data after the end marker.
        let mut extra = bytes.clone();
        extra.extend_from_slice(b"trailing");
        let mut r = TarReader::new(&extra[..]);
        assert!(matches!(r.next().unwrap(), Next::Entry(_)));
        assert!(matches!(r.next().unwrap(), Next::End));
        assert!(r.finish().is_err());
    }

    #[test]
    fn pax_records() {
        let recs = parse_pax(b"18 path=a/b/c.txt\n10 size=5\n").unwrap();
        assert_eq!(recs[0], (b"path".to_vec(), b"a/b/c.txt".to_vec()));
        assert_eq!(recs[1], (b"size".to_vec(), b"5".to_vec()));
        assert!(parse_pax(b"99 path=x\n").is_err());
    }
}
