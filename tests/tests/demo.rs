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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_tenant_and_shows_the_identity() {
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
