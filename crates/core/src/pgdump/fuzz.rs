//! Fuzzing the pg_dump archive reader (see `offsite_testkit::fuzz`): mutated valid archives of
//! every version and arbitrary bytes are read to their end; the reader never panics and fails
//! only with `integrity` / `unsupported_format`.

use super::tests::sample;
use super::*;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::io::{Cursor, Read};

/// Read everything there is; the first error.
fn read_through(bytes: &[u8]) -> Result<u64> {
    let mut r = DumpReader::new(Cursor::new(bytes))?;
    let mut total = 0u64;
    let mut buf = vec![0u8; 4096];
    let mut drain = |r: &mut DumpReader<Cursor<&[u8]>>, total: &mut u64| -> Result<()> {
        let mut data = r.data();
        loop {
            match data.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => *total += n as u64,
                Err(e) => return Err(io_error(e, "reading")),
            }
        }
    };
    while let Some(b) = r.next_block()? {
        if b.kind == BlockKind::LargeObjects {
            while r.next_large_object()?.is_some() {
                drain(&mut r, &mut total)?;
            }
        } else {
            drain(&mut r, &mut total)?;
        }
    }
    for e in r.toc() {
        if let Some(c) = &e.copy_stmt {
            let _ = parse_copy_stmt(c);
        }
    }
    Ok(total)
}

#[test]
fn fuzz_pgdump_reader() {
    let samples: Vec<Vec<u8>> = [(12, 0), (14, 0), (14, -1), (15, 1), (16, 0)]
        .into_iter()
        .map(|(m, c)| sample(m, c).0)
        .collect();
    let input = (
        0..samples.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        proptest::option::of(any::<prop::sample::Index>()),
        proptest::collection::vec(any::<u8>(), 0..64),
    );
    let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
    runner
        .run(&input, |(which, flips, cut, raw)| {
            let mut bytes = samples[which].clone();
            for (at, v) in &flips {
                let i = at.index(bytes.len());
                bytes[i] = *v;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            for candidate in [bytes, raw] {
                if let Err(e) = read_through(&candidate) {
                    prop_assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::Integrity | ErrorKind::UnsupportedFormat
                        ),
                        "unexpected error kind {:?}: {}",
                        e.kind(),
                        e.message()
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}
