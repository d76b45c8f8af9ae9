//! The embedded store's one writer: every write this process makes runs on
//! one connection, on a thread of its own, and the writes that arrive
//! together share one commit (group commit).
//!
//! SQLite admits one writer at a time. With every pooled connection free to
//! write, concurrent writers met at `BEGIN IMMEDIATE`, and SQLite's busy
//! handler made the losers sleep (1, 2, 5, 10… ms) before trying again; each
//! commit then waited for its own `fsync` (`synchronous=FULL`). A passkey
//! login (four writes) took 7 ms a write at 16 logins in flight, 300 logins
//! a second in all (P13). Here the writes queue instead: the writer takes
//! what has arrived, runs each in a savepoint of one transaction (a write
//! that fails is rolled back alone), commits once, and only then answers
//! each caller. Every answered write is as durable as before: its commit's
//! `fsync` is done before its caller hears of it.

use super::{unavailable, StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::AssertUnwindSafe;

/// The most writes one commit carries: a bound on how long the first of
/// them waits for the others.
const MOST_IN_ONE_COMMIT: usize = 64;

/// Writes waiting for the writer; a caller beyond it waits to queue (under
/// the store's timeout).
const QUEUE: usize = 4096;

/// One queued write: run in the batch's transaction, then told how the
/// commit went.
trait QueuedWrite: Send {
    /// Runs the write on the writer's connection; `false` when it failed
    /// (its savepoint is rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller: the write's own result once its commit is
    /// done, or the commit's error.
    fn answer(self: Box<Self>, committed: StoreResult<()>);
}

struct Write<T, F> {
    step: Option<F>,
    result: Option<StoreResult<T>>,
    reply: tokio::sync::oneshot::Sender<StoreResult<T>>,
}

impl<T, F> QueuedWrite for Write<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(step) = self.step.take() else {
            return false;
        };
        // A step that panics fails alone; the writer goes on.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| step(conn)))
            .unwrap_or_else(|_| Err(unavailable("a store write failed unexpectedly")));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, committed: StoreResult<()>) {
        let answer = match (committed, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(unavailable("a store write was not run")),
        };
        // A caller that gave up waiting (the store timeout) is gone.
        let _ = self.reply.send(answer);
    }
}

/// The queue to the writer thread. The thread ends, closing its connection,
/// when the store (the queue's last sender) is dropped.
pub(super) struct Writer {
    queue: tokio::sync::mpsc::Sender<Box<dyn QueuedWrite>>,
}

impl Writer {
    /// Starts the writer on `conn`, opened with the store's settings.
    pub(super) fn start(conn: Connection) -> StoreResult<Writer> {
        let (queue, waiting) = tokio::sync::mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sekisho-store-writer".into())
            .spawn(move || write_until_closed(conn, waiting))
            .map_err(|e| unavailable(format!("cannot start the store's writer: {e}")))?;
        Ok(Writer { queue })
    }

    /// Runs `step` in the writer's next transaction, and answers once that
    /// transaction is committed (or with the error that refused it).
    pub(super) async fn write<T, F>(&self, step: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let write = Box::new(Write {
            step: Some(step),
            result: None,
            reply,
        });
        self.queue
            .send(write)
            .await
            .map_err(|_| unavailable("the store's writer has stopped"))?;
        answer
            .await
            .map_err(|_| unavailable("the store's writer has stopped"))?
    }
}

fn write_until_closed(
    conn: Connection,
    mut waiting: tokio::sync::mpsc::Receiver<Box<dyn QueuedWrite>>,
) {
    let mut batch: Vec<Box<dyn QueuedWrite>> = Vec::with_capacity(MOST_IN_ONE_COMMIT);
    while let Some(first) = waiting.blocking_recv() {
        batch.push(first);
        while batch.len() < MOST_IN_ONE_COMMIT {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let committed = commit_together(&conn, &mut batch);
        for write in batch.drain(..) {
            write.answer(committed.clone());
        }
    }
}

/// Runs the batch in one transaction, each write in a savepoint of its
/// own, and commits. An error of the transaction itself (the lock, the
/// disk) fails every write of the batch, and nothing of it is kept.
fn commit_together(conn: &Connection, batch: &mut [Box<dyn QueuedWrite>]) -> StoreResult<()> {
    // Prepared once: these run a few times for every write.
    let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
    // Other processes on the file (admin commands) wait their turn under
    // the connection's busy timeout.
    run("BEGIN IMMEDIATE").map_err(unavailable)?;
    let ran = batch.iter_mut().try_for_each(|write| {
        run("SAVEPOINT one_write")?;
        if !write.run(conn) {
            run("ROLLBACK TO one_write")?;
        }
        run("RELEASE one_write").map(drop)
    });
    let committed = ran.and_then(|()| run("COMMIT").map(drop));
    committed.map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        StoreError::Unavailable(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn writer_on(dir: &std::path::Path) -> (Writer, Connection) {
        let path = dir.join("w.sqlite3");
        let setup = |c: &Connection| {
            c.execute_batch(
                "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY);",
            )
        };
        let conn = Connection::open(&path).unwrap();
        setup(&conn).unwrap();
        let reader = Connection::open(&path).unwrap();
        (Writer::start(conn).unwrap(), reader)
    }

    fn keys(reader: &Connection) -> Vec<String> {
        let mut stmt = reader.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// Writes sent at once share commits, and a write that fails (or
    /// panics) is rolled back alone: the others of its batch are kept, and
    /// each caller hears its own result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_rolled_back_alone_and_the_rest_of_its_batch_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = writer_on(dir.path());
        let writer = Arc::new(writer);
        let mut calls = Vec::new();
        for i in 0..200 {
            let writer = writer.clone();
            calls.push(tokio::spawn(async move {
                writer
                    .write(move |c| {
                        c.execute("INSERT INTO t (k) VALUES (?1)", [format!("{i:03}")])
                            .map_err(unavailable)?;
                        match i % 10 {
                            3 => Err(StoreError::Stale),
                            7 => panic!("a write that panics"),
                            _ => Ok(i),
                        }
                    })
                    .await
            }));
        }
        for (i, call) in calls.into_iter().enumerate() {
            let answer = call.await.unwrap();
            match i % 10 {
                3 => assert_eq!(answer, Err(StoreError::Stale)),
                7 => assert!(matches!(answer, Err(StoreError::Unavailable(_)))),
                _ => assert_eq!(answer, Ok(i)),
            }
        }
        let kept = keys(&reader);
        assert_eq!(kept.len(), 160, "{kept:?}");
        assert!(kept.iter().all(|k| !k.ends_with('3') && !k.ends_with('7')));
    }

    /// A write that breaks the transaction's rules is refused with its
    /// error; the writer goes on with the next one.
    #[tokio::test]
    async fn the_writer_goes_on_after_a_refused_write() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = writer_on(dir.path());
        let insert = |k: &'static str| {
            move |c: &Connection| {
                c.execute("INSERT INTO t (k) VALUES (?1)", [k])
                    .map_err(unavailable)
            }
        };
        assert_eq!(writer.write(insert("a")).await, Ok(1));
        assert!(matches!(
            writer.write(insert("a")).await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(writer.write(insert("b")).await, Ok(1));
        assert_eq!(keys(&reader), ["a", "b"]);
    }
}
