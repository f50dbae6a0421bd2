//! Every log event of the process, kept in memory at TRACE so a test can look for what must
//! never be logged. Install once per process (the subscriber is global): a test that uses this
//! runs in a process of its own (`support::own_process`).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

/// What the global subscriber wrote so far.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Makes a TRACE subscriber writing to memory the global one and returns its buffer.
pub fn capture() -> Captured {
    let buf = Captured::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    buf
}
