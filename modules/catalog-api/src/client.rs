use kernel::http::RemoteClient;
use uuid::Uuid;

use crate::{CatalogApi, CatalogError, LookupRequest, ProductOffer, Reservation, ReserveRequest};

/// [`CatalogApi`] over `/internal/v1/catalog`, for processes that do not host the module.
pub struct HttpCatalog {
    remote: RemoteClient,
}

impl HttpCatalog {
    pub fn new(remote: RemoteClient) -> Self {
        Self { remote }
    }
}

#[async_trait::async_trait]
impl CatalogApi for HttpCatalog {
    async fn offers(&self, ids: Vec<Uuid>) -> Result<Vec<ProductOffer>, CatalogError> {
        Ok(self.remote.post("/products/lookup", &LookupRequest { ids }).await?)
    }

    async fn reserve(&self, request: ReserveRequest) -> Result<Reservation, CatalogError> {
        Ok(self.remote.post("/reservations", &request).await?)
    }

    async fn release(&self, order_id: Uuid) -> Result<(), CatalogError> {
        Ok(self.remote.post_empty(&format!("/reservations/{order_id}/release")).await?)
    }

    async fn commit(&self, order_id: Uuid) -> Result<(), CatalogError> {
        Ok(self.remote.post_empty(&format!("/reservations/{order_id}/commit")).await?)
    }

    async fn restock(&self, order_id: Uuid) -> Result<(), CatalogError> {
        Ok(self.remote.post_empty(&format!("/reservations/{order_id}/restock")).await?)
    }
}
