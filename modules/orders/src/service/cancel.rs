//! Cancelling: a pending order (owner or admin) releases its stock; a paid
//! order (admin only) is refunded first, then restocked, and ends `refunded`.

use kernel::auth::AuthUser;
use kernel::db::stored_id;
use kernel::ApiError;
use orders_api::{OrderDto, OrderStatus, ORDER_NOT_CANCELLABLE};
use uuid::Uuid;

use super::{status_of, OrdersService, Result};

fn not_cancellable(status: OrderStatus) -> ApiError {
    ApiError::new(ORDER_NOT_CANCELLABLE, format!("the order is already {status}"))
        .with_extension("order_status", status)
}

impl OrdersService {
    pub async fn cancel(&self, caller: AuthUser, id: Uuid) -> Result<OrderDto> {
        let order = self.visible(caller, id).await?;
        match status_of(&order)? {
            OrderStatus::PendingPayment => {
                if !self.transition(id, OrderStatus::PendingPayment, OrderStatus::Cancelled).await? {
                    // Paid, expired or cancelled by someone else meanwhile.
                    let order = self.visible(caller, id).await?;
                    return Err(not_cancellable(status_of(&order)?));
                }
                tracing::info!(order_id = %id, "order cancelled");
                self.settle_stock_or_leave_it(id, OrderStatus::Cancelled).await;
                self.reload(id).await
            }
            OrderStatus::Paid if !caller.is_admin() => {
                Err(ApiError::forbidden("a paid order can only be cancelled by an admin, who refunds it"))
            }
            OrderStatus::Paid => {
                let payment_id = order
                    .payment_id
                    .as_deref()
                    .map(stored_id)
                    .transpose()?
                    .ok_or_else(|| ApiError::internal(format!("paid order {id} has no payment")))?;
                // Money first: if the refund fails the order stays paid, stock untouched.
                self.payments.refund(payment_id).await?;
                if self.transition(id, OrderStatus::Paid, OrderStatus::Refunded).await? {
                    tracing::info!(order_id = %id, %payment_id, "order refunded");
                    self.settle_stock_or_leave_it(id, OrderStatus::Refunded).await;
                }
                self.reload(id).await
            }
            other => Err(not_cancellable(other)),
        }
    }
}
