//! Log lines to stderr in batches, from a thread of its own.
//!
//! The access log writes a line per request. Handing each line to a writer
//! thread through a channel wakes that thread for every line: a futex wake
//! per request, measured at about a tenth of a `tools/call`'s CPU on the
//! serving thread and as much again on the writer's. Here lines are appended
//! to a shared buffer instead, and the writer thread is woken only when the
//! buffer stops being empty; it then waits [`FLUSH_EVERY`] for more (or
//! until [`HIGH_WATER`] bytes wait) and writes them in one go.
//!
//! Nothing is dropped: past [`MAX_PENDING`] bytes (stderr is not being
//! read) the logger writes the batch itself, and so waits as a direct write
//! would. Batches reach stderr in the order their lines were logged.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a line may wait for company before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// Bytes that are written without waiting out [`FLUSH_EVERY`].
pub const HIGH_WATER: usize = 64 * 1024;
/// Bytes past which the logger writes the batch itself.
pub const MAX_PENDING: usize = 4 * 1024 * 1024;

/// A [`tracing_subscriber::fmt::MakeWriter`] whose lines go to `W` in
/// batches. Cloning shares the buffer.
#[derive(Clone)]
pub struct BatchedWriter<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
}

struct Shared<W> {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Held while a batch is taken and written, so batches keep their order.
    out: Mutex<W>,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    stop: bool,
}

/// Writes what is pending and stops the writer thread when dropped: keep it
/// alive for as long as anything may log.
pub struct FlushGuard<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    thread: Option<JoinHandle<()>>,
}

impl<W: Write + Send + 'static> BatchedWriter<W> {
    /// A writer over `out` and the guard that flushes it at exit.
    pub fn new(out: W) -> std::io::Result<(Self, FlushGuard<W>)> {
        let shared =
            Arc::new(Shared { pending: Mutex::new(Pending::default()), wake: Condvar::new(), out: Mutex::new(out) });
        let writer = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("smcp-log".into()).spawn(move || write_batches(&writer))?;
        Ok((Self { shared: Arc::clone(&shared) }, FlushGuard { shared, thread: Some(thread) }))
    }

    fn append(&self, line: &[u8]) -> std::io::Result<()> {
        let mut pending = lock(&self.shared.pending);
        let before = pending.bytes.len();
        pending.bytes.extend_from_slice(line);
        let after = pending.bytes.len();
        if after > MAX_PENDING {
            drop(pending);
            return self.shared.write_pending();
        }
        // Wake the writer only when it has reason to act: it sleeps on an
        // empty buffer, and otherwise waits for HIGH_WATER.
        if before == 0 || (before < HIGH_WATER && after >= HIGH_WATER) {
            self.shared.wake.notify_one();
        }
        Ok(())
    }
}

impl<W: Write + Send + 'static> Shared<W> {
    /// Takes what is pending and writes it, in order with other batches.
    fn write_pending(&self) -> std::io::Result<()> {
        let mut out = lock(&self.out);
        let batch = std::mem::take(&mut lock(&self.pending).bytes);
        if batch.is_empty() {
            return Ok(());
        }
        out.write_all(&batch)?;
        out.flush()
    }
}

/// The writer thread: sleeps until a line arrives, gives it company for
/// [`FLUSH_EVERY`], writes the batch; until stopped and drained.
fn write_batches<W: Write + Send + 'static>(shared: &Shared<W>) {
    loop {
        let mut pending = lock(&shared.pending);
        while pending.bytes.is_empty() && !pending.stop {
            pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
        if pending.bytes.len() < HIGH_WATER && !pending.stop {
            pending =
                shared.wake.wait_timeout(pending, FLUSH_EVERY).map(|(p, _)| p).unwrap_or_else(|e| e.into_inner().0);
        }
        let stop = pending.stop;
        drop(pending);
        // stderr that cannot be written has nowhere to report to.
        let _ = shared.write_pending();
        if stop {
            return;
        }
    }
}

impl<'a, W: Write + Send + 'static> tracing_subscriber::fmt::MakeWriter<'a> for BatchedWriter<W> {
    type Writer = Line<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        Line { writer: self }
    }
}

/// One event's text, handed over as the formatter writes it (the fmt layer
/// writes each event with one `write_all`).
pub struct Line<'a, W: Write + Send + 'static> {
    writer: &'a BatchedWriter<W>,
}

impl<W: Write + Send + 'static> Write for Line<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for FlushGuard<W> {
    fn drop(&mut self) {
        lock(&self.shared.pending).stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self.shared.write_pending();
    }
}

/// A poisoned lock only means a logger panicked mid-append; the bytes are
/// still worth writing.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log(writer: &BatchedWriter<Sink>, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn every_line_arrives_in_order_from_many_threads_by_exit() {
        let sink = Sink::default();
        let (writer, guard) = BatchedWriter::new(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || (0..5_000).for_each(|i| log(&writer, &format!("{t} {i}\n"))))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(guard);
        let text = String::from_utf8(lock(&sink.0).clone()).unwrap();
        let mut next = [0u32; 4];
        for line in text.lines() {
            let (t, i) = line.split_once(' ').unwrap();
            let t: usize = t.parse().unwrap();
            assert_eq!(i.parse::<u32>().unwrap(), next[t], "thread {t}'s lines out of order");
            next[t] += 1;
        }
        assert_eq!(next, [5_000; 4]);
    }

    #[test]
    fn a_lone_line_is_written_without_more_logging() {
        let sink = Sink::default();
        let (writer, _guard) = BatchedWriter::new(sink.clone()).unwrap();
        log(&writer, "alone\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&sink.0).is_empty() {
            assert!(std::time::Instant::now() < deadline, "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*lock(&sink.0), b"alone\n");
    }

    #[test]
    fn the_buffer_never_holds_more_than_the_limit() {
        // Faster than the writer thread drains: past the limit, the logger
        // writes the batch itself.
        let sink = Sink::default();
        let (writer, guard) = BatchedWriter::new(sink.clone()).unwrap();
        let line = vec![b'x'; 1024];
        let line = String::from_utf8(line).unwrap() + "\n";
        for _ in 0..(MAX_PENDING / line.len() + 2) {
            log(&writer, &line);
            assert!(lock(&writer.shared.pending).bytes.len() <= MAX_PENDING);
        }
        drop(guard);
        assert_eq!(lock(&sink.0).len(), (MAX_PENDING / line.len() + 2) * line.len());
    }
}
