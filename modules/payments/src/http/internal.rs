//! `/internal/v1/payments`: the server side of `payments_api::HttpPayments`.

use actix_web::web;
use kernel::ApiError;
use payments_api::{ChargeRequest, PaymentDto, PaymentsApi};
use uuid::Uuid;

use crate::service::PaymentsService;

type Service = web::Data<PaymentsService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/charges").post(charge))
        .service(web::resource("/payments/{id}/refund").post(refund))
        .service(web::resource("/orders/{order_id}/payments").get(for_order));
}

async fn charge(payments: Service, body: web::Json<ChargeRequest>) -> Answer<web::Json<PaymentDto>> {
    Ok(web::Json(payments.charge(body.into_inner()).await?))
}

async fn refund(payments: Service, id: web::Path<Uuid>) -> Answer<web::Json<PaymentDto>> {
    Ok(web::Json(payments.refund(id.into_inner()).await?))
}

async fn for_order(payments: Service, order_id: web::Path<Uuid>) -> Answer<web::Json<Vec<PaymentDto>>> {
    Ok(web::Json(payments.payments_for_order(order_id.into_inner()).await?))
}
