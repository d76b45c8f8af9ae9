/// mimalloc: the proxy allocates small, short-lived buffers on every request
/// from several threads, where glibc malloc spent a tenth of the CPU
/// (profile in the benchmark report).
// mimalloc, unless built for a heap profiler (which follows malloc only).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    #[cfg(not(feature = "system-allocator"))]
    allocator_options::apply();
    sekisho::cli::main()
}

/// The allocator's options for a long-running gateway, whoever starts it.
///
/// With mimalloc's defaults, memory freed after a flood of connections or
/// a burst of logins (argon2 takes 19 MiB a hash) stays in the process:
/// freed pages are purged only when their thread allocates again, and
/// eagerly committed arenas are reset rather than decommitted. Purging at
/// once and committing on demand gives it back (`docs/performance.md`:
/// 119 → 47 MiB at rest after a benchmark's load, 242 → 185 MiB with
/// 10,000 idle connections, P8). mimalloc reads its options from the
/// environment before `main`, so a process started without them is
/// started again, in place (the same process id and arguments), with
/// them; an operator's own values are kept.
#[cfg(not(feature = "system-allocator"))]
mod allocator_options {
    use std::os::unix::process::CommandExt;

    const OPTIONS: [(&str, &str); 2] = [
        ("MIMALLOC_PURGE_DELAY", "0"),
        ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ];

    pub fn apply() {
        if OPTIONS.iter().all(|(k, _)| std::env::var_os(k).is_some()) {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next();
        let mut again = std::process::Command::new(exe);
        again.args(args);
        if let Some(arg0) = arg0 {
            again.arg0(arg0);
        }
        for (k, v) in OPTIONS {
            if std::env::var_os(k).is_none() {
                again.env(k, v);
            }
        }
        // `exec` returns only when it failed: the gateway then runs with
        // the allocator's defaults, which are correct, only heavier.
        let _ = again.exec();
    }
}
