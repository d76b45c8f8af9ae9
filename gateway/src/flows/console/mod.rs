//! The tenant's console (管理画面): users, the audit log, lines.

pub(crate) mod admin_console;
pub(crate) mod audit_log;
pub(crate) mod line_settings;
