//! Paying an order: one charge per order and card token (the idempotency key
//! is derived from both), then the order is marked paid and its stock
//! committed. A success that cannot be applied (the order expired or was
//! cancelled meanwhile) is refunded.

use kernel::auth::AuthUser;
use kernel::db::stored_id;
use kernel::error::validate;
use kernel::ApiError;
use orders_api::{OrderDto, OrderStatus, ORDER_NOT_PAYABLE, PAYMENT_DECLINED};
use payments_api::{ChargeRequest, PaymentDto, PaymentStatus};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{order_not_found, status_of, OrdersService, Result};
use crate::requests::PayOrder;
use crate::store::orders::{self as store, OrderRow};

pub(super) fn not_payable(status: OrderStatus) -> ApiError {
    ApiError::new(ORDER_NOT_PAYABLE, format!("the order is {status}; only a pending order can be paid"))
        .with_extension("order_status", status)
}

/// What became of a succeeded payment offered to an order.
pub(super) enum Applied {
    Paid(Box<OrderDto>),
    /// The order could no longer take it (expired, cancelled meanwhile): refunded.
    Refunded {
        status: OrderStatus,
    },
}

/// The same order and token always make the same key: a retry never charges twice.
fn charge_key(order_id: Uuid, token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("order-{order_id}-{}", kernel::hex(&digest[..12]))
}

impl OrdersService {
    pub async fn pay(&self, caller: AuthUser, id: Uuid, request: PayOrder) -> Result<OrderDto> {
        validate(&request)?;
        let order = self.load(id).await?.ok_or_else(order_not_found)?;
        if order.user_id != caller.id.to_string() {
            return Err(order_not_found());
        }
        let status = status_of(&order)?;
        if status != OrderStatus::PendingPayment {
            return Err(not_payable(status));
        }
        if order.expires_at <= kernel::now() {
            self.expire(id).await?;
            return Err(not_payable(OrderStatus::Expired));
        }

        if order.payment_pending {
            // An earlier attempt's answer was lost: if it succeeded, use it rather than charge again.
            let earlier = self.payments.payments_for_order(id).await?;
            if let Some(paid) = earlier.iter().find(|p| p.status == PaymentStatus::Succeeded) {
                return paid_or_refused(self.apply_payment(order, paid).await?);
            }
        }
        self.set_payment_pending(id, true).await?;
        let payment = self
            .payments
            .charge(ChargeRequest {
                idempotency_key: charge_key(id, &request.payment_token),
                order_id: id,
                user_id: caller.id,
                amount_cents: order.total_cents,
                currency: order.currency.clone(),
                payment_token: request.payment_token,
            })
            .await?;
        match payment.status {
            PaymentStatus::Succeeded => paid_or_refused(self.apply_payment(order, &payment).await?),
            PaymentStatus::Failed => {
                self.set_payment_pending(id, false).await?;
                Err(ApiError::new(PAYMENT_DECLINED, "the card was declined"))
            }
            // This key's charge was refunded earlier: the order cannot be paid with it again.
            PaymentStatus::Refunded => {
                Err(not_payable(status_of(&self.load(id).await?.ok_or_else(order_not_found)?)?))
            }
            PaymentStatus::Pending => {
                Err(ApiError::unavailable("the payment is still being processed; retry"))
            }
        }
    }

    /// Marks `order` (as last read) paid by `payment` and commits its stock;
    /// if the order can no longer be paid, refunds the payment instead.
    pub(super) async fn apply_payment(&self, mut order: OrderRow, payment: &PaymentDto) -> Result<Applied> {
        let id = stored_id(&order.id)?;
        let (key, payment_key, at) = (order.id.clone(), payment.id.to_string(), kernel::now());
        let marked = self.db.query(move |c| store::mark_paid(c, &key, &payment_key, at)).await?;
        if marked == 1 {
            tracing::info!(order_id = %id, payment_id = %payment.id, "order paid");
            self.settle_stock_or_leave_it(id, OrderStatus::Paid).await;
            order.status = OrderStatus::Paid.as_str().into();
            order.payment_id = Some(payment.id.to_string());
            order.payment_pending = false;
            order.updated_at = at;
            return super::order_dto(&order).map(|dto| Applied::Paid(Box::new(dto)));
        }
        let order = self.load(id).await?.ok_or_else(order_not_found)?;
        let status = status_of(&order)?;
        if status == OrderStatus::Paid
            && order.payment_id.as_deref().map(stored_id).transpose()? == Some(payment.id)
        {
            // A replay of the same payment.
            return super::order_dto(&order).map(|dto| Applied::Paid(Box::new(dto)));
        }
        tracing::warn!(order_id = %id, payment_id = %payment.id, status = status.as_str(), "refunding a payment the order cannot take");
        self.payments.refund(payment.id).await?;
        self.set_payment_pending(id, false).await?;
        Ok(Applied::Refunded { status })
    }

    async fn set_payment_pending(&self, id: Uuid, pending: bool) -> Result<()> {
        let key = id.to_string();
        self.db.query(move |c| store::set_payment_pending(c, &key, pending, kernel::now())).await?;
        Ok(())
    }
}

/// A payment a customer made: the paid order, or why it could not take it.
fn paid_or_refused(applied: Applied) -> Result<OrderDto> {
    match applied {
        Applied::Paid(order) => Ok(*order),
        Applied::Refunded { status } => Err(not_payable(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_keys_depend_on_order_and_token_only() {
        let order = Uuid::from_u128(7);
        assert_eq!(charge_key(order, "tok_visa"), charge_key(order, "tok_visa"));
        assert_ne!(charge_key(order, "tok_visa"), charge_key(order, "tok_chargeDeclined"));
        assert_ne!(charge_key(order, "tok_visa"), charge_key(Uuid::from_u128(8), "tok_visa"));
        assert!(!charge_key(order, "tok_visa").contains("tok_visa"), "the token is not stored in clear");
    }
}
