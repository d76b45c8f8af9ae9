//! Pages opened by a mailed link: registration, reset, unlock, and the
//! confirmations of an email or login-method change.

pub(crate) mod email_change;
pub(crate) mod forgot;
pub(crate) mod method_change;
pub(crate) mod not_me;
pub(crate) mod register;
pub(crate) mod reset;
pub(crate) mod unlock;
