//! S55: the upgrade hand-over is private. A successor (`run --upgrade`)
//! takes listening sockets only from the gateway it takes over, only on a
//! 0600 socket in a folder of the service user's own, and only sockets
//! bound where their listeners are configured. The running gateway here
//! is a small Python process that behaves as Pingora's sender does (its
//! keys, then the sockets as `SCM_RIGHTS`), so that the tests can hand
//! over what a real gateway never would.

use sekisho_policy::paths;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Listens on `host:port`, then (after SIGQUIT and `delay` seconds, or at
/// once when `delay` is negative) connects to the upgrade socket and
/// hands over that listener under the key `key`. Held for 30 s at most.
const SENDER: &str = r#"
import signal, socket, sys, time
path, key, host, port, delay = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((host, port))
listener.listen(16)
asked = []
signal.signal(signal.SIGQUIT, lambda *_: asked.append(1))
print("ready", flush=True)
end = time.time() + 30
while delay >= 0 and not asked and time.time() < end:
    time.sleep(0.02)
time.sleep(max(delay, 0))
while time.time() < end:
    try:
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        break
    except OSError:
        time.sleep(0.02)
socket.send_fds(c, [key.encode()], [listener.fileno()])
time.sleep(max(0, end - time.time()))
"#;

/// A process killed when the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sender(socket: &Path, key: &str, port: u16, delay: f64) -> Killed {
    let mut child = Command::new("python3")
        .args(["-c", SENDER])
        .arg(socket)
        .args([key, "127.0.0.1", &port.to_string(), &delay.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Killed(child)
}

/// A configuration listening on 127.0.0.1:`port`, its upgrade socket in
/// `dir`/run.
fn config(dir: &Path, port: u16) -> PathBuf {
    let d = dir.display();
    let file = dir.join("sekisho.toml");
    std::fs::write(
        &file,
        format!(
            "service_name = \"x\"\n[internet]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             [upstream]\naddress = \"127.0.0.1:9\"\n[store]\npath = \"{d}/store.sqlite3\"\n\
             [mail]\nfrom = \"gw@example.jp\"\ntransport = \"outbox\"\noutbox_dir = \"{d}/outbox\"\n\
             [assertion]\nsigning_key_file = \"{d}/key.pem\"\ngenerate_if_missing = true\n\
             [two_step]\nseed_key_file = \"{d}/seed.key\"\ngenerate_seed_key = true\n\
             [server]\nupgrade_socket = \"{d}/run/upgrade.sock\"\n\
             [development]\ninsecure_http_cookies = true\n"
        ),
    )
    .unwrap();
    file
}

/// `run --upgrade` taking over from `predecessor`, its output in `log`.
fn successor(config: &Path, predecessor: u32, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(sekisho_tests::gateway::binary())
        .args(["run", "--upgrade", "--config"])
        .arg(config)
        .env("SEKISHO_UPGRADE_FROM", predecessor.to_string())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap()
}

/// The status of `GET /.sekisho/healthz` on 127.0.0.1:`port`, if answered.
fn healthz(port: u16) -> Option<u16> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n",
        paths::HEALTHZ
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn s55_only_the_gateway_taken_over_hands_over_and_the_socket_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let port = sekisho_tests::free_port("127.0.0.1");
    let other_port = sekisho_tests::free_port("127.0.0.1");
    let file = config(dir.path(), port);
    let socket = dir.path().join("run/upgrade.sock");
    let key = format!("127.0.0.1:{port}");
    // The gateway being taken over hands over a second after SIGQUIT; a
    // local intruder tries first, with a socket of its own.
    let predecessor = sender(&socket, &key, port, 1.0);
    let _intruder = sender(&socket, &key, other_port, -1.0);
    let log = dir.path().join("successor.log");
    let mut next = Killed(successor(&file, predecessor.0.id(), &log));

    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(socket.exists(), "no upgrade socket");
    assert_eq!(mode(&socket), 0o600, "the socket");
    assert_eq!(mode(socket.parent().unwrap()), 0o700, "its folder");

    let deadline = Instant::now() + Duration::from_secs(30);
    while healthz(port) != Some(200) && Instant::now() < deadline {
        assert!(
            next.0.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        healthz(port),
        Some(200),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains(
            "refused a hand-over from a process that is not the gateway being taken over"
        ),
        "{said}"
    );
    assert!(!socket.exists(), "the socket is removed once used");
}

#[test]
fn s55_a_socket_bound_elsewhere_ends_the_start_with_its_listener() {
    let dir = tempfile::tempdir().unwrap();
    let port = sekisho_tests::free_port("127.0.0.1");
    let elsewhere = sekisho_tests::free_port("127.0.0.1");
    let file = config(dir.path(), port);
    let socket = dir.path().join("run/upgrade.sock");
    // The process taken over hands over a socket on another port, under
    // the configured listener's key.
    let predecessor = sender(&socket, &format!("127.0.0.1:{port}"), elsewhere, 0.0);
    let log = dir.path().join("successor.log");
    let mut next = Killed(successor(&file, predecessor.0.id(), &log));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = next.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the successor did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("internet.listen")
            && said.contains(&format!("bound to 127.0.0.1:{elsewhere}")),
        "{said}"
    );
    assert_eq!(healthz(port), None, "nothing serves the configured address");
}

#[test]
fn s55_check_config_refuses_a_socket_folder_others_can_enter() {
    let dir = tempfile::tempdir().unwrap();
    let port = sekisho_tests::free_port("127.0.0.1");
    let file = config(dir.path(), port);
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(sekisho_tests::gateway::binary())
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("server.upgrade_socket") && said.contains("open to other users"),
        "{said}"
    );
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new(sekisho_tests::gateway::binary())
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
