//! argon2id on a bounded pool of its own threads, never on the proxy's event
//! loop (PERFORMANCE, design rules). The queue is bounded; a job that waited
//! longer than `max_wait` is answered `Busy` without hashing, so a login
//! flood turns into quick 503 pages instead of minutes-long waits.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use crossbeam_channel::{bounded, Sender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tracing::Instrument;

/// The pool could not take or finish the job in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("hashing pool busy")]
    Busy,
}

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        password: String,
        phc: Arc<str>,
        reply: oneshot::Sender<Result<bool, HashError>>,
    },
}

struct Queued {
    job: Job,
    enqueued: Instant,
}

/// Handle to the pool; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    tx: Sender<Queued>,
    /// A hash of a random password with the configured parameters, verified
    /// against when the email is unknown so both cases cost the same (S02).
    dummy: Arc<str>,
}

/// Builds the argon2id instance with the configured parameters.
pub fn argon2(cfg: &sekisho_config::Hashing) -> Argon2<'static> {
    let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
        .expect("parameters are validated with the config");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_with(argon: &Argon2, password: &str) -> String {
    let salt =
        SaltString::encode_b64(&crate::crypto::random_bytes(16)).expect("16 bytes is a valid salt");
    argon
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with validated parameters")
        .to_string()
}

fn verify_with(argon: &Argon2, password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

impl Hasher {
    /// Starts `cfg.pool_threads` hashing threads. Computes the dummy hash
    /// first (one hash's time at start-up).
    pub fn start(cfg: &sekisho_config::Hashing) -> Hasher {
        let argon = argon2(cfg);
        let dummy: Arc<str> = hash_with(&argon, &crate::crypto::random_token()).into();
        let (tx, rx) = bounded::<Queued>(cfg.queue_capacity);
        crate::metrics::HASH_QUEUE_CAPACITY.set(cfg.queue_capacity as i64);
        for i in 0..cfg.pool_threads {
            let rx = rx.clone();
            let argon = argon.clone();
            let max_wait = cfg.max_wait;
            std::thread::Builder::new()
                .name(format!("sekisho-hash-{i}"))
                .spawn(move || {
                    // Logins wait rather than pages (P5): the proxy's
                    // threads win the core when a login flood saturates
                    // hashing. Linux keeps a nice value per thread; where
                    // it cannot be set, hashing only competes as before.
                    if let Err(e) = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    ) {
                        tracing::debug!(error = ?e, "hashing thread keeps its priority");
                    }
                    while let Ok(q) = rx.recv() {
                        crate::metrics::HASH_QUEUE_DEPTH.set(rx.len() as i64);
                        let waited = q.enqueued.elapsed();
                        crate::metrics::HASH_QUEUE_WAIT.observe(waited.as_secs_f64());
                        let late = waited > max_wait;
                        match q.job {
                            Job::Hash { password, reply } => {
                                if reply.is_closed() {
                                    continue;
                                }
                                let _ = reply.send(if late {
                                    Err(HashError::Busy)
                                } else {
                                    Ok(hash_with(&argon, &password))
                                });
                            }
                            Job::Verify {
                                password,
                                phc,
                                reply,
                            } => {
                                if reply.is_closed() {
                                    continue;
                                }
                                let _ = reply.send(if late {
                                    Err(HashError::Busy)
                                } else {
                                    Ok(verify_with(&argon, &password, &phc))
                                });
                            }
                        }
                    }
                })
                .expect("spawning a hashing thread");
        }
        Hasher { tx, dummy }
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        match self.tx.try_send(Queued {
            job,
            enqueued: Instant::now(),
        }) {
            Ok(()) => {
                crate::metrics::HASH_QUEUE_DEPTH.set(self.tx.len() as i64);
                Ok(())
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                crate::metrics::HASH_REJECTED.inc();
                Err(HashError::Busy)
            }
        }
    }

    /// Hashes a (normalised) password.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        rx.instrument(crate::call_span!("hash", sekisho.hash = "hash"))
            .await
            .unwrap_or(Err(HashError::Busy))
    }

    /// Verifies a (normalised) password against a stored hash, or against the
    /// dummy hash when there is none, so that the answer takes as long either
    /// way; with `None` the result is always `false`.
    pub async fn verify(&self, password: String, phc: Option<&str>) -> Result<bool, HashError> {
        let real = phc.is_some();
        let phc: Arc<str> = phc.map(Arc::from).unwrap_or_else(|| self.dummy.clone());
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            phc,
            reply,
        })?;
        let matched = rx
            .instrument(crate::call_span!("hash", sekisho.hash = "verify"))
            .await
            .unwrap_or(Err(HashError::Busy))?;
        Ok(real && matched)
    }

    /// Hashes per second this pool sustains, measured in-process: the
    /// "hash-bound" baseline of PERFORMANCE.md.
    pub fn measure_rate(cfg: &sekisho_config::Hashing, duration: Duration) -> f64 {
        let argon = argon2(cfg);
        let deadline = Instant::now() + duration;
        let handles: Vec<_> = (0..cfg.pool_threads)
            .map(|_| {
                let argon = argon.clone();
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        hash_with(&argon, "measure-Password-1");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        total as f64 / duration.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> sekisho_config::Hashing {
        sekisho_config::Hashing {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            pool_threads: 1,
            queue_capacity: 2,
            max_wait: Duration::from_millis(500),
        }
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = Hasher::start(&cheap());
        let phc = h.hash("Secret-pass-1".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("Secret-pass-1".into(), Some(&phc)).await.unwrap());
        assert!(!h.verify("Secret-pass-2".into(), Some(&phc)).await.unwrap());
        assert!(!h.verify("anything".into(), None).await.unwrap());
        assert!(!h.verify("x".into(), Some("not a hash")).await.unwrap());
    }

    #[tokio::test]
    async fn full_queue_is_busy_not_blocking() {
        let mut cfg = cheap();
        cfg.memory_kib = 65536;
        cfg.iterations = 3;
        let h = Hasher::start(&cfg);
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let h = h.clone();
            tasks.push(tokio::spawn(
                async move { h.hash("Secret-pass-1".into()).await },
            ));
        }
        let mut busy = 0;
        for t in tasks {
            if t.await.unwrap() == Err(HashError::Busy) {
                busy += 1;
            }
        }
        assert!(busy > 0, "a 2-slot queue cannot take 12 jobs at once");
    }
}
