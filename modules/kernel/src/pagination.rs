//! `?page&per_page` in, `{items, page, per_page, total}` out.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, FieldError};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

/// The query parameters as sent.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<i64>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

impl PageParams {
    pub fn validate(self) -> Result<PageRequest, ApiError> {
        let mut errors = Vec::new();
        let page = self.page.unwrap_or(1);
        if !(1..=1_000_000).contains(&page) {
            errors.push(FieldError { field: "page".into(), message: "must be between 1 and 1000000".into() });
        }
        let per_page = self.per_page.unwrap_or(i64::from(DEFAULT_PER_PAGE));
        if !(1..=i64::from(MAX_PER_PAGE)).contains(&per_page) {
            errors.push(FieldError {
                field: "per_page".into(),
                message: format!("must be between 1 and {MAX_PER_PAGE}"),
            });
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(PageRequest { page: page as u32, per_page: per_page as u32 })
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Self { items, page: request.page, per_page: request.per_page, total }
    }

    /// A complete short list (addresses, categories) in the same shape.
    pub fn all(items: Vec<T>) -> Self {
        let total = items.len() as i64;
        Self { per_page: (items.len() as u32).max(1), items, page: 1, total }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let r = PageParams::default().validate().expect("defaults");
        assert_eq!((r.page, r.per_page, r.offset()), (1, 20, 0));
        let r = PageParams { page: Some(3), per_page: Some(100) }.validate().expect("max");
        assert_eq!(r.offset(), 200);
        for (page, per_page) in [(0, 20), (1, 0), (1, 101), (-1, 20), (1, 1_000_000)] {
            assert!(PageParams { page: Some(page), per_page: Some(per_page) }.validate().is_err());
        }
    }
}
