//! What `check-config` and `run` check beyond the file itself (S49): the
//! files it names open and are what they claim, and no folder is made
//! behind the operator's back. `check-config` reports every problem by its
//! key; `run` refuses to start on any, before anything is bound or opened
//! for writing.

use sekisho_config::{Config, StoreBackend};
use std::path::Path;

/// A problem found, by its configuration key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem with the files and folders `cfg` names.
pub fn check(cfg: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut say = |key, message: String| problems.push(Problem { key, message });
    let key = &cfg.assertion.signing_key_file;
    match std::fs::metadata(key) {
        Ok(m) if m.is_dir() => say(
            "assertion.signing_key_file",
            format!("{} is a folder, not a key file", key.display()),
        ),
        Ok(_) => {
            let read = std::fs::read_to_string(key).map_err(|e| e.to_string());
            if let Err(e) = read
                .and_then(|pem| crate::assertion::Signer::from_pem(&pem).map_err(|e| e.to_string()))
            {
                say(
                    "assertion.signing_key_file",
                    format!("{}: {e}", key.display()),
                );
            }
        }
        Err(_) if cfg.assertion.generate_if_missing => {
            if let Some(problem) = missing_folder(key) {
                say("assertion.signing_key_file", problem);
            }
        }
        Err(e) => say(
            "assertion.signing_key_file",
            format!("cannot read {}: {e}", key.display()),
        ),
    }
    let mut listeners = vec![("internet.tls", &cfg.internet)];
    listeners.extend(cfg.closed.as_ref().map(|c| ("closed.tls", &c.listener)));
    for (key, listener) in listeners {
        if let Some(tls) = &listener.tls {
            if let Err(e) = crate::tls::acceptor(&tls.cert_file, &tls.key_file, false) {
                say(key, e);
            }
        }
    }
    if let Some(problem) = crate::handover::folder_problem(&cfg.server.upgrade_socket) {
        say("server.upgrade_socket", problem);
    }
    let nofile = crate::descriptors::hard_limit();
    if let Err(e) = crate::descriptors::connections_total(cfg.limits.connections_total, nofile) {
        say("limits.connections_total", e);
    }
    if let Some(file) = &cfg.password.breached_filter_file {
        if let Err(e) = sekisho_breached::BreachedList::open(file) {
            say("password.breached_filter_file", e.to_string());
        }
    }
    let seed = &cfg.seed_key;
    if seed.key.is_none() && seed.generate_if_missing {
        if let Some(problem) = missing_folder(&seed.file) {
            say("two_step.seed_key_file", problem);
        }
    }
    if let StoreBackend::Embedded { path } = &cfg.store.backend {
        if let Some(problem) = embedded_store(path) {
            say("store.path", problem);
        }
    }
    problems
}

/// The folder a file would be made in, when it does not exist.
fn missing_folder(file: &Path) -> Option<String> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
    (!dir.is_dir()).then(|| {
        format!(
            "the folder {} does not exist (it is not made for you)",
            dir.display()
        )
    })
}

/// Why the embedded store at `path` cannot be used, if it cannot: a
/// folder, a file that is not SQLite, or a missing parent folder.
fn embedded_store(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some(format!("{} is a folder, not a store file", path.display())),
        Ok(_) => {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
            let opened = rusqlite::Connection::open_with_flags(path, flags);
            let read = opened.and_then(|c| {
                c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            });
            read.err()
                .map(|e| format!("{} is not a Sekisho store: {e}", path.display()))
        }
        Err(_) => missing_folder(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_files_and_non_stores_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(embedded_store(dir.path()).unwrap().contains("is a folder"));
        let junk = dir.path().join("junk.sqlite3");
        std::fs::write(&junk, "not a database, not at all, really").unwrap();
        assert!(embedded_store(&junk)
            .unwrap()
            .contains("not a Sekisho store"));
        let fresh = dir.path().join("new.sqlite3");
        assert_eq!(
            embedded_store(&fresh),
            None,
            "a new file in a folder that exists"
        );
        let nowhere = dir.path().join("missing/new.sqlite3");
        assert!(embedded_store(&nowhere).unwrap().contains("does not exist"));
        assert!(!dir.path().join("missing").exists());
    }
}
