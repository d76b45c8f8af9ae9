//! Signing in: the ways in, the second step, and the one tail they share.

pub(crate) mod active_directory;
pub(crate) mod device_binding;
pub(crate) mod federation;
pub(crate) mod login;
pub(crate) mod login_page;
pub(crate) mod logout;
pub(crate) mod new_browser;
pub(crate) mod passkey_enrolment;
pub(crate) mod passkey_login;
pub(crate) mod password_check;
pub(crate) mod sign_in;
pub(crate) mod two_step;
pub(crate) mod two_step_entry;
pub(crate) mod two_step_passkey;
