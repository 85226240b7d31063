//! `Idempotency-Key` on POST /orders and POST /orders/{id}/pay: the first
//! answer is stored per user, scope and key with the request's fingerprint;
//! the same key and body replay it, another body is 422.

use actix_web::http::StatusCode;
use kernel::db::is_unique_violation;
use kernel::error::{IDEMPOTENCY_KEY_REUSED, REQUEST_IN_PROGRESS};
use kernel::ApiError;

use super::{OrdersService, Result};
use crate::store::idempotency::{self as store, KeyRow};

/// A first request that has not answered within this time is taken to have crashed.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// How long stored answers are kept.
pub const KEEP_FOR: chrono::Duration = chrono::Duration::hours(24);

/// A stored answer to replay.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub status: StatusCode,
    pub body: String,
}

pub enum Begun {
    /// This request owns the key: run it, then `finish`.
    Fresh,
    Replay(StoredAnswer),
}

impl OrdersService {
    pub async fn begin_idempotent(
        &self,
        user: &str,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begun> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::invalid_field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        let now = kernel::now();
        let row = KeyRow {
            user_id: user.to_owned(),
            scope: scope.to_owned(),
            idempotency_key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            response_status: None,
            response_body: None,
            created_at: now,
        };
        self.db
            .run(move |c| {
                match store::insert(c, &row) {
                    Ok(()) => return Ok(Begun::Fresh),
                    Err(e) if !is_unique_violation(&e) => return Err(e.into()),
                    Err(_) => {}
                }
                let existing = store::find(c, &row.user_id, &row.scope, &row.idempotency_key)?
                    .ok_or_else(|| ApiError::unavailable("the idempotency key changed hands; retry"))?;
                if existing.fingerprint != row.fingerprint {
                    return Err(ApiError::new(
                        IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was used with a different request",
                    ));
                }
                match (existing.response_status, existing.response_body) {
                    (Some(status), Some(body)) => Ok(Begun::Replay(StoredAnswer {
                        status: u16::try_from(status)
                            .ok()
                            .and_then(|s| StatusCode::from_u16(s).ok())
                            .ok_or_else(|| ApiError::internal(format!("stored status {status}")))?,
                        body,
                    })),
                    _ => {
                        let stale = now - ABANDONED_AFTER;
                        let taken =
                            store::take_over(c, &row.user_id, &row.scope, &row.idempotency_key, stale, now)?;
                        if taken == 1 {
                            Ok(Begun::Fresh)
                        } else {
                            Err(ApiError::new(
                                REQUEST_IN_PROGRESS,
                                "a request with this Idempotency-Key is still in progress",
                            ))
                        }
                    }
                }
            })
            .await
    }

    /// Stores the answer for replays; a server-side failure (5xx) is not
    /// stored, so the client may retry with the same key.
    pub async fn finish_idempotent(
        &self,
        user: &str,
        scope: &str,
        key: &str,
        answer: &StoredAnswer,
    ) -> Result<()> {
        let (user, scope, key) = (user.to_owned(), scope.to_owned(), key.to_owned());
        let (status, body) = (i32::from(answer.status.as_u16()), answer.body.clone());
        self.db
            .query(move |c| {
                if status >= 500 {
                    store::forget(c, &user, &scope, &key)
                } else {
                    store::complete(c, &user, &scope, &key, status, &body)
                }
            })
            .await?;
        Ok(())
    }

    /// Drops answers older than [`KEEP_FOR`] (background job).
    pub async fn purge_idempotency_keys(&self) -> Result<kernel::module::JobOutcome> {
        let before = kernel::now() - KEEP_FOR;
        let handled = self.db.query(move |c| store::purge(c, before)).await?;
        Ok(kernel::module::JobOutcome { handled, failed: 0 })
    }
}
