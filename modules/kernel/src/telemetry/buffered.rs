//! A log sink that never makes a request wait for a `write(2)`: formatted
//! lines are appended to a buffer, and one thread writes the buffer out every
//! [`FLUSH_EVERY`] (sooner when it fills up), in one system call, like nginx's
//! `access_log … buffer= flush=`. Above [`MAX_PENDING`] unwritten bytes (the
//! reader is stuck) lines are dropped and counted rather than blocking callers.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Buffered bytes that wake the writer before its time.
const FLUSH_ABOVE: usize = 64 * 1024;
/// Unwritten bytes beyond which new lines are dropped.
const MAX_PENDING: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closing: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// The `MakeWriter` handed to the subscriber.
#[derive(Clone)]
pub struct BufferedWriter {
    shared: Arc<Shared>,
}

/// Flushes what is left and stops the writer thread when dropped: keep it
/// alive for as long as the program logs.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A buffered writer to `out`, and the guard that flushes it at the end.
pub fn buffered(out: impl Write + Send + 'static) -> (BufferedWriter, FlushGuard) {
    let shared = Arc::new(Shared { pending: Mutex::new(Pending::default()), wake: Condvar::new() });
    let writer = shared.clone();
    let thread =
        std::thread::Builder::new().name("log-writer".into()).spawn(move || write_out(&writer, out)).ok();
    (BufferedWriter { shared: shared.clone() }, FlushGuard { shared, thread })
}

fn write_out(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let (dropped, closing) = {
            let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
            if !pending.closing && pending.bytes.len() < FLUSH_ABOVE {
                pending = shared.wake.wait_timeout(pending, FLUSH_EVERY).unwrap_or_else(|p| p.into_inner()).0;
            }
            std::mem::swap(&mut batch, &mut pending.bytes);
            (std::mem::take(&mut pending.dropped), pending.closing)
        };
        if dropped > 0 {
            let _ = writeln!(out, "log writer: {dropped} lines dropped while the output was not keeping up");
        }
        if !batch.is_empty() {
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        }
        if closing {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.pending.lock().unwrap_or_else(|p| p.into_inner()).closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's line; the subscriber writes each event in one `write_all`.
pub struct Line<'a> {
    shared: &'a Shared,
}

impl Write for Line<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.bytes.len() + line.len() > MAX_PENDING {
            pending.dropped += 1;
        } else {
            pending.bytes.extend_from_slice(line);
            if pending.bytes.len() >= FLUSH_ABOVE {
                self.shared.wake.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BufferedWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line { shared: &self.shared }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_reach_the_output_in_order_and_all_are_flushed_at_the_end() {
        let sink = Sink::default();
        let (writer, guard) = buffered(sink.clone());
        for i in 0..1000 {
            writer.make_writer().write_all(format!("line {i}\n").as_bytes()).expect("write");
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!((lines[0], lines[999]), ("line 0", "line 999"));
    }

    #[test]
    fn a_line_is_written_within_the_flush_interval() {
        let sink = Sink::default();
        let (writer, _guard) = buffered(sink.clone());
        writer.make_writer().write_all(b"soon\n").expect("write");
        std::thread::sleep(FLUSH_EVERY * 3);
        assert_eq!(sink.0.lock().expect("sink").as_slice(), b"soon\n");
    }
}
