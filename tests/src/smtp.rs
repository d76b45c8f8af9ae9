//! A real SMTP server (Python aiosmtpd, see `peers/smtp_sink.py`).

use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mail {
    /// The first `https?://…` link in the body that contains `needle`.
    pub fn link(&self, needle: &str) -> Option<String> {
        self.body
            .split_whitespace()
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(needle))
            .map(str::to_string)
    }
}

pub struct SmtpSink {
    pub port: u16,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mail");
        let script = crate::workspace_dir().join("tests/peers/smtp_sink.py");
        for _ in 0..5 {
            let port = crate::free_port("127.0.0.1");
            let mut child = Command::new("python3")
                .arg(&script)
                .args(["127.0.0.1", &port.to_string()])
                .arg(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 with aiosmtpd (run scripts/setup.sh)");
            let mut line = String::new();
            let ok = BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .is_ok()
                && line.trim() == "ready";
            if ok {
                return SmtpSink {
                    port,
                    dir,
                    _tmp: tmp,
                    child,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the SMTP sink did not start (is aiosmtpd installed? run scripts/setup.sh)");
    }

    /// Every message received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|f| serde_json::from_str::<Mail>(&std::fs::read_to_string(f).ok()?).ok())
            .map(|mut m| {
                // SMTP bodies travel with CRLF line ends; tests compare with LF.
                m.body = m.body.replace("\r\n", "\n");
                m
            })
            .collect()
    }

    /// Waits up to ten seconds for a message to `to` whose subject contains
    /// `subject`.
    pub fn wait_for(&self, to: &str, subject: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(m) = self
                .mails()
                .into_iter()
                .find(|m| m.rcpt_tos.iter().any(|r| r == to) && m.subject.contains(subject))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} with subject containing {subject:?}; got {:?}",
                self.mails()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
