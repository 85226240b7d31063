use kernel::auth::{AccessChange, Role};
use kernel::http::RemoteClient;
use uuid::Uuid;

use crate::{AddressDto, NewUser, SetRole, UserDto, UsersApi, UsersError};

/// [`UsersApi`] over `/internal/v1/users`, for processes that do not host the module.
pub struct HttpUsers {
    remote: RemoteClient,
}

impl HttpUsers {
    pub fn new(remote: RemoteClient) -> Self {
        Self { remote }
    }
}

#[async_trait::async_trait]
impl UsersApi for HttpUsers {
    async fn create_user(&self, new: NewUser) -> Result<UserDto, UsersError> {
        Ok(self.remote.post("/users", &new).await?)
    }

    async fn get_user(&self, id: Uuid) -> Result<UserDto, UsersError> {
        Ok(self.remote.get(&format!("/users/{id}")).await?)
    }

    async fn set_role(&self, id: Uuid, role: Role) -> Result<UserDto, UsersError> {
        Ok(self.remote.put(&format!("/users/{id}/role"), &SetRole { role }).await?)
    }

    async fn get_address(&self, user_id: Uuid, address_id: Uuid) -> Result<AddressDto, UsersError> {
        Ok(self.remote.get(&format!("/users/{user_id}/addresses/{address_id}")).await?)
    }

    async fn access_changes(&self, since: i64) -> Result<Vec<AccessChange>, UsersError> {
        Ok(self.remote.get(&format!("/access-changes?since={since}")).await?)
    }
}
