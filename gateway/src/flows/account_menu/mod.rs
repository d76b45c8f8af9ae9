//! The account menu (認証・契約情報変更メニュー) and the holder's settings.

pub(crate) mod access_route;
pub(crate) mod ad_setting;
pub(crate) mod device_binding_setting;
pub(crate) mod line_consent;
pub(crate) mod menu;
pub(crate) mod new_device_mail;
pub(crate) mod passkey_menu;
pub(crate) mod passkey_policy;
pub(crate) mod password_change;
pub(crate) mod setting_switch;
pub(crate) mod trusted_browsers;
pub(crate) mod two_step_setting;
