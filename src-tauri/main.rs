// Prevents an additional console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    offsite_core::allocator::configure();
    // WebKitGTK's DMA-BUF renderer keeps ≈90 MiB more in the web process of an idle window
    // (measured: tests/perf/idle-memory.sh, 313 → 220 MiB PSS in total) and is a known cause of
    // blank windows on some GPU drivers; a list-and-forms app does not need it. Set before any
    // thread starts; a user's own setting (e.g. `WEBKIT_DISABLE_DMABUF_RENDERER=0`) wins.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    offsite_desktop::run()
}
