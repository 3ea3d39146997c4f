//! `allocator::release_free_memory` in a process of its own (the heap is process-wide): memory
//! freed in the middle of the heap, behind blocks still in use, is given back to the system.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn freed_memory_behind_live_blocks_is_given_back() {
    fn rss_anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon in /proc/self/status")
    }
    const MIB: u64 = 1024;
    // 64 MiB in 4 KiB heap blocks (below the mmap threshold), every 64th kept: the heap cannot
    // shrink from its top, and its free pages stay resident until they are released.
    let blocks: Vec<Vec<u8>> = (0..16 * 1024)
        .map(|i| std::hint::black_box(vec![i as u8 | 1; 4096]))
        .collect();
    let kept: Vec<Vec<u8>> = blocks
        .into_iter()
        .enumerate()
        .filter_map(|(i, b)| (i % 64 == 0).then_some(b))
        .collect();
    let before = rss_anon_kib();
    offsite_core::allocator::release_free_memory();
    let after = rss_anon_kib();
    assert!(
        before >= after + 32 * MIB,
        "resident anonymous memory {before} KiB before, {after} KiB after: the freed 63 MiB \
         were not given back"
    );
    assert!(
        kept.iter().all(|b| b.len() == 4096 && b[1] != 0),
        "live blocks intact"
    );
}
