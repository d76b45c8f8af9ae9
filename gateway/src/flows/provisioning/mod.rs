//! Provisioning from a tenant's directory (SCIM 2.0, S65, S66): the
//! service's resources and the holder's tokens.

pub(crate) mod scim_api;
pub(crate) mod scim_discovery;
pub(crate) mod scim_groups;
pub(crate) mod scim_service;
pub(crate) mod scim_tokens;
pub(crate) mod scim_users;
