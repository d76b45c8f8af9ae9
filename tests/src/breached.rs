//! A breach list as an operator has one (S64): Have I Been Pwned's
//! "SHA1-HEX:COUNT" lines, made into the gateway's filter by the real
//! `sekisho admin breached-import`.

use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};

/// A password that passes the rule and is on every list made here.
pub const LISTED_PASSWORD: &str = "Kyoto-Temple-2019";

/// Writes a list holding `passwords` (and a thousand others) in `dir`,
/// imports it into `dir/breached.filter` with the binary under test, and
/// returns the filter's path. Importing again replaces the filter.
pub fn filter_of(dir: &Path, passwords: &[&str]) -> PathBuf {
    let list = dir.join("pwned-passwords.txt");
    let mut text = String::new();
    let line =
        |p: &str, n: usize| format!("{}:{n}\r\n", hex::encode_upper(Sha1::digest(p.as_bytes())));
    for i in 0..1000 {
        text.push_str(&line(&format!("filler-{i}"), i + 1));
    }
    for p in passwords {
        text.push_str(&line(p, 42));
    }
    std::fs::write(&list, text).unwrap();
    let filter = dir.join("breached.filter");
    let out = std::process::Command::new(crate::gateway::binary())
        .args(["admin", "breached-import"])
        .arg(&list)
        .arg("--output")
        .arg(&filter)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{} entries", 1000 + passwords.len())),
        "{said}"
    );
    filter
}
