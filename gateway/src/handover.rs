//! The listening sockets' hand-over on an upgrade, made private (S55).
//!
//! Pingora's successor binds its upgrade socket mode 0666 and takes the
//! sockets of whoever connects first: a local user could hand a
//! `run --upgrade` sockets of its own, and the gateway then served on them.
//! So the successor receives them itself first, and only then lets Pingora
//! have them:
//! 1. the socket's folder must be the service user's alone (created 0700
//!    when missing; any other folder refuses the start, as `check-config`
//!    says); the socket is made 0600 in it;
//! 2. a connection is taken only from the gateway being taken over: its
//!    uid and process id (`SO_PEERCRED`); anything else is refused with a
//!    log line, and the wait goes on;
//! 3. each received socket must be a listening TCP socket bound to the
//!    address its listener is configured with; anything else ends the
//!    start with the listener named;
//! 4. the checked sockets are passed on to Pingora's own receiver, on the
//!    same path in the same private folder, and this process's copies are
//!    closed.

use nix::unistd::{geteuid, Pid};
use pingora::server::Fds;
use rustix::net::{
    getsockname, recvmsg, sockopt, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketType,
};
use std::collections::HashMap;
use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a successor waits for the running gateway's sockets.
const WAIT: Duration = Duration::from_secs(10);

/// The folder the socket lives in.
fn folder_of(socket: &Path) -> &Path {
    match socket.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// What is wrong with the socket's folder, if it exists: it must belong to
/// the service user and be closed to everyone else. A missing folder is
/// made (0700) by the successor that needs it.
pub fn folder_problem(socket: &Path) -> Option<String> {
    let folder = folder_of(socket);
    let meta = match std::fs::metadata(folder) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("cannot read the folder {}: {e}", folder.display())),
    };
    let me = geteuid().as_raw();
    if !meta.is_dir() {
        Some(format!("{} is not a folder", folder.display()))
    } else if meta.uid() != me {
        Some(format!(
            "the folder {} belongs to uid {}, not to the service user (uid {me}): give the socket a folder of its own",
            folder.display(),
            meta.uid()
        ))
    } else if meta.mode() & 0o077 != 0 {
        Some(format!(
            "the folder {} is open to other users (mode {:o}): chmod 700 it (systemd: RuntimeDirectoryMode=0700)",
            folder.display(),
            meta.mode() & 0o777
        ))
    } else {
        None
    }
}

/// The successor's end of the hand-over, listening before the running
/// gateway is asked to let go.
pub struct Receiver {
    listener: UnixListener,
    path: PathBuf,
}

/// Makes the folder if needed, checks it, and listens on `socket` (0600).
pub fn listen(socket: &Path) -> anyhow::Result<Receiver> {
    let folder = folder_of(socket);
    if !folder.exists() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(folder)
            .map_err(|e| {
                anyhow::anyhow!(
                    "server.upgrade_socket: cannot make {}: {e}",
                    folder.display()
                )
            })?;
    }
    if let Some(problem) = folder_problem(socket) {
        return Err(crate::error::InputError::error(format!(
            "server.upgrade_socket: {problem}"
        )));
    }
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).map_err(|e| {
        anyhow::anyhow!(
            "server.upgrade_socket: cannot listen on {}: {e}",
            socket.display()
        )
    })?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(Receiver {
        listener,
        path: socket.to_path_buf(),
    })
}

