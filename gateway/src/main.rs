/// mimalloc: the proxy allocates small, short-lived buffers on every request
/// from several threads, where glibc malloc spent a tenth of the CPU
/// (profile in the benchmark report).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sekisho::cli::main()
}
