//! A real PostgreSQL server (Debian's, installed by scripts/setup.sh): a
//! cluster made by `initdb` in a temporary folder, a `postgres` process on
//! a free loopback port, stopped by its process id. As root, the server
//! runs as the `postgres` account, since PostgreSQL refuses to run as root.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The role every test server's gateway signs in as.
pub const ROLE: &str = "sekisho";

pub struct PostgresServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    /// Serves TLS only, with a certificate from the CA at `ca_file()`.
    tls: bool,
    child: Option<Child>,
}

/// One of PostgreSQL's programs: on the `PATH`, or in Debian's folder of
/// the newest version installed.
pub fn program(name: &str) -> PathBuf {
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }) {
        return found;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
    });
    versions
        .pop()
        .map(|v| v.join("bin").join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name}: PostgreSQL is not installed (scripts/setup.sh)"))
}

/// The account the server runs as: ours, or `postgres` when we are root.
fn server_account() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("the postgres account (Debian's postgresql package makes it)")
    };
    Some((id("-u"), id("-g")))
}

fn as_server_account(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = server_account() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

impl PostgresServer {
    /// A fresh cluster with an empty database `sekisho`.
    pub fn start() -> PostgresServer {
        PostgresServer::start_with(false)
    }

    /// A server that accepts TLS connections only, with a certificate for
    /// 127.0.0.1 signed by a CA of its own (`ca_file`).
    pub fn start_tls() -> PostgresServer {
        PostgresServer::start_with(true)
    }

    fn start_with(tls: bool) -> PostgresServer {
        let dir = tempfile::tempdir().unwrap();
        let s = PostgresServer {
            addr: crate::free_addr("127.0.0.1"),
            dir,
            tls,
            child: None,
        };
        s.init();
        let mut s = s;
        s.spawn();
        s.psql("postgres", &format!("CREATE DATABASE {ROLE}"));
        s
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn init(&self) {
        if let Some((uid, gid)) = server_account() {
            chown(self.dir.path(), uid, gid);
        }
        let out = as_server_account(&mut Command::new(program("initdb")))
            .arg("-D")
            .arg(self.data())
            .args(["-A", "trust", "-U", ROLE, "-E", "UTF8", "--no-locale"])
            .arg("--no-sync")
            .stdin(Stdio::null())
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if self.tls {
            crate::redis::make_ca_and_certificate(self.dir.path());
            // Loopback TCP only over TLS; the local socket (for psql) too.
            std::fs::write(
                self.data().join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
            if let Some((uid, gid)) = server_account() {
                for f in ["server.pem", "server.key", "ca.pem"] {
                    chown(&self.dir.path().join(f), uid, gid);
                }
            }
            let status = Command::new("chmod")
                .arg("600")
                .arg(self.dir.path().join("server.key"))
                .status()
                .unwrap();
            assert!(status.success());
        }
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(program("postgres"));
        as_server_account(&mut cmd)
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.addr.port().to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            // A test cluster: nothing to protect from a power cut.
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        if self.tls {
            let d = self.dir.path();
            cmd.args(["-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", d.join("server.pem").display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", d.join("server.key").display()));
        }
        self.child = Some(cmd.spawn().expect("postgres"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .try_psql("postgres", "SELECT 1")
            .is_some_and(|o| o.contains('1'))
        {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The gateway's URL of database `sekisho`.
    pub fn url(&self) -> String {
        format!("postgres://{}/{ROLE}", self.addr)
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn try_psql(&self, database: &str, sql: &str) -> Option<String> {
        let out = Command::new(program("psql"))
            .arg("-h")
            .arg(self.dir.path())
            .args([
                "-p",
                &self.addr.port().to_string(),
                "-U",
                ROLE,
                "-d",
                database,
            ])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `sql` in `database` (over the local socket) and returns what
    /// psql printed, unaligned; panics when it fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        self.try_psql(database, sql)
            .unwrap_or_else(|| panic!("psql {database}: {sql}"))
    }

    /// Stops the server at once (SIGKILL to the postmaster, by its id, and
    /// to its backends) and waits for it: a crash, as an outage is.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal_all(c.id(), "-KILL");
            let _ = c.wait();
            // The backends leave with their postmaster.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again on the same port and cluster.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Freezes every process of the server (SIGSTOP): connections stay
    /// open and nothing answers.
    pub fn pause(&self) {
        if let Some(c) = &self.child {
            signal_all(c.id(), "-STOP");
        }
    }

    pub fn resume(&self) {
        if let Some(c) = &self.child {
            signal_all(c.id(), "-CONT");
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.resume();
        self.stop();
    }
}

/// Signals the postmaster, then its children. (Each backend makes itself
/// a process group of its own, so the postmaster's group is not theirs.)
/// The postmaster first, so that it forks no new one meanwhile.
fn signal_all(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status();
    let _ = Command::new("pkill")
        .arg(signal)
        .arg("-P")
        .arg(pid.to_string())
        .status();
}

fn chown(path: &Path, uid: u32, gid: u32) {
    let status = Command::new("chown")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {}", path.display());
}
