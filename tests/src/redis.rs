//! A real `redis-server` (Debian's, installed by scripts/setup.sh) on a
//! free loopback port, in a folder of its own, stopped by its process id.
//! With AOF on (`appendfsync always`), what was written survives a stop.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    aof: bool,
    /// Serves TLS only, with a certificate from the CA at `ca_file()`.
    tls: bool,
    /// Replicates this primary (`--replicaof`).
    primary: Option<SocketAddr>,
    child: Option<Child>,
}

impl RedisServer {
    /// A server that keeps nothing on disk.
    pub fn start() -> RedisServer {
        RedisServer::start_with(false)
    }

    /// A server with the append-only file on, fsynced on every write.
    pub fn start_with_aof() -> RedisServer {
        RedisServer::start_with(true)
    }

    /// A replica of `primary`, with AOF on.
    pub fn replica_of(primary: &RedisServer) -> RedisServer {
        let mut s = RedisServer::unstarted(true);
        s.primary = Some(primary.addr);
        s.spawn();
        s
    }

    fn unstarted(aof: bool) -> RedisServer {
        RedisServer {
            addr: crate::free_addr("127.0.0.1"),
            dir: tempfile::tempdir().unwrap(),
            aof,
            tls: false,
            primary: None,
            child: None,
        }
    }

    /// A server that speaks TLS only, with a certificate for 127.0.0.1
    /// signed by a CA of its own (`ca_file`).
    pub fn start_tls() -> RedisServer {
        let mut s = RedisServer::unstarted(false);
        s.tls = true;
        make_ca_and_certificate(s.dir.path());
        s.spawn();
        s
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start_with(aof: bool) -> RedisServer {
        let mut s = RedisServer::unstarted(aof);
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let aof = if self.aof { "yes" } else { "no" };
        let mut cmd = Command::new("redis-server");
        if let Some(p) = self.primary {
            cmd.args(["--replicaof", "127.0.0.1"])
                .arg(p.port().to_string());
        }
        if self.tls {
            let d = self.dir.path();
            cmd.args(["--port", "0", "--tls-port"])
                .arg(self.addr.port().to_string())
                .arg("--tls-cert-file")
                .arg(d.join("server.pem"))
                .arg("--tls-key-file")
                .arg(d.join("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(d.join("ca.pem"))
                .args(["--tls-auth-clients", "no"]);
        } else {
            cmd.arg("--port").arg(self.addr.port().to_string());
        }
        let child = cmd
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", aof, "--appendfsync", "always"])
            .args(["--daemonize", "no", "--protected-mode", "yes"])
            // `DEBUG SLEEP` for the slow-store drill (loopback clients only).
            .args(["--enable-debug-command", "local", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/setup.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Runs `redis-cli` against the server and returns what it printed.
    pub fn cli(&self, args: &[&str]) -> String {
        let ca = self.tls.then(|| self.ca_file());
        redis_cli(self.addr, ca.as_deref(), args)
    }

    /// Stops the server (SIGKILL by its process id) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and folder (and AOF file).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `redis-cli` against `addr` (over TLS trusting `ca`) and returns
/// what it printed.
fn redis_cli(addr: SocketAddr, ca: Option<&std::path::Path>, args: &[&str]) -> String {
    let mut cmd = Command::new("redis-cli");
    if let Some(ca) = ca {
        cmd.arg("--tls").arg("--cacert").arg(ca);
    }
    let out = cmd
        .args(["-h", "127.0.0.1", "-p"])
        .arg(addr.port().to_string())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `ca.pem` (a CA of its own) and `server.pem`/`server.key` (for
/// 127.0.0.1, signed by it) into `dir`, with the `openssl` command.
pub fn make_ca_and_certificate(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl (installed by scripts/setup.sh)");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Sekisho test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}

/// A Redis Sentinel (`redis-server … --sentinel`) watching one primary as
/// `name`, quick to act: down after 1 s, quorum 1.
pub struct Sentinel {
    pub addr: SocketAddr,
    /// Holds its config file, which the Sentinel rewrites.
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Sentinel {
    pub fn start(primary: &RedisServer, name: &str) -> Sentinel {
        let addr = crate::free_addr("127.0.0.1");
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "bind 127.0.0.1\nport {port}\ndir {dir}\n\
                 sentinel monitor {name} 127.0.0.1 {p} 1\n\
                 sentinel down-after-milliseconds {name} 1000\n\
                 sentinel failover-timeout {name} 3000\n",
                port = addr.port(),
                dir = dir.path().display(),
                p = primary.addr.port(),
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server --sentinel");
        let s = Sentinel {
            addr,
            _dir: dir,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.cli(&["PING"]).trim() != "PONG" {
            assert!(Instant::now() < deadline, "the sentinel did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.addr, None, args)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
