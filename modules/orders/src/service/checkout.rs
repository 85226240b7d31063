//! Placing an order: prices from the catalog's offers, the address from users; the
//! order is written first as `placing` (the intent), then its stock is
//! reserved, then it becomes `pending_payment`. A failure on the way undoes
//! what was done; after a crash the reconciler finds the placing order and
//! undoes it (upkeep.rs), so no stock stays held by an order nobody can see.

use std::collections::BTreeMap;

use catalog_api::{CatalogError, ReservationLine, ReserveRequest, MAX_UNITS_PER_PRODUCT};
use kernel::auth::AuthUser;
use kernel::error::validate;
use kernel::ApiError;
use orders_api::{OrderDto, OrderStatus};
use users_api::UsersError;
use uuid::Uuid;

use super::{order_dto, OrdersService, Result, HOLD_GRACE};
use crate::requests::CreateOrder;
use crate::store::orders::{self as store, encode, Address, Item, OrderRow};

fn too_large() -> ApiError {
    ApiError::invalid_field("items", "the order total is too large")
}

impl OrdersService {
    pub async fn create(&self, caller: AuthUser, request: CreateOrder) -> Result<OrderDto> {
        validate(&request)?;
        let mut quantities: BTreeMap<Uuid, i64> = BTreeMap::new();
        for line in &request.items {
            *quantities.entry(line.product_id).or_default() += line.quantity;
        }
        // Lines of one product are merged; the catalog's limits apply to the sum.
        if quantities.values().any(|&units| units > MAX_UNITS_PER_PRODUCT) {
            return Err(ApiError::invalid_field(
                "items",
                format!("at most {MAX_UNITS_PER_PRODUCT} units of one product per order"),
            ));
        }

        let products = self.catalog.offers(quantities.keys().copied().collect()).await?;
        let unknown: Vec<Uuid> = quantities
            .keys()
            .filter(|id| !products.iter().any(|p| p.id == **id && p.active))
            .copied()
            .collect();
        if !unknown.is_empty() {
            return Err(CatalogError::UnknownProducts { product_ids: unknown }.into());
        }
        let currency = products[0].currency.clone();
        if products.iter().any(|p| p.currency != currency) {
            return Err(ApiError::invalid_field("items", "all products of an order must share one currency"));
        }

        let address = match request.shipping_address_id {
            None => None,
            Some(address_id) => match self.users.get_address(caller.id, address_id).await {
                Ok(address) => Some(address),
                Err(UsersError::AddressNotFound) => {
                    return Err(ApiError::invalid_field("shipping_address_id", "no such address of yours"))
                }
                Err(e) => return Err(e.into()),
            },
        };

        let order_id = kernel::new_id();
        let mut items = Vec::new();
        let mut total: i64 = 0;
        for product in &products {
            let quantity = quantities[&product.id];
            let line_total = product.price_cents.checked_mul(quantity).ok_or_else(too_large)?;
            total = total.checked_add(line_total).ok_or_else(too_large)?;
            items.push(Item {
                product_id: product.id.to_string(),
                name: product.name.clone(),
                unit_price_cents: product.price_cents,
                quantity,
                line_total_cents: line_total,
            });
        }
        items.sort_by(|a, b| a.product_id.cmp(&b.product_id));

        let now = kernel::now();
        let ttl = chrono::Duration::from_std(self.reservation_ttl).map_err(ApiError::internal)?;
        let mut order = OrderRow {
            id: order_id.to_string(),
            user_id: caller.id.to_string(),
            status: store::PLACING.into(),
            total_cents: total,
            currency,
            items: encode(&items),
            shipping_address: address.map(|a| {
                encode(&Address {
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    postal_code: a.postal_code,
                    country: a.country,
                })
            }),
            payment_id: None,
            payment_pending: false,
            stock_pending: false,
            expires_at: now + ttl,
            created_at: now,
            updated_at: now,
        };
        self.intents.run(order.clone()).await?;

        let reserve = ReserveRequest {
            order_id,
            lines: quantities
                .iter()
                .map(|(&product_id, &quantity)| ReservationLine { product_id, quantity })
                .collect(),
            hold_seconds: (self.reservation_ttl + HOLD_GRACE).as_secs(),
        };
        if let Err(e) = self.catalog.reserve(reserve).await {
            if matches!(e, CatalogError::Unavailable(_) | CatalogError::Internal(_)) {
                // The outcome is unknown (timeout, outage): undo whatever may have happened.
                self.release_quietly(order_id).await;
            }
            self.forget_placing(order_id).await;
            return Err(e.into());
        }

        let at = match self.placements.run(order.id.clone()).await {
            Ok(Some(at)) => at,
            Ok(None) => {
                // The reconciler gave up on this slow request and removed the
                // order: nobody will pay for this stock.
                self.release_quietly(order_id).await;
                return Err(ApiError::unavailable("placing the order took too long; nothing was reserved"));
            }
            Err(e) => {
                // Unknown whether the order became payable (the answer may be
                // lost): the reconciler undoes it only if it is still placing.
                tracing::warn!(%order_id, error = %e, "placing order left for the reconciler");
                return Err(e.into());
            }
        };
        tracing::info!(%order_id, total_cents = total, "order placed");
        order.status = OrderStatus::PendingPayment.as_str().into();
        order.updated_at = at;
        order_dto(&order)
    }

    /// Removes an order that never got past placing; the reconciler does it
    /// later if this fails.
    pub(super) async fn forget_placing(&self, order_id: Uuid) {
        let key = order_id.to_string();
        if let Err(e) = self.db.query(move |c| store::forget_placing(c, &key)).await {
            tracing::warn!(%order_id, error = %e, "placing order left for the reconciler");
        }
    }

    /// Compensation: give the stock back; the catalog's expiry covers a failure here.
    pub(super) async fn release_quietly(&self, order_id: Uuid) {
        if let Err(e) = self.catalog.release(order_id).await {
            tracing::warn!(%order_id, error = %e, "release failed; the catalog's expiry will free the stock");
        }
    }
}
