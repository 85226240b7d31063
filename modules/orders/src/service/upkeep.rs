//! Background work, safe with several replicas (every step is a conditional
//! update or an idempotent call) and after a crash at any point.

use kernel::db::{stored_id, DbError};
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

impl OrdersService {
    /// Expires one unpaid order and releases its stock; false if it was no longer pending.
    pub(super) async fn expire(&self, id: Uuid) -> Result<bool> {
        let moved = self.transition(id, OrderStatus::PendingPayment, OrderStatus::Expired).await?;
        if moved {
            tracing::info!(order_id = %id, "order expired");
            self.settle_stock(id, OrderStatus::Expired).await;
        }
        Ok(moved)
    }

    /// Expires unpaid orders past `orders.reservation_ttl`.
    pub async fn expire_due(&self) -> Result<usize> {
        let due =
            self.db.run(|c| store::due_to_expire(c, kernel::now(), BATCH).map_err(DbError::from)).await?;
        let mut expired = 0;
        for id in due {
            if self.expire(stored_id(&id)?).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Finishes what an interrupted request left: catalog steps not yet done,
    /// and charges whose outcome never reached the order (a succeeded payment
    /// makes a pending order paid, and is refunded if the order expired or was cancelled).
    pub async fn reconcile(&self) -> Result<usize> {
        let undone = self.undo_placing_older_than(PLACING_GIVEN_UP_AFTER).await?;
        Ok(undone + self.reconcile_older_than(SETTLE_AFTER).await?)
    }

    /// Undoes orders left placing for `age`: their reservation (if it was
    /// made) is released, and the order, which nobody was told about, removed.
    pub async fn undo_placing_older_than(&self, age: chrono::Duration) -> Result<usize> {
        let before = kernel::now() - age;
        let stale =
            self.db.run(move |c| store::stale_placing(c, before, BATCH).map_err(DbError::from)).await?;
        let mut undone = 0;
        for id in stale {
            let id = stored_id(&id)?;
            match self.catalog.release(id).await {
                Ok(()) => {
                    self.forget_placing(id).await;
                    tracing::info!(order_id = %id, "undid an order whose placing never finished");
                    undone += 1;
                }
                Err(e) => tracing::warn!(order_id = %id, error = %e, "placing order left for the next run"),
            }
        }
        Ok(undone)
    }

    /// [`Self::reconcile`] for orders untouched for `age`.
    pub async fn reconcile_older_than(&self, age: chrono::Duration) -> Result<usize> {
        let before = kernel::now() - age;
        let rows = self.db.run(move |c| store::unsettled(c, before, BATCH).map_err(DbError::from)).await?;
        let count = rows.len();
        for order in rows {
            let id = stored_id(&order.id)?;
            let status = status_of(&order)?;
            if order.payment_pending {
                if let Err(e) = self.settle_payment(order.clone(), status).await {
                    tracing::warn!(order_id = %id, error = %e, "payment outcome left for the next run");
                    continue;
                }
            }
            if order.stock_pending {
                self.settle_stock(id, status).await;
            }
        }
        Ok(count)
    }

    async fn settle_payment(&self, order: OrderRow, status: OrderStatus) -> Result<()> {
        let id = stored_id(&order.id)?;
        let payments = self.payments.payments_for_order(id).await?;
        if let Some(paid) = payments.iter().find(|p| p.status == PaymentStatus::Succeeded) {
            if matches!(status, OrderStatus::PendingPayment | OrderStatus::Expired | OrderStatus::Cancelled) {
                // Makes the order paid, or refunds the payment if it cannot be applied
                // (answered `order_not_payable` once refunded). Anything else: retry next run.
                match self.apply_payment(order, paid).await {
                    Ok(_) => {}
                    Err(e) if e.code() == "order_not_payable" => {}
                    Err(e) => {
                        self.touch(id).await;
                        return Err(e);
                    }
                }
            }
        }
        // A charge still pending at the provider keeps the flag while the order can be paid.
        let still_open = status == OrderStatus::PendingPayment
            && payments.iter().any(|p| p.status == PaymentStatus::Pending);
        if !still_open {
            let key = id.to_string();
            self.db
                .run(move |c| {
                    store::set_payment_pending(c, &key, false, kernel::now()).map_err(DbError::from)
                })
                .await?;
        }
        Ok(())
    }
}
