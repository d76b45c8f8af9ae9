//! Which line a closed-route request comes from (PRODUCT §3.4, S39): the
//! configured header, believed only when the TCP peer is a trusted edge,
//! or else the static source-network table. Never `X-Forwarded-For`, and
//! never on the internet listener.

use pingora::proxy::Session;
use sekisho_config::Closed;
use sekisho_policy::line::normalize_line;

/// The caller's line, if the edge or the static table names one.
pub fn of_request(closed: &Closed, session: &Session) -> Option<String> {
    let peer = session.client_addr()?.as_inet()?.ip();
    if closed.trusted_edges.iter().any(|n| n.contains(&peer)) {
        let mut values = session
            .req_header()
            .headers
            .get_all(&closed.line_header)
            .iter();
        if let (Some(v), None) = (values.next(), values.next()) {
            match v.to_str().ok().map(normalize_line) {
                Some(Ok(line)) => return Some(line),
                _ => {
                    crate::metrics::LINE_AUTH_FAILURES
                        .with_label_values(&["malformed_header"])
                        .inc();
                }
            }
        }
    }
    closed
        .static_lines
        .iter()
        .find(|(net, _)| net.contains(&peer))
        .map(|(_, line)| line.clone())
}
