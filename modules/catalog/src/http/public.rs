//! `/api/v1/catalog`: anyone browses; admins manage products, stock and categories.

use actix_web::{web, HttpResponse};
use catalog_api::ProductDto;
use kernel::auth::AuthUser;
use kernel::error::responses::{
    BadRequest, Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use kernel::pagination::Page;
use kernel::ApiError;
use uuid::Uuid;

use crate::requests::{NewCategory, NewProduct, ProductQuery, ProductUpdate, StockUpdate};
use crate::service::{CatalogService, CategoryDto};

type Service = web::Data<CatalogService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/products").get(list_products).post(create_product))
        .service(
            web::resource("/products/{id}").get(get_product).patch(update_product).delete(archive_product),
        )
        .service(web::resource("/products/{id}/stock").put(set_stock))
        .service(web::resource("/categories").get(list_categories).post(create_category));
}

/// Active products, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/catalog/products", tag = "catalog", params(ProductQuery),
    responses(
        (status = 200, description = "One page of active products", body = Page<ProductDto>),
        (status = 422, response = Invalid),
    ))]
pub async fn list_products(catalog: Service, query: web::Query<ProductQuery>) -> Answer<HttpResponse> {
    Ok(json(catalog.list_json(query.into_inner()).await?))
}

/// One product, archived ones included.
#[utoipa::path(get, path = "/api/v1/catalog/products/{id}", tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductDto),
        (status = 404, response = NotFound),
    ))]
pub async fn get_product(catalog: Service, id: web::Path<Uuid>) -> Answer<HttpResponse> {
    Ok(json(catalog.product_json(id.into_inner()).await?))
}

/// A 200 with JSON the service rendered (and may have kept; see `read_cache.rs`).
fn json(body: actix_web::web::Bytes) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}

/// Creates a product (admin).
#[utoipa::path(post, path = "/api/v1/catalog/products", tag = "catalog", security(("bearer" = [])), request_body = NewProduct,
    responses(
        (status = 201, description = "Created", body = ProductDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn create_product(
    catalog: Service,
    user: AuthUser,
    body: web::Json<NewProduct>,
) -> Answer<HttpResponse> {
    user.require_admin()?;
    Ok(HttpResponse::Created().json(catalog.create_product(body.into_inner()).await?))
}

/// Updates a product (admin); stock has its own endpoint.
#[utoipa::path(patch, path = "/api/v1/catalog/products/{id}", tag = "catalog", security(("bearer" = [])), request_body = ProductUpdate,
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The updated product", body = ProductDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn update_product(
    catalog: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<ProductUpdate>,
) -> Answer<web::Json<ProductDto>> {
    user.require_admin()?;
    Ok(web::Json(catalog.update_product(id.into_inner(), body.into_inner()).await?))
}

/// Archives a product (admin): `active=false`; orders keep their history.
#[utoipa::path(delete, path = "/api/v1/catalog/products/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
pub async fn archive_product(catalog: Service, user: AuthUser, id: web::Path<Uuid>) -> Answer<HttpResponse> {
    user.require_admin()?;
    catalog.archive_product(id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the available stock (admin).
#[utoipa::path(put, path = "/api/v1/catalog/products/{id}/stock", tag = "catalog", security(("bearer" = [])), request_body = StockUpdate,
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product with its new stock", body = ProductDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn set_stock(
    catalog: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<StockUpdate>,
) -> Answer<web::Json<ProductDto>> {
    user.require_admin()?;
    Ok(web::Json(catalog.set_stock(id.into_inner(), body.into_inner()).await?))
}

/// Every category, by name.
#[utoipa::path(get, path = "/api/v1/catalog/categories", tag = "catalog",
    responses((status = 200, description = "All categories, as one page", body = Page<CategoryDto>)))]
pub async fn list_categories(catalog: Service) -> Answer<web::Json<Page<CategoryDto>>> {
    Ok(web::Json(Page::all(catalog.categories().await?)))
}

/// Creates a category (admin).
#[utoipa::path(post, path = "/api/v1/catalog/categories", tag = "catalog", security(("bearer" = [])), request_body = NewCategory,
    responses(
        (status = 201, description = "Created", body = CategoryDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn create_category(
    catalog: Service,
    user: AuthUser,
    body: web::Json<NewCategory>,
) -> Answer<HttpResponse> {
    user.require_admin()?;
    Ok(HttpResponse::Created().json(catalog.create_category(body.into_inner()).await?))
}
