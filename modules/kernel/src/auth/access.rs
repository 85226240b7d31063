//! Changes to what accounts may do (disabled, role changed), so every verifier
//! can withdraw the powers of tokens issued before the change within seconds
//! instead of at their expiry, without a database read per request: each
//! process polls the changes (`TokenVerifier::poll_access_changes`) and keeps
//! them in memory.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Role;

/// An account's standing after a change made at `changed_at` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChange {
    pub user_id: Uuid,
    pub role: Role,
    pub disabled: bool,
    pub changed_at: i64,
}

/// Where the changes come from: the users module, through the auth module's
/// contract (in-process, or over HTTP where auth runs elsewhere).
#[async_trait::async_trait]
pub trait AccessChangeSource: Send + Sync {
    /// The changes made at or after `since` (Unix seconds), latest per account.
    async fn access_changes(&self, since: i64) -> Result<Vec<AccessChange>, String>;
}
