//! The real `sekisho` binary, spawned with a temporary configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A binary of the workspace's debug build, built once per test process.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::workspace_dir().join("target"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", package, "--bin", bin])
        .current_dir(crate::workspace_dir())
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building {bin} failed");
    target.join("debug").join(bin)
}

/// The binary under test: `SEKISHO_BIN`, else the workspace's debug build
/// (built once if missing).
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("SEKISHO_BIN") {
            return PathBuf::from(p);
        }
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| crate::workspace_dir().join("target"));
        let bin = target.join("debug/sekisho");
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "sekisho", "--bin", "sekisho"])
            .current_dir(crate::workspace_dir())
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building the sekisho binary failed");
        bin
    })
    .clone()
}

/// How to start a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub upstream: SocketAddr,
    /// SMTP sink port; `None` uses the outbox.
    pub smtp_port: Option<u16>,
    /// Serve TLS with this certificate and key (and production cookies).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// TOML appended to the generated file (extra tables).
    pub extra: String,
    /// Replaces `[session]`.
    pub session: String,
    /// Replaces `[password_hashing]`.
    pub hashing: String,
    /// Replaces `[throttle]` (default: effectively unlimited, so tests that
    /// log in often are not throttled; S15 sets its own).
    pub throttle: String,
    /// Tenants made by [`Gateway::create_tenant`] ask for two-step
    /// verification (off by default, so the other flows' tests log in with
    /// the password alone).
    pub two_step: bool,
    /// Also serve the closed-network route: trusted edge 127.0.0.2 (line in
    /// `X-Line-Id`), and 127.0.0.5 as a static line (`STATIC_LINE`).
    pub closed: bool,
    /// The internet listener's address (a free port when `None`), for
    /// peers that must know it beforehand (an OpenID provider's redirect).
    pub listen: Option<SocketAddr>,
    /// Replaces `[store]` (default: the embedded store in the gateway's
    /// folder); see [`GatewayOptions::redis`].
    pub store: String,
    /// The assertion's signing key (default: one made in the gateway's
    /// folder); gateways sharing a store share it.
    pub signing_key: Option<PathBuf>,
    /// The `[two_step]` table (default: a seed key made in the gateway's
    /// folder); add settings with [`GatewayOptions::two_step_settings`].
    pub two_step_table: String,
    /// `server.grace_period_seconds`: how long a draining process keeps
    /// serving (0, so that stopping is quick; the upgrade test drains).
    pub grace_period_seconds: u64,
    /// The internet route's host in its public URL (see [`Self::public_host`]).
    pub public_host: Option<String>,
}

/// The line the static table gives to connections from 127.0.0.5.
pub const STATIC_LINE: &str = "CAF0000000005";

impl GatewayOptions {
    pub fn new(upstream: SocketAddr) -> GatewayOptions {
        GatewayOptions {
            upstream,
            smtp_port: None,
            tls: None,
            extra: String::new(),
            session: "[session]\nidle_minutes = 30\nabsolute_hours = 12\n".into(),
            hashing: "[password_hashing]\npool_threads = 2\n".into(),
            throttle: "[throttle]\nper_ip_per_minute = 100000\nper_address_account_per_minute = 100000\nper_account_per_minute = 100000\n".into(),
            two_step: false,
            closed: false,
            listen: None,
            store: "[store]\npath = \"data/sekisho.sqlite3\"\n".into(),
            signing_key: None,
            two_step_table:
                "[two_step]\nseed_key_file = \"data/seed.key\"\ngenerate_seed_key = true\n".into(),
            grace_period_seconds: 0,
            public_host: None,
        }
    }
    /// Names the internet route by `host` (e.g. `localhost`) in its public
    /// URL, for passkeys, whose RP ID must be a domain name. The listener
    /// stays on its loopback address.
    pub fn public_host(mut self, host: &str) -> Self {
        self.public_host = Some(host.to_string());
        self
    }
    /// Adds `lines` (e.g. `code_cap = 5`) to the `[two_step]` table.
    pub fn two_step_settings(mut self, lines: &str) -> Self {
        self.two_step_table.push_str(lines);
        if !lines.ends_with('\n') {
            self.two_step_table.push('\n');
        }
        self
    }
    /// Keeps state in Redis at `url`: calls time out after `timeout_ms`,
    /// and cached sessions are trusted for `cache_ttl_ms`.
    pub fn redis(mut self, url: &str, timeout_ms: u64, cache_ttl_ms: u64) -> Self {
        self.store = format!(
            "[store]\nbackend = \"redis\"\ntimeout_ms = {timeout_ms}\ncache_ttl_ms = {cache_ttl_ms}\n[store.redis]\nurl = \"{url}\"\n"
        );
        self
    }
    /// Keeps state in PostgreSQL at `url` (plain TCP on loopback), as
    /// [`GatewayOptions::redis`] does in Redis.
    pub fn postgres(mut self, url: &str, timeout_ms: u64, cache_ttl_ms: u64) -> Self {
        self.store = format!(
            "[store]\nbackend = \"postgres\"\ntimeout_ms = {timeout_ms}\ncache_ttl_ms = {cache_ttl_ms}\n[store.postgres]\nurl = \"{url}\"\ntls = \"off\"\n"
        );
        self
    }
    pub fn closed(mut self) -> Self {
        self.closed = true;
        self
    }
    /// Checks new passwords against the breach filter at `file` (S64).
    pub fn breached_filter(mut self, file: &Path) -> Self {
        self.extra.push_str(&format!(
            "\n[password]\nbreached_filter_file = {:?}\n",
            file.display().to_string()
        ));
        self
    }

