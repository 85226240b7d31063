use kernel::error::{shared, ContractError, FieldError, Problem, ProblemType};
use kernel::ApiError;
use uuid::Uuid;

use crate::{ReservationStatus, Shortfall, MODULE};

pub const PRODUCT_NOT_FOUND: ProblemType = ProblemType::new("product_not_found", 404);
/// Products that do not exist or are archived; `product_ids` names them.
pub const UNKNOWN_PRODUCTS: ProblemType = ProblemType::new("unknown_products", 422);
/// Lines the stock cannot serve; `shortfalls` lists them (nothing was reserved).
pub const INSUFFICIENT_STOCK: ProblemType = ProblemType::new("insufficient_stock", 409);
pub const RESERVATION_NOT_FOUND: ProblemType = ProblemType::new("reservation_not_found", 404);
/// The reservation's state (`reservation_status`) does not allow the call.
pub const RESERVATION_CONFLICT: ProblemType = ProblemType::new("reservation_conflict", 409);
pub const DUPLICATE_SKU: ProblemType = ProblemType::new("duplicate_sku", 409);
pub const DUPLICATE_SLUG: ProblemType = ProblemType::new("duplicate_slug", 409);

/// The catalog's problem types.
pub const PROBLEMS: &[ProblemType] = &[
    PRODUCT_NOT_FOUND,
    UNKNOWN_PRODUCTS,
    INSUFFICIENT_STOCK,
    RESERVATION_NOT_FOUND,
    RESERVATION_CONFLICT,
    DUPLICATE_SKU,
    DUPLICATE_SLUG,
];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("product not found")]
    ProductNotFound,
    /// Products that do not exist or are archived, so cannot be reserved.
    #[error("unknown or archived products: {product_ids:?}")]
    UnknownProducts { product_ids: Vec<Uuid> },
    #[error("insufficient stock for {} line(s)", shortfalls.len())]
    InsufficientStock { shortfalls: Vec<Shortfall> },
    #[error("reservation not found")]
    ReservationNotFound,
    /// The reservation is in a state that does not allow the call (e.g. commit after release).
    #[error("the reservation is {status}")]
    ReservationConflict { status: ReservationStatus },
    #[error("another product already has this sku")]
    DuplicateSku,
    #[error("another category has this slug")]
    DuplicateSlug,
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The catalog (or its database) is down, or the call's outcome is unknown: retry.
    #[error("catalog unavailable: {0}")]
    Unavailable(String),
    #[error("catalog failed: {0}")]
    Internal(String),
}

impl CatalogError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        CatalogError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Reads a problem written by `From<CatalogError> for ApiError`.
    fn from_problem(p: Problem) -> Self {
        if p.is(&PRODUCT_NOT_FOUND) {
            CatalogError::ProductNotFound
        } else if p.is(&UNKNOWN_PRODUCTS) {
            CatalogError::UnknownProducts { product_ids: p.extension("product_ids").unwrap_or_default() }
        } else if p.is(&INSUFFICIENT_STOCK) {
            CatalogError::InsufficientStock { shortfalls: p.extension("shortfalls").unwrap_or_default() }
        } else if p.is(&RESERVATION_NOT_FOUND) {
            CatalogError::ReservationNotFound
        } else if let (true, Some(status)) = (p.is(&RESERVATION_CONFLICT), p.extension("reservation_status"))
        {
            CatalogError::ReservationConflict { status }
        } else if p.is(&DUPLICATE_SKU) {
            CatalogError::DuplicateSku
        } else if p.is(&DUPLICATE_SLUG) {
            CatalogError::DuplicateSlug
        } else {
            CatalogError::from_other_problem(MODULE, p)
        }
    }
}

kernel::contract_error!(CatalogError);

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::ProductNotFound => ApiError::new(PRODUCT_NOT_FOUND, "product not found"),
            CatalogError::UnknownProducts { product_ids } => {
                ApiError::new(UNKNOWN_PRODUCTS, "some products do not exist or are no longer sold")
                    .with_errors(
                        product_ids
                            .iter()
                            .map(|id| FieldError::new(id.to_string(), "unknown or archived product"))
                            .collect(),
                    )
                    .with_extension("product_ids", &product_ids)
            }
            CatalogError::InsufficientStock { shortfalls } => {
                ApiError::new(INSUFFICIENT_STOCK, "some lines cannot be served from the available stock")
                    .with_errors(
                        shortfalls
                            .iter()
                            .map(|s| {
                                FieldError::new(
                                    s.product_id.to_string(),
                                    format!("requested {}, available {}", s.requested, s.available),
                                )
                            })
                            .collect(),
                    )
                    .with_extension("shortfalls", &shortfalls)
            }
            CatalogError::ReservationNotFound => {
                ApiError::new(RESERVATION_NOT_FOUND, "reservation not found")
            }
            CatalogError::ReservationConflict { status } => {
                ApiError::new(RESERVATION_CONFLICT, format!("the reservation is {status}"))
                    .with_extension("reservation_status", status)
            }
            CatalogError::DuplicateSku => {
                ApiError::new(DUPLICATE_SKU, "another product already has this sku")
            }
            CatalogError::DuplicateSlug => ApiError::new(DUPLICATE_SLUG, "another category has this slug"),
            CatalogError::Invalid(errors) => shared::invalid(errors),
            CatalogError::Unavailable(cause) => shared::unavailable(MODULE, cause),
            CatalogError::Internal(cause) => shared::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::http::RemoteError;

    #[test]
    fn every_variant_survives_the_wire() {
        let short = Shortfall { product_id: Uuid::nil(), requested: 3, available: 1 };
        let roundtrip =
            |e: CatalogError| CatalogError::from(RemoteError::Problem(ApiError::from(e).problem()));
        match roundtrip(CatalogError::InsufficientStock { shortfalls: vec![short.clone()] }) {
            CatalogError::InsufficientStock { shortfalls } => assert_eq!(shortfalls, vec![short]),
            other => panic!("{other:?}"),
        }
        match roundtrip(CatalogError::UnknownProducts { product_ids: vec![Uuid::nil()] }) {
            CatalogError::UnknownProducts { product_ids } => assert_eq!(product_ids, vec![Uuid::nil()]),
            other => panic!("{other:?}"),
        }
        match roundtrip(CatalogError::ReservationConflict { status: ReservationStatus::Released }) {
            CatalogError::ReservationConflict { status } => assert_eq!(status, ReservationStatus::Released),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(roundtrip(CatalogError::invalid("lines", "empty")), CatalogError::Invalid(e) if e.len() == 1)
        );
        assert!(matches!(roundtrip(CatalogError::Unavailable("db".into())), CatalogError::Unavailable(_)));
        assert!(matches!(roundtrip(CatalogError::Internal("bug".into())), CatalogError::Internal(_)));
    }
}
