//! Audit events: one structured log line per security decision, under the
//! `audit` target, with who, where and what — never a password, code, ticket
//! or session id (S44).

use sekisho_policy::model::Route;

/// Where a decision was made and for whom.
#[derive(Debug, Clone, Default)]
pub struct Who<'a> {
    pub user_id: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub route: Option<Route>,
    pub client_ip: Option<&'a str>,
}

/// Records `event` (a fixed word such as `login_failed`) with an optional
/// detail that must itself be free of secrets.
pub fn event(event: &'static str, who: &Who<'_>, detail: &str) {
    tracing::info!(
        target: "audit",
        event,
        user = who.user_id.unwrap_or("-"),
        tenant = who.tenant_id.unwrap_or("-"),
        route = who.route.map(|r| r.as_str()).unwrap_or("-"),
        client = who.client_ip.unwrap_or("-"),
        detail,
    );
}
