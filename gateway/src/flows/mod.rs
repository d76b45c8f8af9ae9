//! The gateway's own pages under `/.sekisho/`: one file per flow, one
//! dispatcher here. Every handler returns an outcome word (for metrics) and
//! an [`Answer`]; state changes only on POST, after the same-site and CSRF
//! checks (S34).

pub(crate) mod account_menu;
pub(crate) mod console;
pub(crate) mod mailed_links;
pub(crate) mod misc;
pub(crate) mod providers;
pub(crate) mod provisioning;
mod shared;
pub(crate) mod signing_in;

pub use crate::refusals::{refusal, Outcome};
pub(crate) use account_menu::{
    access_route, ad_setting, device_binding_setting, line_consent, menu, new_device_mail,
    passkey_menu, passkey_policy, password_change, setting_switch, trusted_browsers,
    two_step_setting,
};
pub(crate) use console::{admin_console, audit_log, line_settings};
pub(crate) use mailed_links::{
    email_change, forgot, method_change, not_me, register, reset, unlock,
};
pub(crate) use provisioning::{scim_api, scim_service, scim_tokens};
pub use shared::*;
pub(crate) use signing_in::{
    active_directory, device_binding, federation, login, login_page, logout, new_browser,
    passkey_enrolment, passkey_login, password_check, sign_in, two_step, two_step_entry,
    two_step_passkey,
};
