//! The breach list's figures beside the budgets (S64): how fast a list
//! imports, how many bytes an entry costs in the filter, and how long a
//! check takes, on a generated list in the Have I Been Pwned format.

use sekisho_breached::{import, BreachedList};
use std::io::Write;
use std::time::Instant;

/// What one run measured.
#[derive(Debug, serde::Serialize)]
pub struct Figures {
    pub lines: u64,
    pub import_lines_per_second: f64,
    pub bytes_per_entry: f64,
    pub check_ns: f64,
}

/// Generates `lines` entries in a temporary folder, imports them, and
/// times `checks` look-ups (half of them listed passwords).
pub fn measure(lines: u64, checks: u64) -> anyhow::Result<Figures> {
    use sha2::Digest as _;
    let dir = tempfile::tempdir()?;
    let list = dir.path().join("list.txt");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&list)?);
        for i in 0..lines {
            // A 40-hex-digit "SHA-1": SHA-256 of the listed password, cut.
            let digest = sha2::Sha256::digest(format!("listed-{i}").as_bytes());
            writeln!(out, "{}:{}", hex_upper(&digest[..20]), i % 1000 + 1)?;
        }
        out.flush()?;
    }
    let filter = dir.path().join("breached.filter");
    let started = Instant::now();
    let report = import(&list, &filter, &mut |_| {})?;
    let import_seconds = started.elapsed().as_secs_f64();
    let opened = BreachedList::open(&filter)?;
    let passwords: Vec<String> = (0..checks).map(|i| format!("check-{i}")).collect();
    let started = Instant::now();
    let mut found = 0u64;
    for p in &passwords {
        found += u64::from(opened.contains_password(p));
    }
    let check_ns = started.elapsed().as_nanos() as f64 / checks.max(1) as f64;
    // Unlisted passwords: the rare hit is a false positive (one in 65,536).
    anyhow::ensure!(found <= checks / 1000 + 5, "{found} false positives");
    Ok(Figures {
        lines: report.lines,
        import_lines_per_second: report.lines as f64 / import_seconds,
        bytes_per_entry: report.bytes as f64 / report.entries as f64,
        check_ns,
    })
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
