pub mod internal;
pub mod public;

/// The catalog module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        public::list_products,
        public::get_product,
        public::create_product,
        public::update_product,
        public::archive_product,
        public::set_stock,
        public::list_categories,
        public::create_category,
    ),
    tags((name = "catalog", description = "Products, categories and stock"))
)]
pub struct CatalogDoc;
