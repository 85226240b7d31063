//! Background work, safe with several replicas (every step is a conditional
//! update or an idempotent call) and after a crash at any point.

use kernel::db::stored_id;
use kernel::module::JobOutcome;
use orders_api::OrderStatus;
use payments_api::PaymentStatus;
use uuid::Uuid;

use super::{status_of, OrdersService, Result};
use crate::store::orders::{self as store, OrderRow};

/// Orders untouched this long with an unfinished step are picked up by the reconciler.
const SETTLE_AFTER: chrono::Duration = chrono::Duration::seconds(10);
/// An order still placing after this long lost its request (a crash, or a
/// request that gave up): no request lasts this long (its calls time out sooner).
const PLACING_GIVEN_UP_AFTER: chrono::Duration = chrono::Duration::seconds(30);
const BATCH: i64 = 100;

/// Expiry takes this many batches in one run at most, then lets the next run go on.
const MOST_BATCHES: usize = 10;

impl OrdersService {
    /// Expires one unpaid order and releases its stock; false if it was no longer pending.
    pub(super) async fn expire(&self, id: Uuid) -> Result<bool> {
        let moved = self.transition(id, OrderStatus::PendingPayment, OrderStatus::Expired).await?;
        if moved {
            tracing::info!(order_id = %id, "order expired");
            self.settle_stock_or_leave_it(id, OrderStatus::Expired).await;
        }
        Ok(moved)
    }

    /// Expires unpaid orders past `orders.reservation_ttl`, batch after batch
    /// until none is due (at most [`MOST_BATCHES`] per run).
    pub async fn expire_due(&self) -> Result<JobOutcome> {
        let mut outcome = JobOutcome::default();
        for _ in 0..MOST_BATCHES {
            let due = self.db.query(|c| store::due_to_expire(c, kernel::now(), BATCH)).await?;
            let full = due.len() as i64 == BATCH;
            for id in due {
                let expired = match stored_id(&id) {
                    Ok(order) => self.expire(order).await,
                    Err(e) => Err(e.into()),
                };
                outcome.count("expire unpaid orders", &id, expired);
            }
            if !full {
                break;
            }
        }
        Ok(outcome)
    }

    /// Finishes what an interrupted request left: orders left placing,
    /// catalog steps not yet done, and charges whose outcome never reached the
    /// order (a succeeded payment makes a pending order paid, and is refunded if
    /// the order expired or was cancelled).
    pub async fn reconcile(&self) -> Result<JobOutcome> {
        let mut outcome = self.undo_placing_older_than(PLACING_GIVEN_UP_AFTER).await?;
        outcome += self.reconcile_older_than(SETTLE_AFTER).await?;
        Ok(outcome)
    }

    /// Undoes orders left placing for `age`: their reservation (if it was
    /// made) is released, and the order, which nobody was told about, removed.
    pub async fn undo_placing_older_than(&self, age: chrono::Duration) -> Result<JobOutcome> {
        let before = kernel::now() - age;
        let stale = self.db.query(move |c| store::stale_placing(c, before, BATCH)).await?;
        let mut outcome = JobOutcome::default();
        for id in stale {
            outcome.count("undo placing orders", &id, self.undo_placing(&id).await);
        }
        Ok(outcome)
    }

    /// The order is removed first: once it is gone, its request can no longer
    /// make it payable, so the stock can be released. An order that became
    /// payable meanwhile is left alone, with its stock.
    async fn undo_placing(&self, id: &str) -> Result<()> {
        let id = stored_id(id)?;
        let key = id.to_string();
        if self.db.query(move |c| store::forget_placing(c, &key)).await? == 0 {
            return Ok(());
        }
        // If this fails, the catalog's own expiry frees the stock.
        self.catalog.release(id).await?;
        tracing::info!(order_id = %id, "undid an order whose placing never finished");
        Ok(())
    }

    /// [`Self::reconcile`] of the orders with a pending step, untouched for `age`.
    pub async fn reconcile_older_than(&self, age: chrono::Duration) -> Result<JobOutcome> {
        let before = kernel::now() - age;
        let rows = self.db.query(move |c| store::unsettled(c, before, BATCH)).await?;
        let mut outcome = JobOutcome::default();
        for order in rows {
            let id = order.id.clone();
            outcome.count("reconcile orders", &id, self.settle(order).await);
        }
        Ok(outcome)
    }

    /// Settles one order's pending payment outcome, then its pending stock step.
    async fn settle(&self, order: OrderRow) -> Result<()> {
        let id = stored_id(&order.id)?;
        let status = status_of(&order)?;
        if order.payment_pending {
            self.settle_payment(order.clone(), status).await?;
        }
        if order.stock_pending {
            self.settle_stock(id, status).await?;
        }
        Ok(())
    }

    async fn settle_payment(&self, order: OrderRow, status: OrderStatus) -> Result<()> {
        let id = stored_id(&order.id)?;
        let payments = self.payments.payments_for_order(id).await?;
        if let Some(paid) = payments.iter().find(|p| p.status == PaymentStatus::Succeeded) {
            if matches!(status, OrderStatus::PendingPayment | OrderStatus::Expired | OrderStatus::Cancelled) {
                // The order is paid, or the payment refunded: either way it is settled.
                if let Err(e) = self.apply_payment(order, paid).await {
                    self.touch(id).await;
                    return Err(e);
                }
            }
        }
        // A charge still pending keeps the flag, whatever the order's status:
        // payments settles it with the provider, and if it succeeded for an
        // order that expired or was cancelled meanwhile, the next run refunds it.
        let still_open = payments.iter().any(|p| p.status == PaymentStatus::Pending);
        if !still_open {
            let key = id.to_string();
            self.db.query(move |c| store::set_payment_pending(c, &key, false, kernel::now())).await?;
        }
        Ok(())
    }
}
