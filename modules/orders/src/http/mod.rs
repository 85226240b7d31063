pub mod public;

/// The orders module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(public::create_order, public::list_orders, public::get_order, public::pay_order, public::cancel_order),
    tags((name = "orders", description = "Checkout: orders, payment, cancellation"))
)]
pub struct OrdersDoc;
