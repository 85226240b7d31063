use kernel::http::RemoteClient;
use uuid::Uuid;

use crate::{ChargeRequest, PaymentDto, PaymentsApi, PaymentsError};

/// [`PaymentsApi`] over `/internal/v1/payments`, for processes that do not host the module.
pub struct HttpPayments {
    remote: RemoteClient,
}

impl HttpPayments {
    pub fn new(remote: RemoteClient) -> Self {
        Self { remote }
    }
}

#[async_trait::async_trait]
impl PaymentsApi for HttpPayments {
    async fn charge(&self, request: ChargeRequest) -> Result<PaymentDto, PaymentsError> {
        Ok(self.remote.post("/charges", &request).await?)
    }

    async fn refund(&self, payment_id: Uuid) -> Result<PaymentDto, PaymentsError> {
        Ok(self.remote.post(&format!("/payments/{payment_id}/refund"), &()).await?)
    }

    async fn payments_for_order(&self, order_id: Uuid) -> Result<Vec<PaymentDto>, PaymentsError> {
        Ok(self.remote.get(&format!("/orders/{order_id}/payments")).await?)
    }
}
