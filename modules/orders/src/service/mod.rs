//! Orders as a saga over catalog (stock), payments (money) and users
//! (addresses), each reached only through its trait:
//! - `checkout.rs`: placing an order (reserve, then record; release on failure);
//! - `payment.rs`: paying (charge once per order and token, then mark paid and commit stock);
//! - `cancel.rs`: cancelling (release) and refunding (refund, then restock);
//! - `upkeep.rs`: expiring unpaid orders and finishing steps a failure interrupted;
//! - `idempotency.rs`: stored answers for `Idempotency-Key`.

mod cancel;
mod checkout;
mod idempotency;
mod payment;
mod upkeep;

use std::sync::Arc;
use std::time::Duration;

use catalog_api::CatalogApi;
use chrono::NaiveDateTime;
use kernel::auth::AuthUser;
use kernel::db::{stored_id, Combined, Database};
use kernel::pagination::{Page, PageRequest};
use kernel::ApiError;
use orders_api::{OrderDto, OrderItemDto, OrderStatus, ShippingAddress, ORDER_NOT_FOUND};
use payments_api::PaymentsApi;
use users_api::UsersApi;
use uuid::Uuid;

pub use idempotency::{Begun, StoredAnswer};

use crate::store::orders::{self as store, OrderRow};
use crate::store::placing;

type Result<T> = std::result::Result<T, ApiError>;

/// How long the catalog holds stock beyond the order's own expiry, so the
/// order expires (and releases) first and the catalog's sweep is only a backstop.
const HOLD_GRACE: Duration = Duration::from_secs(300);

pub struct OrdersService {
    db: Database,
    /// Orders written as `placing`, many at once when requests meet.
    intents: Combined<OrderRow, ()>,
    /// Placing orders marked `pending_payment`, many at once when requests meet.
    placements: Combined<String, Option<NaiveDateTime>>,
    catalog: Arc<dyn CatalogApi>,
    payments: Arc<dyn PaymentsApi>,
    users: Arc<dyn UsersApi>,
    reservation_ttl: Duration,
}

impl OrdersService {
    pub fn new(
        db: Database,
        catalog: Arc<dyn CatalogApi>,
        payments: Arc<dyn PaymentsApi>,
        users: Arc<dyn UsersApi>,
        reservation_ttl: Duration,
    ) -> Self {
        let intents = Combined::new(db.clone(), placing::MAX_PER_STATEMENT, placing::insert_placing);
        let placements = Combined::new(db.clone(), placing::MAX_PER_STATEMENT, placing::mark_placed);
        Self { db, intents, placements, catalog, payments, users, reservation_ttl }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub async fn list(&self, caller: AuthUser, page: PageRequest) -> Result<Page<OrderDto>> {
        let owner = (!caller.is_admin()).then(|| caller.id.to_string());
        let (rows, total) = self.db.query(move |c| store::list(c, owner.as_deref(), page)).await?;
        let items = rows.iter().map(order_dto).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, page, total))
    }

    /// The order if the caller owns it or is an admin; anyone else gets 404.
    pub async fn get(&self, caller: AuthUser, id: Uuid) -> Result<OrderDto> {
        order_dto(&self.visible(caller, id).await?)
    }

    async fn visible(&self, caller: AuthUser, id: Uuid) -> Result<OrderRow> {
        match self.load(id).await? {
            Some(order) if caller.is_admin() || order.user_id == caller.id.to_string() => Ok(order),
            _ => Err(order_not_found()),
        }
    }

    /// The order, unless it does not exist or is still being placed.
    async fn load(&self, id: Uuid) -> Result<Option<OrderRow>> {
        let key = id.to_string();
        Ok(self.db.query(move |c| store::find(c, &key)).await?)
    }

    async fn reload(&self, id: Uuid) -> Result<OrderDto> {
        order_dto(&self.load(id).await?.ok_or_else(order_not_found)?)
    }

    /// `from` → `to` (conditional): true if this call made the move.
    async fn transition(&self, id: Uuid, from: OrderStatus, to: OrderStatus) -> Result<bool> {
        let key = id.to_string();
        let moved = self
            .db
            .query(move |c| store::transition(c, &key, from.as_str(), to.as_str(), true, kernel::now()))
            .await?;
        Ok(moved == 1)
    }

    /// Tells the catalog what the order's status needs (commit for paid,
    /// release for cancelled or expired, restock for refunded), then clears
    /// the flag. On failure the flag stays, the order goes to the back of the
    /// reconciler's queue, and the reconciler retries.
    async fn settle_stock(&self, id: Uuid, status: OrderStatus) -> Result<()> {
        let outcome = match status {
            OrderStatus::Paid => self.catalog.commit(id).await,
            OrderStatus::Cancelled | OrderStatus::Expired => self.catalog.release(id).await,
            OrderStatus::Refunded => self.catalog.restock(id).await,
            OrderStatus::PendingPayment => return Ok(()),
        };
        if let Err(e) = outcome {
            self.touch(id).await;
            return Err(e.into());
        }
        let key = id.to_string();
        self.db.query(move |c| store::stock_done(c, &key, status.as_str())).await?;
        Ok(())
    }

    /// [`Self::settle_stock`] in a request: a failure is the reconciler's to finish.
    async fn settle_stock_or_leave_it(&self, id: Uuid, status: OrderStatus) {
        if let Err(e) = self.settle_stock(id, status).await {
            tracing::warn!(order_id = %id, status = status.as_str(), error = %e, "stock step left for the reconciler");
        }
    }
}

impl OrdersService {
    /// Moves a failing order to the back of the reconciler's queue, so a few
    /// stuck orders cannot starve the others.
    async fn touch(&self, id: Uuid) {
        let key = id.to_string();
        if let Err(e) = self.db.query(move |c| store::touch(c, &key, kernel::now())).await {
            tracing::warn!(order_id = %id, error = %e, "could not touch the order");
        }
    }
}

pub(crate) fn order_not_found() -> ApiError {
    ApiError::new(ORDER_NOT_FOUND, "order not found")
}

fn status_of(order: &OrderRow) -> Result<OrderStatus> {
    OrderStatus::parse(&order.status)
        .ok_or_else(|| ApiError::internal(format!("stored order status `{}` is unknown", order.status)))
}

fn order_dto(order: &OrderRow) -> Result<OrderDto> {
    let unreadable = |what: &str, e: serde_json::Error| {
        ApiError::internal(format!("stored {what} of order {} is unreadable: {e}", order.id))
    };
    let items = order.items().map_err(|e| unreadable("items", e))?;
    let shipping_address =
        order.shipping_address().map_err(|e| unreadable("shipping address", e))?.map(|a| ShippingAddress {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            postal_code: a.postal_code,
            country: a.country,
        });
    Ok(OrderDto {
        id: stored_id(&order.id)?,
        user_id: stored_id(&order.user_id)?,
        status: status_of(order)?,
        items: items
            .into_iter()
            .map(|i| {
                Ok(OrderItemDto {
                    product_id: stored_id(&i.product_id)?,
                    name: i.name,
                    unit_price_cents: i.unit_price_cents,
                    quantity: i.quantity,
                    line_total_cents: i.line_total_cents,
                })
            })
            .collect::<Result<_>>()?,
        total_cents: order.total_cents,
        currency: order.currency.clone(),
        shipping_address,
        payment_id: order.payment_id.as_deref().map(stored_id).transpose()?,
        expires_at: order.expires_at.and_utc(),
        created_at: order.created_at.and_utc(),
        updated_at: order.updated_at.and_utc(),
    })
}
