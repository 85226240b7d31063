//! Bodies and query strings of the catalog's public endpoints.

use serde::{Deserialize, Deserializer};
use uuid::Uuid;
use validator::Validate;

/// Prices (10^12) and stock (10^9) are capped far above any real value, so
/// order totals cannot overflow. A price is at least 1: every order that can
/// be placed can be paid (a charge of 0 is not one).
#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
pub struct NewProduct {
    /// Letters, digits, `-`, `_` or `.`; unique.
    #[validate(
        length(min = 1, max = 64, message = "must be 1 to 64 characters"),
        custom(function = "sku_chars")
    )]
    pub sku: String,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub name: String,
    #[serde(default)]
    #[validate(
        length(max = 5000, message = "must be at most 5000 characters"),
        custom(function = "kernel::text::multiline_text")
    )]
    pub description: String,
    #[validate(range(min = 1, max = 1_000_000_000_000_i64, message = "must be between 1 and 10^12"))]
    pub price_cents: i64,
    /// ISO 4217 code; default `EUR`.
    #[serde(default = "default_currency")]
    #[validate(custom(function = "currency_code"))]
    pub currency: String,
    #[serde(default)]
    #[validate(range(min = 0, max = 1_000_000_000_i64, message = "must be between 0 and 10^9"))]
    pub stock: i64,
    pub category_id: Option<Uuid>,
}

/// Every field optional; `category_id: null` clears the category.
#[derive(Debug, Clone, Default, Deserialize, Validate, utoipa::ToSchema)]
pub struct ProductUpdate {
    #[validate(
        length(min = 1, max = 64, message = "must be 1 to 64 characters"),
        custom(function = "sku_chars")
    )]
    pub sku: Option<String>,
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub name: Option<String>,
    #[validate(
        length(max = 5000, message = "must be at most 5000 characters"),
        custom(function = "kernel::text::multiline_text")
    )]
    pub description: Option<String>,
    #[validate(range(min = 1, max = 1_000_000_000_000_i64, message = "must be between 1 and 10^12"))]
    pub price_cents: Option<i64>,
    #[validate(custom(function = "currency_code"))]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub category_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
pub struct StockUpdate {
    #[validate(range(min = 0, max = 1_000_000_000_i64, message = "must be between 0 and 10^9"))]
    pub stock: i64,
}

#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
pub struct NewCategory {
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub name: String,
    /// Lower-case letters, digits and `-`; derived from the name when absent.
    pub slug: Option<String>,
}

/// `GET /products` query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    /// Text searched in product names.
    pub q: Option<String>,
    pub category_id: Option<Uuid>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    /// `newest` (default), `price_asc`, `price_desc` or `name`.
    pub sort: Option<String>,
}

fn default_currency() -> String {
    "EUR".into()
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn sku_chars(sku: &str) -> Result<(), validator::ValidationError> {
    if sku.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("sku")
            .with_message("may only contain letters, digits, -, _ and .".into()))
    }
}

fn currency_code(code: &str) -> Result<(), validator::ValidationError> {
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("currency")
            .with_message("must be an ISO 4217 code such as EUR".into()))
    }
}

/// `"Kitchen & Garden"` → `"kitchen-garden"`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 100
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify(" Kitchen & Garden "), "kitchen-garden");
        assert_eq!(slugify("Été 2026"), "t-2026");
        assert!(valid_slug("kitchen-garden"));
        assert!(!valid_slug("Kitchen"));
        assert!(!valid_slug(""));
    }
}
