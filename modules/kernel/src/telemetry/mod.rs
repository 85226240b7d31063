//! Logs: readable lines in development, JSON lines (one object per event,
//! with the request span's fields) when `log.format = "json"`, written to
//! standard error through a buffer so that no request waits on a write.

mod buffered;
pub mod spans;

use std::io::IsTerminal as _;

use tracing_subscriber::{fmt, EnvFilter};

pub use buffered::FlushGuard;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber; `RUST_LOG` overrides `log.filter`. Keep the
/// guard until the program ends: dropping it writes out what is buffered.
/// When a subscriber is already installed (tests), the new one is discarded.
pub fn init(settings: &LogSettings) -> FlushGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let (writer, guard) = buffered::buffered(std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    let _ = match settings.format {
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
        // Colours only for a person at a terminal, never into a file.
        LogFormat::Pretty => builder.compact().with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    guard
}
