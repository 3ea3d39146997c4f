//! `allocator::configure` in a process of its own (malloc's settings are process-wide): with
//! it, a 3 MiB block comes from the heap and its memory stays there when it is freed (a
//! download's chunks are reused, not given back and faulted in again), and a 5 MiB block is a
//! mapping of its own. With glibc's defaults the 3 MiB block would be a mapping of its own too.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn blocks_below_the_thresholds_stay_in_the_heap() {
    // Settings in the environment win over `configure`; this test checks the built-in ones.
    for var in [
        "GLIBC_TUNABLES",
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
    ] {
        assert!(
            std::env::var_os(var).is_none(),
            "run this test without {var} set"
        );
    }
    offsite_core::allocator::configure();
    const MIB: usize = 1 << 20;
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = || unsafe { libc::mallinfo2() };

    let before = info();
    let block = std::hint::black_box(vec![1u8; 3 * MIB]);
    let with_block = info();
    assert_eq!(
        with_block.hblks, before.hblks,
        "a 3 MiB block must come from the heap, not a mapping of its own"
    );
    assert!(
        with_block.arena >= before.arena + 2 * MIB,
        "the heap grew by the block: {} → {} bytes",
        before.arena,
        with_block.arena
    );
    drop(block);
    let freed = info();
    assert_eq!(
        freed.arena, with_block.arena,
        "the freed 3 MiB stay in the heap for the next block (heap {} → {} → {} bytes)",
        before.arena, with_block.arena, freed.arena
    );
    // The next 3 MiB block reuses them: the heap does not grow.
    let again = std::hint::black_box(vec![2u8; 3 * MIB]);
    assert_eq!(info().arena, freed.arena);
    drop(again);

    let big = std::hint::black_box(vec![3u8; 5 * MIB]);
    assert_eq!(
        info().hblks,
        freed.hblks + 1,
        "a 5 MiB block is a mapping of its own"
    );
    drop(big);
}
