//! Zero-downtime upgrade and reload, on Pingora's graceful upgrade: the
//! listening sockets pass from the running process to its successor over a
//! Unix socket (`server.upgrade_socket`), so no connection is refused while
//! both run, and the old process finishes its requests before it exits.
//!
//! Two ways in, one sequence:
//! * `sekisho run --upgrade` (a new binary or a changed configuration, run
//!   by hand): the successor reads the running process's id from
//!   `server.pid_file`;
//! * `SIGHUP` to the running gateway (systemd's `ExecReload`): it starts
//!   `sekisho run --upgrade` itself, from the binary now on disk, with the
//!   same configuration file.
//!
//! The successor builds everything first (configuration, store, keys).
//! Only then does it send `SIGQUIT` to the old process, which hands over
//! its sockets, keeps serving for a moment, and drains. A successor that
//! cannot start says why and exits before the signal, so the old process
//! keeps serving: a broken reload never takes the service down.

use crate::error::InputError;
use async_trait::async_trait;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use sekisho_config::Config;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set by a gateway that starts its own successor on `SIGHUP`: the id of
/// the process to take over from, instead of the pid file's.
const UPGRADE_FROM_ENV: &str = "SEKISHO_UPGRADE_FROM";

/// How this process starts: fresh, or taking over from a running gateway.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The configuration file, read again by a successor on `SIGHUP`.
    pub config_file: PathBuf,
    pub upgrade: bool,
}

/// The process to take over from: `SEKISHO_UPGRADE_FROM`, else the pid
/// file. Refused (exit 2) when neither names a live process.
pub fn predecessor(cfg: &Config) -> anyhow::Result<Pid> {
    if let Ok(pid) = std::env::var(UPGRADE_FROM_ENV) {
        let pid: i32 = pid
            .trim()
            .parse()
            .map_err(|_| InputError::error(format!("{UPGRADE_FROM_ENV}: not a process id")))?;
        return alive(Pid::from_raw(pid), UPGRADE_FROM_ENV);
    }
    let Some(file) = &cfg.server.pid_file else {
        return Err(InputError::error(
            "run --upgrade: set server.pid_file, so that the new process knows the running one",
        ));
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        InputError::error(format!(
            "server.pid_file: cannot read {}: {e} (is the gateway running?)",
            file.display()
        ))
    })?;
    let pid: i32 = text.trim().parse().map_err(|_| {
        InputError::error(format!(
            "server.pid_file: {} does not hold a process id",
            file.display()
        ))
    })?;
    alive(Pid::from_raw(pid), "server.pid_file")
}

fn alive(pid: Pid, key: &str) -> anyhow::Result<Pid> {
    if pid.as_raw() <= 1 || pid == nix::unistd::getpid() {
        return Err(InputError::error(format!(
            "{key}: {pid} is not a gateway to take over from"
        )));
    }
    kill(pid, None).map_err(|e| {
        InputError::error(format!(
            "{key}: no running gateway with id {pid} ({e}); start without --upgrade"
        ))
    })?;
    Ok(pid)
}

/// Asks the running gateway to hand over its listening sockets. It retries
/// the hand-over for five seconds while this process binds the upgrade
/// socket in `Server::bootstrap`.
pub fn ask_to_hand_over(pid: Pid) -> anyhow::Result<()> {
    tracing::info!(from = pid.as_raw(), "taking over the listening sockets");
    kill(pid, Signal::SIGQUIT)
        .map_err(|e| anyhow::anyhow!("cannot signal the running gateway {pid}: {e}"))
}

/// Once serving: writes the pid file, and tells systemd (when it started
/// us, `Type=notify`) that this process is now the service's main one.
pub fn announce(cfg: &Config) {
    let pid = std::process::id();
    if let Some(file) = &cfg.server.pid_file {
        if let Err(e) = write_pid_file(file, pid) {
            tracing::warn!(file = %file.display(), error = %e, "cannot write the pid file; run --upgrade will not find this process");
        }
    }
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        let said = sd_notify::notify(
            false,
            &[
                sd_notify::NotifyState::MainPid(pid),
                sd_notify::NotifyState::Ready,
            ],
        );
        if let Err(e) = said {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }
}

/// Written beside and renamed over, so a reader never sees half an id.
fn write_pid_file(file: &Path, pid: u32) -> std::io::Result<()> {
    let tmp = file.with_extension("pid.new");
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::rename(&tmp, file)
}

/// The binary to start on `SIGHUP`: the file at this process's path now,
/// which is the new binary after a package upgrade replaced it.
fn binary_on_disk() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(original) => PathBuf::from(original),
        None => exe,
    })
}

/// Starts the successor, and reports how it ended if it ends while this
/// process still runs (it refused to start: this one keeps serving).
fn start_successor(config_file: &Path) {
    let exe = match binary_on_disk() {
        Ok(exe) => exe,
        Err(e) => {
            tracing::error!(error = %e, "reload: cannot find the binary");
            return;
        }
    };
    let spawned = Command::new(&exe)
        .arg("run")
        .arg("--upgrade")
        .arg("--config")
        .arg(config_file)
        .env(UPGRADE_FROM_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            tracing::info!(successor = child.id(), binary = %exe.display(), "reload: successor started");
            std::thread::spawn(move || {
                if let Ok(status) = child.wait() {
                    tracing::error!(%status, "reload: the successor did not start; still serving with the running configuration");
                }
            });
        }
        Err(e) => {
            tracing::error!(error = %e, binary = %exe.display(), "reload: cannot start the successor")
        }
    }
}

/// Reloads on `SIGHUP`: starts a successor that takes over (see the
/// module's doc).
pub struct ReloadOnHangup {
    pub config_file: PathBuf,
}

#[async_trait]
impl BackgroundService for ReloadOnHangup {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with run --upgrade");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                got = hangup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    tracing::info!("SIGHUP: reloading");
                    start_successor(&self.config_file);
                }
            }
        }
    }
}
