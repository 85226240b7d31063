use actix_web::http::StatusCode;
use kernel::error::FieldError;
use kernel::http::RemoteError;
use kernel::ApiError;
use uuid::Uuid;

use crate::Shortfall;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("product not found")]
    ProductNotFound,
    /// Products that do not exist or are archived, so cannot be reserved.
    #[error("unknown or archived products: {0:?}")]
    UnknownProducts(Vec<Uuid>),
    #[error("insufficient stock")]
    InsufficientStock(Vec<Shortfall>),
    #[error("reservation not found")]
    ReservationNotFound,
    /// The reservation is not in a state that allows the call (e.g. commit after release).
    #[error("reservation conflict: {0}")]
    ReservationConflict(String),
    #[error("{0}")]
    Api(ApiError),
}

const PRODUCT_NOT_FOUND: &str = "product_not_found";
const UNKNOWN_PRODUCTS: &str = "unknown_products";
const INSUFFICIENT_STOCK: &str = "insufficient_stock";
const RESERVATION_NOT_FOUND: &str = "reservation_not_found";
const RESERVATION_CONFLICT: &str = "reservation_conflict";

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::ProductNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, PRODUCT_NOT_FOUND, "product not found")
            }
            CatalogError::UnknownProducts(ids) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                UNKNOWN_PRODUCTS,
                "some products do not exist or are no longer sold",
            )
            .with_errors(
                ids.into_iter()
                    .map(|id| FieldError {
                        field: id.to_string(),
                        message: "unknown or archived product".into(),
                    })
                    .collect(),
            ),
            CatalogError::InsufficientStock(lines) => {
                ApiError::conflict(INSUFFICIENT_STOCK, "some lines cannot be served from the available stock")
                    .with_errors(
                        lines
                            .into_iter()
                            .map(|s| FieldError {
                                field: s.product_id.to_string(),
                                message: format!("requested {}, available {}", s.requested, s.available),
                            })
                            .collect(),
                    )
            }
            CatalogError::ReservationNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, RESERVATION_NOT_FOUND, "reservation not found")
            }
            CatalogError::ReservationConflict(detail) => ApiError::conflict(RESERVATION_CONFLICT, detail),
            CatalogError::Api(e) => e,
        }
    }
}

impl From<ApiError> for CatalogError {
    fn from(e: ApiError) -> Self {
        CatalogError::Api(e)
    }
}

impl From<kernel::db::DbError> for CatalogError {
    fn from(e: kernel::db::DbError) -> Self {
        CatalogError::Api(e.into())
    }
}

impl From<RemoteError> for CatalogError {
    /// Turns the problem codes written by [`From<CatalogError> for ApiError`] back into variants.
    fn from(e: RemoteError) -> Self {
        let RemoteError::Problem(p) = &e else {
            return CatalogError::Api(e.into());
        };
        let ids = || p.errors.iter().filter_map(|f| Uuid::parse_str(&f.field).ok());
        match p.code() {
            PRODUCT_NOT_FOUND => CatalogError::ProductNotFound,
            UNKNOWN_PRODUCTS => CatalogError::UnknownProducts(ids().collect()),
            INSUFFICIENT_STOCK => CatalogError::InsufficientStock(
                p.errors
                    .iter()
                    .filter_map(|f| {
                        let (requested, available) = parse_shortfall(&f.message)?;
                        Some(Shortfall { product_id: Uuid::parse_str(&f.field).ok()?, requested, available })
                    })
                    .collect(),
            ),
            RESERVATION_NOT_FOUND => CatalogError::ReservationNotFound,
            RESERVATION_CONFLICT => CatalogError::ReservationConflict(p.detail.clone()),
            _ => CatalogError::Api(e.into()),
        }
    }
}

/// Reads "requested N, available M".
fn parse_shortfall(message: &str) -> Option<(i64, i64)> {
    let (requested, available) = message.strip_prefix("requested ")?.split_once(", available ")?;
    Some((requested.parse().ok()?, available.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_stock_survives_the_wire() {
        let line = Shortfall { product_id: Uuid::nil(), requested: 3, available: 1 };
        let api = ApiError::from(CatalogError::InsufficientStock(vec![line.clone()]));
        assert_eq!(api.status(), StatusCode::CONFLICT);
        match CatalogError::from(RemoteError::Problem(api.problem())) {
            CatalogError::InsufficientStock(lines) => assert_eq!(lines, vec![line]),
            other => panic!("{other:?}"),
        }
    }
}