impl Receiver {
    /// Waits for the sockets of `predecessor`, and checks each against
    /// `listeners` (Pingora's key, the address as written, to the
    /// configuration's key and address).
    pub fn receive(
        self,
        predecessor: Pid,
        listeners: &[(&'static str, SocketAddr)],
    ) -> anyhow::Result<Checked> {
        let deadline = Instant::now() + WAIT;
        let received = loop {
            if Instant::now() > deadline {
                let _ = std::fs::remove_file(&self.path);
                anyhow::bail!(
                    "server.upgrade_socket: the running gateway (pid {predecessor}) handed over no sockets within {} s",
                    WAIT.as_secs()
                );
            }
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => anyhow::bail!("server.upgrade_socket: {e}"),
            };
            match from_predecessor(&stream, predecessor) {
                Ok(()) => break read_sockets(&stream)?,
                Err(who) => {
                    tracing::warn!(peer = %who, "upgrade socket: refused a hand-over from a process that is not the gateway being taken over");
                }
            }
        };
        let _ = std::fs::remove_file(&self.path);
        check_sockets(received, listeners)
    }
}

/// `Ok` when the peer is the process being taken over, as this user;
/// otherwise who it was.
fn from_predecessor(stream: &UnixStream, predecessor: Pid) -> Result<(), String> {
    let cred = sockopt::socket_peercred(stream).map_err(|e| e.to_string())?;
    let (uid, pid) = (cred.uid.as_raw(), cred.pid.as_raw_nonzero().get());
    if uid == geteuid().as_raw() && pid == predecessor.as_raw() {
        Ok(())
    } else {
        Err(format!("uid {uid} pid {pid}"))
    }
}

/// The keys and descriptors of one hand-over message (Pingora's format:
/// the keys space-separated, the descriptors as `SCM_RIGHTS`).
fn read_sockets(stream: &UnixStream) -> anyhow::Result<Vec<(String, OwnedFd)>> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(WAIT))?;
    let mut payload = [0u8; 2048];
    let mut iov = [IoSliceMut::new(&mut payload)];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(32))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = recvmsg(stream, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)
        .map_err(|e| anyhow::anyhow!("server.upgrade_socket: reading the hand-over: {e}"))?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    let bytes = msg.bytes;
    let keys: Vec<String> = String::from_utf8_lossy(&payload[..bytes])
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    if keys.len() != fds.len() {
        anyhow::bail!(
            "server.upgrade_socket: the hand-over named {} listeners but carried {} sockets",
            keys.len(),
            fds.len()
        );
    }
    Ok(keys.into_iter().zip(fds).collect())
}

/// Where a received socket listens, if it is a listening TCP socket.
fn listening_address(fd: &OwnedFd) -> Option<SocketAddr> {
    let listening = sockopt::socket_acceptconn(fd).ok()?;
    let stream = sockopt::socket_type(fd).ok()? == SocketType::STREAM;
    if !listening || !stream {
        return None;
    }
    SocketAddr::try_from(getsockname(fd).ok()?).ok()
}

/// Keeps the sockets of configured listeners, each checked to listen
/// where its listener is configured; a listener no longer configured is
/// closed (Pingora would close it too).
fn check_sockets(
    received: Vec<(String, OwnedFd)>,
    listeners: &[(&'static str, SocketAddr)],
) -> anyhow::Result<Checked> {
    let by_address: HashMap<String, (&str, SocketAddr)> = listeners
        .iter()
        .map(|(key, addr)| (addr.to_string(), (*key, *addr)))
        .collect();
    let mut kept = Vec::new();
    for (address, fd) in received {
        let Some((key, configured)) = by_address.get(&address) else {
            tracing::info!(%address, "upgrade: a listener no longer configured is closed");
            continue;
        };
        match listening_address(&fd) {
            Some(bound) if bound == *configured => {
                // Tokio, under Pingora, polls it: it must not block.
                rustix::io::ioctl_fionbio(&fd, true)?;
                kept.push((address, fd));
            }
            found => {
                let found = found.map_or("not a listening TCP socket".to_string(), |a| {
                    format!("bound to {a}")
                });
                tracing::error!(listener = key, %configured, found, "upgrade: refused a handed-over socket");
                return Err(crate::error::InputError::error(format!(
                    "{key}: the socket handed over for {configured} is {found}; refused"
                )));
            }
        }
    }
    Ok(Checked(kept))
}

/// The received sockets that passed, still owned here.
pub struct Checked(Vec<(String, OwnedFd)>);

/// Passes the checked sockets to Pingora's receiver (`Server::bootstrap`),
/// which listens on the same path in the same private folder, and closes
/// this process's copies once sent.
pub fn pass_to_pingora(checked: Checked, socket: &Path) {
    let path = socket.to_string_lossy().into_owned();
    std::thread::spawn(move || {
        let mut fds = Fds::new();
        for (address, fd) in &checked.0 {
            fds.add(address.clone(), fd.as_raw_fd());
        }
        if let Err(e) = fds.send_to_sock(path.as_str()) {
            tracing::error!(error = %e, "upgrade: cannot pass the sockets on");
        }
        // Pingora received its own copies; these close here.
        drop(checked);
    });
}
