/// mimalloc: the proxy allocates small, short-lived buffers on every request
/// from several threads, where glibc malloc spent a tenth of the CPU
/// (profile in the benchmark report).
// mimalloc, unless built for a heap profiler (which follows malloc only).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sekisho::cli::main()
}
