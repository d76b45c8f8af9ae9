//! The README's demo command: `sekisho demo` seeds a tenant, prints the
//! holder's registration link, and serves the gateway with the built-in
//! demo upstream, which shows the identity it received and verifies the
//! assertion.

use sekisho_tests::{free_addr, Client, GOOD_PASSWORD};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_tenant_and_shows_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, up, metrics) = (
        free_addr("127.0.0.1"),
        free_addr("127.0.0.1"),
        free_addr("127.0.0.1"),
    );
    let demo =
        std::fs::read_to_string(sekisho_tests::workspace_dir().join("config/demo.toml")).unwrap();
    let config = demo
        .replace("127.0.0.1:8080", &gw.to_string())
        .replace("127.0.0.1:8081", &up.to_string())
        .replace("127.0.0.1:9464", &metrics.to_string())
        .replace("../demo-data/", "demo-data/");
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
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
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
    let mut c = Client::new(&base);
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    assert_eq!(
        c.login("holder@demo.example.jp", GOOD_PASSWORD)
            .await
            .status,
        303
    );
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
    let _ = child.kill();
    let _ = child.wait();
}
