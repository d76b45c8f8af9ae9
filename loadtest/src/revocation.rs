//! Revocation time (PERFORMANCE P16): a session signed in and cached by
//! the gateway, then all of its user's sessions ended by an admin command
//! (another process on the same store); the time from the command's end
//! (its commit) until the gateway refuses the session. The embedded store
//! is told through its change log, Redis and PostgreSQL by their notices.

use crate::http::{self, HttpClient};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the stage measured.
#[derive(serde::Serialize)]
pub struct Figures {
    pub samples: usize,
    pub median_ms: f64,
    pub max_ms: f64,
    /// Samples never refused within five seconds.
    pub missed: usize,
}

async fn status(client: &HttpClient, base: &str, session: &str) -> anyhow::Result<u16> {
    let resp = client
        .request(http::request(
            "GET",
            &format!("{base}/1k.html"),
            None,
            Some(&format!("sekisho={session}")),
            http::empty(),
        ))
        .await?;
    let code = resp.status().as_u16();
    http::read_body(resp, 0).await?;
    Ok(code)
}

/// `samples` users of `users` ("email password" lines, from the end of the
/// file) each sign in, are cached, and have their sessions ended by
/// `sekisho admin --config CONFIG end-sessions EMAIL --yes`.
pub async fn measure(
    base: &str,
    users: &Path,
    samples: usize,
    sekisho: &Path,
    config: &Path,
) -> anyhow::Result<Figures> {
    let users = crate::setup::read_users(users)?;
    anyhow::ensure!(users.len() >= samples, "fewer users than samples");
    let client = http::client(4);
    let mut times = Vec::new();
    let mut missed = 0;
    for (email, password) in users.iter().rev().take(samples) {
        let (session, _) = crate::setup::sign_in(&client, base, email, password).await?;
        anyhow::ensure!(
            status(&client, base, &session).await? == 200,
            "not signed in"
        );
        anyhow::ensure!(status(&client, base, &session).await? == 200, "not cached");
        let out = tokio::process::Command::new(sekisho)
            .args(["admin", "--config"])
            .arg(config)
            .args(["end-sessions", email, "--yes"])
            .output()
            .await?;
        anyhow::ensure!(
            out.status.success(),
            "end-sessions: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let committed = Instant::now();
        loop {
            if status(&client, base, &session).await? == 401 {
                times.push(committed.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if committed.elapsed() > Duration::from_secs(5) {
                missed += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(Figures {
        samples: times.len(),
        median_ms: times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
        max_ms: times.last().copied().unwrap_or(f64::NAN),
        missed,
    })
}
