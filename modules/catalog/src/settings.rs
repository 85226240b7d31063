//! The `[catalog]` configuration section.

use std::time::Duration;

use kernel::config::duration;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CatalogSettings {
    /// How long a public product read or list page may be answered from what
    /// this process read before (`service/read_cache.rs`); `0s` turns it off.
    /// At most 1 s: no replica may show a price or stock older than that.
    #[serde(deserialize_with = "duration")]
    pub read_cache_ttl: Duration,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self { read_cache_ttl: Duration::from_secs(1) }
    }
}

impl CatalogSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.read_cache_ttl > Duration::from_secs(1) {
            return Err("catalog.read_cache_ttl may be at most 1s: no answer may be staler".into());
        }
        Ok(())
    }
}
