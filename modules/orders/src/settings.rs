//! The `[orders]` configuration section (keys and defaults as in the contract).

use std::time::Duration;

use kernel::config::duration;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OrdersSettings {
    /// How long an unpaid order holds its stock before it expires.
    #[serde(deserialize_with = "duration")]
    pub reservation_ttl: Duration,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self { reservation_ttl: Duration::from_secs(15 * 60) }
    }
}

/// The catalog holds stock for at most a week.
const LONGEST_TTL: Duration = Duration::from_secs(7 * 24 * 3600 - 3600);

impl OrdersSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.reservation_ttl < Duration::from_secs(1) || self.reservation_ttl > LONGEST_TTL {
            return Err("orders.reservation_ttl must be between 1s and 6days 23h".into());
        }
        Ok(())
    }
}
