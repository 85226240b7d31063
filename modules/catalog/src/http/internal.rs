//! `/internal/v1/catalog`: the server side of `catalog_api::HttpCatalog`.

use actix_web::{web, HttpResponse};
use catalog_api::{CatalogApi, LookupRequest, ProductOffer, Reservation, ReserveRequest};
use kernel::ApiError;
use uuid::Uuid;

use crate::service::CatalogService;

type Service = web::Data<CatalogService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/products/lookup").post(lookup))
        .service(web::resource("/reservations").post(reserve))
        .service(web::resource("/reservations/{order_id}/release").post(release))
        .service(web::resource("/reservations/{order_id}/commit").post(commit))
        .service(web::resource("/reservations/{order_id}/restock").post(restock));
}

async fn lookup(catalog: Service, body: web::Json<LookupRequest>) -> Answer<web::Json<Vec<ProductOffer>>> {
    Ok(web::Json(catalog.offers(body.into_inner().ids).await?))
}

async fn reserve(catalog: Service, body: web::Json<ReserveRequest>) -> Answer<web::Json<Reservation>> {
    Ok(web::Json(catalog.reserve(body.into_inner()).await?))
}

async fn release(catalog: Service, order_id: web::Path<Uuid>) -> Answer<HttpResponse> {
    catalog.release(order_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn commit(catalog: Service, order_id: web::Path<Uuid>) -> Answer<HttpResponse> {
    catalog.commit(order_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn restock(catalog: Service, order_id: web::Path<Uuid>) -> Answer<HttpResponse> {
    catalog.restock(order_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
