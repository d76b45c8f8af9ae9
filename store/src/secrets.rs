//! Shared secrets.

use crate::error::StoreResult;

store_part! {
    ($)
    /// Keys every gateway sharing the store must agree on, created once by
    /// whichever asks first.
    pub trait SecretStore {
        own SecretOwn;
        forward forward_secret_store;
        steps {

        }
        own {
            /// Returns the secret named `name`, creating it from `fresh` if absent;
            /// every gateway sharing the store gets the same value.
            async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>>;
        }
    }
}
