//! The users module's contract: what other modules may ask of it, in-process
//! or over `/internal/v1/users` through [`HttpUsers`].

mod client;
mod dto;
mod error;

pub use client::HttpUsers;
pub use dto::{AddressDto, NewUser, SetRole, UserDto};
pub use error::*;

use std::sync::Arc;

use kernel::http::RemoteClient;
use kernel::wiring::{Contract, Provided};
use uuid::Uuid;

pub const MODULE: &str = "users";

/// Users reached over HTTP when it runs in another process.
pub const CONTRACT: Contract = Contract { name: MODULE, remote };

fn remote(client: RemoteClient, provided: &mut Provided) {
    provided.provide::<dyn UsersApi>(Arc::new(HttpUsers::new(client)));
}

#[async_trait::async_trait]
pub trait UsersApi: Send + Sync {
    /// Creates a user with a caller-chosen id; repeating the same call returns
    /// the same user, so a retried registration does not fail.
    async fn create_user(&self, new: NewUser) -> Result<UserDto, UsersError>;

    async fn get_user(&self, id: Uuid) -> Result<UserDto, UsersError>;

    /// Creates or promotes: used by `shop create-admin`.
    async fn set_role(&self, id: Uuid, role: kernel::auth::Role) -> Result<UserDto, UsersError>;

    /// One of the user's shipping addresses; another user's address is `AddressNotFound`.
    async fn get_address(&self, user_id: Uuid, address_id: Uuid) -> Result<AddressDto, UsersError>;

    /// Accounts whose role or disabled flag changed at or after `since` (Unix
    /// seconds): what token verifiers need to withdraw the powers of older tokens.
    async fn access_changes(&self, since: i64) -> Result<Vec<kernel::auth::AccessChange>, UsersError>;
}
