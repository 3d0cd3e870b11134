//! The `almanac` binary: a thin `main` over [`almanac::cli`]. Before any thread starts it limits
//! glibc's malloc to one arena ([`limit_malloc_arenas`]), then runs the command on a multi-thread
//! tokio runtime.

use std::process::ExitCode;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(almanac::cli::main()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Limits glibc's malloc to one arena (`M_ARENA_MAX`, mallopt(3)) unless `MALLOC_ARENA_MAX` or
/// `GLIBC_TUNABLES` set it already. By default glibc gives threads up to eight arenas per core,
/// and memory one step frees in one thread's arena is not reused by the next step running in
/// another: a 50,000-row job then peaked at 172 MiB resident instead of 144 MiB with one arena
/// (`cargo bench -p almanac-server --bench load`, `ALMANAC_LOAD_JOBS=1 ALMANAC_LOAD_ROWS=50000`),
/// with the same throughput (glibc's per-thread caches serve most allocations without the arena
/// lock). Does nothing with another C library.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: mallopt only changes an allocator setting, and no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
