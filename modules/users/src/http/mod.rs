pub mod internal;
pub mod public;

/// The users module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        public::get_me,
        public::update_me,
        public::list_addresses,
        public::create_address,
        public::get_address,
        public::update_address,
        public::delete_address,
        public::list_users,
        public::update_user,
    ),
    tags((name = "users", description = "Profiles, roles and shipping addresses"))
)]
pub struct UsersDoc;
