//! Charging and refunding through the provider, exactly once per key.

use std::sync::Arc;

use kernel::auth::AuthUser;
use kernel::db::{is_unique_violation, stored_id, Database};
use kernel::error::FieldError;
use kernel::module::JobOutcome;
use kernel::pagination::{Page, PageParams};
use payments_api::{ChargeRequest, PaymentDto, PaymentStatus, PaymentsApi, PaymentsError};
use uuid::Uuid;

use crate::provider::{ChargeOutcome, PaymentProvider, ProviderCharge};
use crate::store::{self, PaymentRow, Visible};

type Result<T> = std::result::Result<T, PaymentsError>;

/// Pending payments settled per run of the job.
const SETTLE_BATCH: i64 = 100;
/// The failure reason of a charge the provider never received.
const NEVER_MADE: &str = "never_made";

pub struct PaymentsService {
    db: Database,
    provider: Arc<dyn PaymentProvider>,
}

impl PaymentsService {
    pub fn new(db: Database, provider: Arc<dyn PaymentProvider>) -> Self {
        Self { db, provider }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Settles the payments left pending for `age` (a charge whose answer was
    /// lost): the provider says what became of each; one never made failed.
    /// Background job.
    pub async fn settle_pending_older_than(&self, age: chrono::Duration) -> Result<JobOutcome> {
        let before = kernel::now() - age;
        let pending = self.db.query(move |c| store::pending_before(c, before, SETTLE_BATCH)).await?;
        let mut outcome = JobOutcome::default();
        for row in pending {
            let id = row.id.clone();
            let settled = match self.provider.lookup(&row.idempotency_key).await {
                Ok(found) => self.record(row, found).await.map(|row| {
                    tracing::info!(payment_id = %row.id, status = %row.status, "settled a pending payment");
                }),
                Err(e) => Err(PaymentsError::Unavailable(e.to_string())),
            };
            outcome.count("settle pending payments", &id, settled);
        }
        Ok(outcome)
    }

    /// Stores a pending payment's outcome (`None`: the charge was never made,
    /// so it failed) and returns the row as it stands: if a concurrent call
    /// with the same key settled it first, its outcome stands.
    async fn record(&self, row: PaymentRow, outcome: Option<ChargeOutcome>) -> Result<PaymentRow> {
        let (status, reference, reason) = match outcome {
            Some(ChargeOutcome::Succeeded { reference }) => (PaymentStatus::Succeeded, Some(reference), None),
            Some(ChargeOutcome::Declined { reason }) => (PaymentStatus::Failed, None, Some(reason)),
            None => (PaymentStatus::Failed, None, Some(NEVER_MADE.to_owned())),
        };
        let mut settled = row;
        settled.status = status.as_str().into();
        settled.provider_ref = reference;
        settled.failure_reason = reason;
        settled.updated_at = kernel::now();
        let stored = self
            .db
            .query(move |c| {
                let changed = store::settle(
                    c,
                    &settled.id,
                    &settled.status,
                    settled.provider_ref.as_deref(),
                    settled.failure_reason.as_deref(),
                    settled.updated_at,
                )?;
                match changed {
                    1 => Ok(Some(settled)),
                    _ => store::find(c, &settled.id),
                }
            })
            .await?;
        stored.ok_or(PaymentsError::NotFound)
    }

    /// The caller's payments (an admin's: everyone's), optionally of one order.
    pub async fn list(
        &self,
        caller: AuthUser,
        order_id: Option<Uuid>,
        page: PageParams,
    ) -> Result<Page<PaymentDto>> {
        let page = page.validate()?;
        let filter = Visible {
            user_id: (!caller.is_admin()).then(|| caller.id.to_string()),
            order_id: order_id.map(|id| id.to_string()),
        };
        let (rows, total) = self.db.query(move |c| store::list(c, &filter, page)).await?;
        let items = rows.iter().map(payment_dto).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, page, total))
    }

    /// One payment, for its order's owner or an admin; anyone else gets 404.
    pub async fn get(&self, caller: AuthUser, id: Uuid) -> Result<PaymentDto> {
        let row = self.find(id).await?;
        let visible = row.status != PaymentStatus::Pending.as_str()
            && (caller.is_admin() || row.user_id == caller.id.to_string());
        if !visible {
            return Err(PaymentsError::NotFound);
        }
        payment_dto(&row)
    }

    async fn find(&self, id: Uuid) -> Result<PaymentRow> {
        let key = id.to_string();
        self.db.query(move |c| store::find(c, &key)).await?.ok_or(PaymentsError::NotFound)
    }