    pub fn two_step(mut self) -> Self {
        self.two_step = true;
        self
    }
    pub fn smtp(mut self, port: u16) -> Self {
        self.smtp_port = Some(port);
        self
    }
}

pub struct Gateway {
    pub addr: SocketAddr,
    /// The closed-network listener, when started with it.
    pub closed_addr: Option<SocketAddr>,
    pub closed_base: Option<String>,
    pub metrics_addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (or https).
    pub base: String,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    child: Option<Child>,
    /// A successor the gateway started itself on SIGHUP.
    successor: Option<u32>,
    offset: i64,
    two_step: bool,
}

impl Gateway {
    pub fn start(opts: GatewayOptions) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let addr = opts.listen.unwrap_or_else(|| crate::free_addr("127.0.0.1"));
        let metrics_addr = crate::free_addr("127.0.0.1");
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        let base = match &opts.public_host {
            Some(host) => format!("{scheme}://{host}:{}", addr.port()),
            None => format!("{scheme}://{addr}"),
        };
        let mail = match opts.smtp_port {
            Some(p) => format!(
                "[mail]\nfrom = \"Sekisho Test <noreply@test.example.jp>\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {p}\nsecurity = \"none\"\n"
            ),
            None => "[mail]\nfrom = \"noreply@test.example.jp\"\ntransport = \"outbox\"\n".into(),
        };
        let (tls, insecure) = match &opts.tls {
            Some((cert, key)) => (
                format!(
                    "[internet.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
                    cert.display(),
                    key.display()
                ),
                false,
            ),
            None => (String::new(), true),
        };
        let closed_addr = opts.closed.then(|| crate::free_addr("127.0.0.1"));
        let closed_base = closed_addr.map(|a| format!("{scheme}://127.0.0.1:{}", a.port()));
        let closed = match (closed_addr, &closed_base) {
            (Some(a), Some(b)) => format!(
                "[closed]\nlisten = \"{a}\"\npublic_url = \"{b}\"\nline_header = \"X-Line-Id\"\ntrusted_edges = [\"127.0.0.2\"]\n[[closed.static_lines]]\ncidr = \"127.0.0.5/32\"\nline = \"{STATIC_LINE}\"\n{}",
                tls.replace("[internet.tls]", "[closed.tls]")
            ),
            _ => String::new(),
        };
        let config = format!(
            "service_name = \"おまかせクラウドストレージ\"\n\
             [internet]\nlisten = \"{addr}\"\npublic_url = \"{base}\"\n{tls}\
             {closed}\
             [upstream]\naddress = \"{up}\"\nconnect_timeout_ms = 1000\n\
             {store}\
             {session}{hashing}{throttle}{mail}\
             [assertion]\nsigning_key_file = \"{key}\"\ngenerate_if_missing = true\n\
             {two_step}\
             [metrics]\nlisten = \"{metrics_addr}\"\n\
             [server]\nthreads = 2\ngrace_period_seconds = {grace}\ngraceful_shutdown_timeout_seconds = 1\nupgrade_socket = \"run/upgrade.sock\"\npid_file = \"data/sekisho.pid\"\n\
             [logging]\nformat = \"json\"\nlevel = \"info\"\naccess_log = true\n\
             [development]\ninsecure_http_cookies = {insecure}\nclock_offset_file = \"clock-offset\"\n{extra}",
            up = opts.upstream,
            grace = opts.grace_period_seconds,
            store = opts.store,
            key = opts
                .signing_key
                .as_ref()
                .map(|k| k.display().to_string())
                .unwrap_or_else(|| "data/key.pem".into()),
            session = opts.session,
            hashing = opts.hashing,
            throttle = opts.throttle,
            // Gateways sharing a store share the seed key, beside the
            // shared signing key.
            two_step = match &opts.signing_key {
                Some(k) => opts.two_step_table.replace(
                    "data/seed.key",
                    &k.with_file_name("seed.key").display().to_string(),
                ),
                None => opts.two_step_table.clone(),
            },
            extra = opts.extra,
        );
        let config_path = dir.path().join("sekisho.toml");
        std::fs::write(&config_path, config).unwrap();
        // The store's and key's folder: the gateway makes none itself.
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let mut gw = Gateway {
            addr,
            closed_addr,
            closed_base,
            metrics_addr,
            base,
            dir,
            config_path,
            child: None,
            successor: None,
            offset: 0,
            two_step: opts.two_step,
        };
        gw.spawn();
        gw
    }

    fn spawn(&mut self) {
        let out = self.log_file("stdout.log");
        let err = self.log_file("stderr.log");
        let child = Command::new(binary())
            .args(["run", "--config"])
            .arg(&self.config_path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawning sekisho");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = |a: &SocketAddr| {
                std::net::TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok()
            };
            if up(&self.addr) && self.closed_addr.as_ref().is_none_or(up) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("sekisho exited with {status}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "sekisho did not start:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process (by its id) and starts it again on the same files.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A successor started by the gateway itself (SIGHUP) is not our
        // child: stopped by the id it wrote.
        if let Some(pid) = self.successor.take() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    /// The id of the process serving now (the pid file's, which the
    /// serving process writes once it has its listeners).
    pub fn pid(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("data/sekisho.pid"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .expect("the gateway's pid file")
    }

    /// `sekisho run --upgrade` on this gateway's configuration file.
    pub fn upgrade_command(&self) -> Command {
        let mut c = Command::new(binary());
        c.args(["run", "--upgrade", "--config"])
            .arg(&self.config_path);
        c
    }

    /// Upgrades in place with `sekisho run --upgrade` (the configuration
    /// file as it is now) and returns once the old process has exited.
    pub fn upgrade(&mut self) {
        let old = self.pid();
        let successor = self
            .upgrade_command()
            .stdin(Stdio::null())
            .stdout(self.log_file("stdout.log"))
            .stderr(self.log_file("stderr.log"))
            .spawn()
            .expect("spawning the successor");
        let previous = self.child.replace(successor);
        self.wait_for_handover(old);
        if let Some(mut c) = previous {
            let _ = c.wait();
        }
    }

    /// Reloads with SIGHUP, as systemd's `ExecReload` does, and returns
    /// once the old process has exited.
    pub fn reload_with_hangup(&mut self) {
        let old = self.pid();
        let status = Command::new("kill")
            .args(["-HUP", &old.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait_for_handover(old);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
        if let Some(pid) = self.successor.take() {
            // The earlier successor was not our child; it has exited too.
            assert_ne!(pid, self.pid());
        }
        self.successor = Some(self.pid());
    }

    /// Waits until a new process has written the pid file and `old` has
    /// drained and exited.
    fn wait_for_handover(&mut self, old: u32) {
        let deadline = Instant::now() + Duration::from_secs(40);
        let gone = |pid: u32| {
            !Path::new(&format!("/proc/{pid}")).exists() || {
                // An exited child not yet waited for is a zombie.
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| {
                        s.split(") ")
                            .nth(1)
                            .is_some_and(|rest| rest.starts_with('Z'))
                    })
                    .unwrap_or(true)
            }
        };
        loop {
            let now = std::fs::read_to_string(self.dir.path().join("data/sekisho.pid"))
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            if now.is_some_and(|p| p != old) && gone(old) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the upgrade did not complete:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_file(&self, name: &str) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(name))
            .unwrap()
    }

    /// The process's resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("a running gateway").id();
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("stderr.log"))
    }

    /// The gateway's idea of now (the system clock plus the test's offset).
    pub fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + self.offset
    }

    /// Moves the gateway's clock forward by `seconds` (cumulative).
    pub fn advance_clock(&mut self, seconds: i64) {
        self.offset += seconds;
        std::fs::write(
            self.dir.path().join("clock-offset"),
            self.offset.to_string(),
        )
        .unwrap();
    }

    /// Runs `sekisho admin --config … ARGS`.
    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(binary())
            .arg("admin")
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .output()
            .unwrap()
    }

    /// Creates a tenant and returns its holder's registration link.
    pub fn create_tenant(&self, plan: &str, email: &str) -> String {
        let out = self.admin(&[
            "create-tenant",
            "--plan",
            plan,
            "--holder-email",
            email,
            "--holder-name",
            "テスト 契約者",
            "--two-step",
            if self.two_step { "on" } else { "off" },
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "create-tenant failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .find_map(|l| {
                l.strip_prefix("registration link:")
                    .map(|s| s.trim().to_string())
            })
            .expect("a registration link")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The metrics text from the metrics listener.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.metrics_addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}
