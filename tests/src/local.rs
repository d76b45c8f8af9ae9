//! This machine as the tests use it: free loopback ports, the workspace's
//! folder, a throw-away TLS certificate.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::{LazyLock, Mutex};

/// Every port this process has handed out: the system may give a port
/// just released to the next bind, and a gateway refuses two listeners on
/// one address, so a port is never handed out twice.
static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);

/// A free TCP port on `ip` (bound once and released), never one this
/// process handed out before.
pub fn free_port(ip: &str) -> u16 {
    loop {
        let l = TcpListener::bind((ip, 0)).expect("binding a loopback port");
        let port = l.local_addr().unwrap().port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// A free loopback address `ip:port`.
pub fn free_addr(ip: &str) -> SocketAddr {
    format!("{ip}:{}", free_port(ip)).parse().unwrap()
}

/// Where the workspace lives (for peer scripts and the binary).
pub fn workspace_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A self-signed certificate for 127.0.0.1 and localhost (openssl), for
/// tests that need TLS (`__Host-` cookies, the browser); returns the
/// certificate and key paths inside `dir`.
pub fn test_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:other.localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (installed by scripts/setup.sh)");
    assert!(
        status.success(),
        "openssl could not make a test certificate"
    );
    (cert, key)
}
