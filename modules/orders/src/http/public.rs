//! `/api/v1/orders`: customers order and pay; owners and admins read and cancel.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use kernel::auth::AuthUser;
use kernel::error::responses::{
    BadRequest, Conflict, Invalid, NotFound, PayloadTooLarge, Unauthorized, Unavailable, UnsupportedMediaType,
};
use kernel::error::{Problem, PROBLEM_JSON};
use kernel::pagination::{Page, PageParams};
use kernel::ApiError;
use orders_api::OrderDto;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::requests::{CreateOrder, PayOrder};
use crate::service::{Begun, OrdersService, StoredAnswer};

type Service = web::Data<OrdersService>;
type Answer<T> = Result<T, ApiError>;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").get(list_orders).post(create_order))
        .service(web::resource("/{id}").get(get_order))
        .service(web::resource("/{id}/pay").post(pay_order))
        .service(web::resource("/{id}/cancel").post(cancel_order));
}

/// Places an order: prices from the catalog, stock reserved until paid or expired.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key and body")),
    responses(
        (status = 201, description = "The order, pending payment", body = OrderDto),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn create_order(
    orders: Service,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<CreateOrder>,
) -> Answer<HttpResponse> {
    let body = body.into_inner();
    let fingerprint = fingerprint("create", &body);
    idempotent(&orders, &user, &req, "create", fingerprint, async {
        let order = orders.create(user, body).await?;
        Ok((StatusCode::CREATED, order))
    })
    .await
}

/// The caller's orders (every order for an admin), newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, description = "One page of orders", body = Page<OrderDto>),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    ))]
pub async fn list_orders(
    orders: Service,
    user: AuthUser,
    page: web::Query<PageParams>,
) -> Answer<web::Json<Page<OrderDto>>> {
    Ok(web::Json(orders.list(user, page.into_inner().validate()?).await?))
}

/// One order, for its owner or an admin.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderDto),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ))]
pub async fn get_order(orders: Service, user: AuthUser, id: web::Path<Uuid>) -> Answer<web::Json<OrderDto>> {
    Ok(web::Json(orders.get(user, id.into_inner()).await?))
}

/// Pays an order (its owner). A declined card is 402 and the order stays payable.
#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "orders", security(("bearer" = [])), request_body = PayOrder,
    params(
        ("id" = Uuid, Path, description = "Order id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key and body"),
    ),
    responses(
        (status = 200, description = "The order, paid, with its payment_id", body = OrderDto),
        (status = 401, response = Unauthorized),
        (status = 402, description = "The card was declined", body = Problem, content_type = "application/problem+json"),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn pay_order(
    orders: Service,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<PayOrder>,
) -> Answer<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let scope = format!("pay:{id}");
    let fingerprint = fingerprint(&scope, &body);
    idempotent(&orders, &user, &req, &scope, fingerprint, async {
        Ok((StatusCode::OK, orders.pay(user, id, body).await?))
    })
    .await
}

/// Cancels an order: pending (owner or admin) releases its stock; paid (admin) is refunded and restocked.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order, cancelled or refunded", body = OrderDto),
        (status = 401, response = Unauthorized),
        (status = 403, description = "An owner cannot cancel a paid order", body = Problem, content_type = "application/problem+json"),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable),
    ))]
pub async fn cancel_order(
    orders: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Answer<web::Json<OrderDto>> {
    Ok(web::Json(orders.cancel(user, id.into_inner()).await?))
}

/// SHA-256 of the scope and the body as canonical JSON (keys sorted).
fn fingerprint(scope: &str, body: &impl Serialize) -> String {
    let canonical = serde_json::to_value(body).map(|v| v.to_string()).unwrap_or_default();
    kernel::hex(&Sha256::digest(format!("{scope}\n{canonical}").as_bytes()))
}

/// Runs `work` once per `Idempotency-Key` (when the header is sent) and
/// replays its answer, success or client error, for the same key and body.
async fn idempotent<T: Serialize>(
    orders: &OrdersService,
    user: &AuthUser,
    req: &HttpRequest,
    scope: &str,
    fingerprint: String,
    work: impl std::future::Future<Output = Answer<(StatusCode, T)>>,
) -> Answer<HttpResponse> {
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY) else {
        let (status, value) = work.await?;
        return Ok(HttpResponse::build(status).json(value));
    };
    let key =
        key.to_str().map_err(|_| ApiError::invalid_field("Idempotency-Key", "must be visible ASCII"))?;
    let user_id = user.id.to_string();
    if let Begun::Replay(answer) = orders.begin_idempotent(&user_id, scope, key, &fingerprint).await? {
        return Ok(respond(answer, true));
    }
    let answer = match work.await {
        Ok((status, value)) => {
            StoredAnswer { status, body: serde_json::to_string(&value).map_err(ApiError::internal)? }
        }
        Err(e) => StoredAnswer {
            status: e.status(),
            body: serde_json::to_string(&e.problem()).map_err(ApiError::internal)?,
        },
    };
    orders.finish_idempotent(&user_id, scope, key, &answer).await?;
    Ok(respond(answer, false))
}

/// The stored answer as a response; replays say so in a header.
fn respond(answer: StoredAnswer, replayed: bool) -> HttpResponse {
    let mut builder = HttpResponse::build(answer.status);
    let content_type = if answer.status.is_success() { "application/json" } else { PROBLEM_JSON };
    builder.insert_header((CONTENT_TYPE, content_type));
    if replayed {
        builder.insert_header(("idempotent-replayed", "true"));
    }
    builder.body(answer.body)
}
