pub mod internal;
pub mod public;

/// The payments module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(public::list_payments, public::get_payment),
    tags((name = "payments", description = "Payments of orders"))
)]
pub struct PaymentsDoc;
