//! Shared secrets.

use crate::error::StoreResult;
use async_trait::async_trait;

/// Keys every gateway sharing the store must agree on, created once by
/// whichever asks first.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Returns the secret named `name`, creating it from `fresh` if absent;
    /// every gateway sharing the store gets the same value.
    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>>;
}