    /// Records the attempt before calling the provider, so a crash or lost
    /// answer leaves a pending row that the next call with the key settles.
    async fn claim(&self, request: &ChargeRequest) -> Result<PaymentRow> {
        let now = kernel::now();
        let row = PaymentRow {
            id: kernel::new_id().to_string(),
            idempotency_key: request.idempotency_key.clone(),
            order_id: request.order_id.to_string(),
            user_id: request.user_id.to_string(),
            amount_cents: request.amount_cents,
            currency: request.currency.clone(),
            status: PaymentStatus::Pending.as_str().into(),
            provider_ref: None,
            failure_reason: None,
            created_at: now,
            updated_at: now,
        };
        let claimed = self
            .db
            .run(move |c| match store::insert(c, &row) {
                Ok(()) => Ok(row),
                Err(e) if is_unique_violation(&e) => store::find_by_key(c, &row.idempotency_key)?
                    .filter(|existing| same_charge(existing, &row))
                    .ok_or(PaymentsError::KeyReused),
                Err(e) => Err(e.into()),
            })
            .await?;
        Ok(claimed)
    }
}

/// The same key must mean the same charge.
fn same_charge(a: &PaymentRow, b: &PaymentRow) -> bool {
    a.order_id == b.order_id
        && a.user_id == b.user_id
        && a.amount_cents == b.amount_cents
        && a.currency == b.currency
}

fn validate(request: &ChargeRequest) -> Result<()> {
    let mut errors = Vec::new();
    let mut bad =
        |field: &str, message: &str| errors.push(FieldError { field: field.into(), message: message.into() });
    if request.idempotency_key.is_empty() || request.idempotency_key.len() > 200 {
        bad("idempotency_key", "must be 1 to 200 characters");
    }
    if request.amount_cents <= 0 {
        bad("amount_cents", "must be positive");
    }
    if request.currency.len() != 3 || !request.currency.chars().all(|c| c.is_ascii_uppercase()) {
        bad("currency", "must be an ISO 4217 code such as EUR");
    }
    if request.payment_token.trim().is_empty() || request.payment_token.len() > 200 {
        bad("payment_token", "must be 1 to 200 characters");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PaymentsError::Invalid(errors))
    }
}

#[async_trait::async_trait]
impl PaymentsApi for PaymentsService {
    async fn charge(&self, request: ChargeRequest) -> Result<PaymentDto> {
        validate(&request)?;
        let row = self.claim(&request).await?;
        if row.status != PaymentStatus::Pending.as_str() {
            return payment_dto(&row);
        }
        let outcome = self
            .provider
            .charge(ProviderCharge {
                idempotency_key: &row.idempotency_key,
                amount_cents: row.amount_cents,
                currency: &row.currency,
                token: &request.payment_token,
            })
            .await
            .map_err(|e| {
                tracing::warn!(payment_id = %row.id, error = %e, "charge left pending");
                PaymentsError::ProviderUnavailable
            })?;
        payment_dto(&self.record(row, Some(outcome)).await?)
    }

    async fn refund(&self, payment_id: Uuid) -> Result<PaymentDto> {
        let row = self.find(payment_id).await?;
        match PaymentStatus::parse(&row.status) {
            Some(PaymentStatus::Refunded) => return payment_dto(&row),
            Some(PaymentStatus::Succeeded) => {}
            _ => return Err(PaymentsError::NotRefundable),
        }
        let reference = row.provider_ref.clone().unwrap_or_default();
        self.provider.refund(&reference, &format!("refund:{}", row.id)).await.map_err(|e| {
            tracing::warn!(payment_id = %row.id, error = %e, "refund not sent");
            PaymentsError::ProviderUnavailable
        })?;
        let id = row.id.clone();
        self.db.query(move |c| store::mark_refunded(c, &id, kernel::now())).await?;
        payment_dto(&self.find(payment_id).await?)
    }

    async fn payments_for_order(&self, order_id: Uuid) -> Result<Vec<PaymentDto>> {
        let key = order_id.to_string();
        let rows = self.db.query(move |c| store::for_order(c, &key)).await?;
        rows.iter().map(payment_dto).collect()
    }
}

fn payment_dto(row: &PaymentRow) -> Result<PaymentDto> {
    Ok(PaymentDto {
        id: stored_id(&row.id)?,
        order_id: stored_id(&row.order_id)?,
        amount_cents: row.amount_cents,
        currency: row.currency.clone(),
        status: PaymentStatus::parse(&row.status)
            .ok_or_else(|| PaymentsError::Internal(format!("stored status `{}` is unknown", row.status)))?,
        created_at: row.created_at.and_utc(),
    })
}
