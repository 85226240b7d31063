//! `/api/v1/payments`: an order's owner or an admin reads its payments.

use actix_web::web;
use kernel::auth::AuthUser;
use kernel::error::responses::{Invalid, NotFound, Unauthorized};
use kernel::pagination::{Page, PageParams};
use kernel::ApiError;
use payments_api::PaymentDto;
use serde::Deserialize;
use uuid::Uuid;

use crate::service::PaymentsService;

type Service = web::Data<PaymentsService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").get(list_payments)).service(web::resource("/{id}").get(get_payment));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    /// Only the payments of this order.
    pub order_id: Option<Uuid>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The caller's payments (every payment for an admin), newest first.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", security(("bearer" = [])), params(PaymentQuery),
    responses(
        (status = 200, description = "One page of payments", body = Page<PaymentDto>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ))]
pub async fn list_payments(
    payments: Service,
    user: AuthUser,
    query: web::Query<PaymentQuery>,
) -> Answer<web::Json<Page<PaymentDto>>> {
    let PaymentQuery { order_id, page, per_page } = query.into_inner();
    Ok(web::Json(payments.list(user, order_id, PageParams { page, per_page }).await?))
}

/// One payment, for its order's owner or an admin.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The payment", body = PaymentDto),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ))]
pub async fn get_payment(
    payments: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Answer<web::Json<PaymentDto>> {
    Ok(web::Json(payments.get(user, id.into_inner()).await?))
}
