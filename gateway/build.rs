//! Stamps the binary with its commit (`sekisho -V`, `sekisho_build_info`):
//! `SEKISHO_COMMIT` from the environment, else `git`, else "unknown".

fn main() {
    let commit = std::env::var("SEKISHO_COMMIT").ok().unwrap_or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    });
    println!("cargo:rustc-env=SEKISHO_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=SEKISHO_COMMIT");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
