//! The README's demo command: `sekisho demo` seeds a tenant, prints the
//! holder's registration link, and serves the gateway with the built-in
//! demo upstream, which shows the identity it received and verifies the
//! assertion. The holder sets up two-step verification by SMS with the
//! code printed to the console.

use sekisho_policy::paths;
use sekisho_tests::{free_addr, Client, GOOD_PASSWORD};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The demo's folder: `config/demo.toml` on free ports, with what
/// `scripts/demo.sh` writes beside it.
struct DemoFolder {
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    gw: std::net::SocketAddr,
    closed: std::net::SocketAddr,
}

fn demo_folder() -> DemoFolder {
    let dir = tempfile::tempdir().unwrap();
    let (gw, up, metrics, closed) = (
        free_addr("127.0.0.1"),
        free_addr("127.0.0.1"),
        free_addr("127.0.0.1"),
        free_addr("127.0.0.4"),
    );
    let demo =
        std::fs::read_to_string(sekisho_tests::workspace_dir().join("config/demo.toml")).unwrap();
    let config = demo
        .replace("127.0.0.1:8080", &gw.to_string())
        .replace("localhost:8080", &format!("localhost:{}", gw.port()))
        .replace("127.0.0.1:8081", &up.to_string())
        .replace("127.0.0.1:9464", &metrics.to_string())
        .replace("127.0.0.4:8090", &closed.to_string())
        .replace("../demo-data/", "demo-data/");
    std::fs::create_dir_all(dir.path().join("demo-data")).unwrap();
    std::fs::write(dir.path().join("demo-data/provider-client-secret"), "s").unwrap();
    std::fs::write(dir.path().join("demo-data/ad-secret.key"), "ab".repeat(32)).unwrap();
    // The demo's branding, beside its configuration.
    std::fs::copy(
        sekisho_tests::workspace_dir().join("config/demo-logo.svg"),
        dir.path().join("demo-logo.svg"),
    )
    .unwrap();
    std::fs::copy(
        sekisho_tests::workspace_dir().join("config/demo-breached-passwords.txt"),
        dir.path().join("demo-breached-passwords.txt"),
    )
    .unwrap();
    let path = dir.path().join("demo.toml");
    std::fs::write(&path, config).unwrap();
    DemoFolder {
        dir,
        path,
        gw,
        closed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_tenant_and_shows_the_identity() {
    let DemoFolder {
        dir: _dir,
        path,
        gw,
        closed,
    } = demo_folder();
    let bin = tokio::task::spawn_blocking(sekisho_tests::gateway::binary)
        .await
        .unwrap();
    let mut child = Command::new(bin)
        .args(["demo", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Keep reading the demo's output to its end: it prints mail there, and
    // a closed pipe would stop it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (code_tx, codes) = std::sync::mpsc::channel();
    let (notice_tx, notices) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("新しいブラウザからのログインのお知らせ")
                || line.contains("demo breach list")
            {
                let _ = notice_tx.send(line.clone());
            }
            if let Some((_, rest)) = line.split_once("認証コード: ") {
                let _ = code_tx.send(rest.trim().to_string());
            }
            if let Some(i) = line.find("http://") {
                if line.contains("/.sekisho/register?ticket=") {
                    let _ = tx.send(line[i..].trim().to_string());
                }
            }
        }
    });
    let link = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo prints the holder's registration link");
    let base = format!("http://{gw}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(gw).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let said = notices.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(said.contains("demo breach list: 4 entries"), "{said}");
    let mut c = Client::new(&base);
    // A password on the demo's breach list is refused (S64).
    let page = c.get(&link).await;
    let listed = c
        .post(
            paths::REGISTER,
            &[
                ("csrf", &page.csrf()),
                ("ticket", link.split("ticket=").nth(1).unwrap()),
                ("step", "check"),
                ("password", "Kyoto-Temple-2019"),
                ("password_confirm", "Kyoto-Temple-2019"),
            ],
        )
        .await;
    assert_eq!(listed.status, 422, "{}", listed.body);
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    let r = c.login("holder@demo.example.jp", GOOD_PASSWORD).await;
    assert_eq!(r.location(), paths::TWO_STEP, "{}", r.body);
    let page = c.get(paths::TWO_STEP).await;
    let sent = c
        .post(
            paths::TWO_STEP_SMS_SEND,
            &[("csrf", &page.csrf()), ("phone", "090-1234-5678")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let code = codes
        .recv_timeout(Duration::from_secs(10))
        .expect("the SMS code in the console outbox");
    let entry = c.get(sent.location()).await;
    let shown = c
        .post(
            paths::TWO_STEP_SMS,
            &[("csrf", &entry.csrf()), ("code", &code)],
        )
        .await;
    assert!(shown.body.contains("recovery-code"), "{}", shown.body);
    let done = c
        .post(
            paths::TWO_STEP_SAVED,
            &[("csrf", &shown.csrf()), ("saved", "yes")],
        )
        .await;
    assert!(done.body.contains("2段階認証完了"), "{}", done.body);
    let page = c.get("/files/demo").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("holder@demo.example.jp"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("署名を検証しました"),
        "the demo upstream verified the assertion: {}",
        page.body
    );
    // The closed route: the seeded line in the header, no second step.
    let mut office = Client::new(&format!("http://{closed}"));
    office
        .extra
        .push(("x-line-id".into(), "CAF1234567890".into()));
    let r = office.login("holder@demo.example.jp", GOOD_PASSWORD).await;
    assert_eq!(r.location(), "/", "{}", r.body);
    let page = office.get("/files/demo").await;
    assert!(page.body.contains("CAF1234567890"), "{}", page.body);
    // The office's browser is new to the account: its mail is printed.
    let said = notices.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        said.contains("新しいブラウザからのログインのお知らせ"),
        "{said}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `sekisho demo` on `folder` until it prints the holder's link (or
/// exits), returning its output so far and whether it is still running.
fn start_demo(folder: &DemoFolder) -> (std::process::Child, String) {
    let mut child = Command::new(sekisho_tests::gateway::binary())
        .args(["demo", "--config"])
        .arg(&folder.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        said.push_str(&line);
        said.push('\n');
        if line.contains("Stop with Ctrl-C") {
            break;
        }
    }
    (child, said)
}

fn outbox_mails(folder: &DemoFolder) -> usize {
    std::fs::read_dir(folder.dir.path().join("demo-data/outbox"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Issue 32 (8): a second demo with its port taken touches nothing, and a
/// second demo that starts prints the same holder link without mailing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_demo_voids_no_link_and_sends_no_mail() {
    let folder = tokio::task::spawn_blocking(|| {
        sekisho_tests::gateway::binary();
        demo_folder()
    })
    .await
    .unwrap();
    let (mut first, said) = start_demo(&folder);
    let link = said
        .lines()
        .find(|l| l.contains("/.sekisho/register?ticket="))
        .map(|l| l.trim().to_string())
        .expect("the holder's link");
    let _ = first.kill();
    let _ = first.wait();
    let mails = outbox_mails(&folder);
    assert_eq!(mails, 1, "the holder's invitation");

    // The port taken: the demo refuses before the store is touched.
    let taken = std::net::TcpListener::bind(folder.gw).unwrap();
    let out = Command::new(sekisho_tests::gateway::binary())
        .args(["demo", "--config"])
        .arg(&folder.path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("internet.listen"), "{err}");
    assert_eq!(outbox_mails(&folder), mails, "no mail sent");
    drop(taken);

    // A normal second start: the same link, still working; no mail.
    let (mut second, said) = start_demo(&folder);
    assert!(said.contains(&link), "the same link again: {said}");
    let mut c = Client::new(&format!("http://{}", folder.gw));
    for _ in 0..100 {
        if std::net::TcpStream::connect(folder.gw).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.get(&link).await.status, 200, "the link works");
    assert_eq!(outbox_mails(&folder), mails, "no mail sent");
    let _ = second.kill();
    let _ = second.wait();
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(
        !logs.contains("exited"),
        "a normal start ends no service: {logs}"
    );
}
