//! Line authentication (回線認証, PRODUCT §3.4, manual §1-4, §4): line
//! numbers, the tenant's access route, and what a request on each route
//! may do.

use crate::model::Route;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A tenant's access route (アクセス経路設定, §4-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRoute {
    /// 回線認証+インターネット (the default).
    #[default]
    LineAndInternet,
    /// 回線認証のみ: the internet route is refused, but for the contract
    /// holder's account menu.
    LineOnly,
}

impl AccessRoute {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRoute::LineAndInternet => "line_and_internet",
            AccessRoute::LineOnly => "line_only",
        }
    }
    pub fn parse(s: &str) -> Option<AccessRoute> {
        match s {
            "line_and_internet" => Some(AccessRoute::LineAndInternet),
            "line_only" => Some(AccessRoute::LineOnly),
            _ => None,
        }
    }
}

/// Why a typed line number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProblem {
    Empty,
    /// Neither `CAF` + 10 nor `COP` + 8 letters and digits.
    Malformed,
}

/// A line number in canonical form: trimmed, full-width folded to
/// half-width (NFKC), upper-case, without spaces or hyphens. NTT East:
/// `CAF` + 10 letters and digits; NTT West: `COP` + 8 (§4-2).
pub fn normalize_line(input: &str) -> Result<String, LineProblem> {
    let s: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    if s.is_empty() {
        return Err(LineProblem::Empty);
    }
    let body_ok = |rest: &str, len: usize| {
        rest.len() == len && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    let ok = match (s.strip_prefix("CAF"), s.strip_prefix("COP")) {
        (Some(rest), _) => body_ok(rest, 10),
        (_, Some(rest)) => body_ok(rest, 8),
        _ => false,
    };
    if ok {
        Ok(s)
    } else {
        Err(LineProblem::Malformed)
    }
}

/// NTT West's lines, whose first use asks for the 回線情報通知設定 consent.
pub fn is_west(line: &str) -> bool {
    line.starts_with("COP")
}

/// What a signed-in request may do on the route it arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// The tenant is line-only and this is the internet route.
    LineOnly,
    /// The closed route without a line, or with another line than the
    /// session's.
    LineMissing,
    /// The session's line is no longer registered to the tenant.
    LineUnregistered,
    /// A West line's first use: the consent page comes first.
    ConsentNeeded,
    /// The session was made on the other route.
    OtherRoute,
}

/// What a request of a session may do. `holder_menu`: the contract
/// holder on an account-menu page, which stays reachable over the
/// internet under line-only (§4-1 v1.6 note).
#[allow(clippy::too_many_arguments)]
pub fn access(
    listener: Route,
    session_route: Route,
    access_route: AccessRoute,
    session_line: Option<&str>,
    request_line: Option<&str>,
    registered: &[String],
    consented: &[String],
    holder_menu: bool,
) -> Access {
    if listener != session_route {
        return Access::OtherRoute;
    }
    match listener {
        Route::Internet => {
            if access_route == AccessRoute::LineOnly && !holder_menu {
                Access::LineOnly
            } else {
                Access::Allowed
            }
        }
        Route::Closed => {
            let Some(line) = session_line.filter(|l| request_line == Some(*l)) else {
                return Access::LineMissing;
            };
            if !registered.iter().any(|r| r == line) {
                return Access::LineUnregistered;
            }
            if is_west(line) && !consented.iter().any(|c| c == line) {
                return Access::ConsentNeeded;
            }
            Access::Allowed
        }
    }
}

/// Whether a user identified at a login may sign in on this route.
pub fn login_access(
    listener: Route,
    access_route: AccessRoute,
    request_line: Option<&str>,
    registered: &[String],
    holder_menu: bool,
) -> Access {
    match listener {
        Route::Internet if access_route == AccessRoute::LineOnly && !holder_menu => {
            Access::LineOnly
        }
        Route::Internet => Access::Allowed,
        Route::Closed => match request_line {
            None => Access::LineMissing,
            Some(l) if !registered.iter().any(|r| r == l) => Access::LineUnregistered,
            Some(_) => Access::Allowed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_east_and_west() {
        assert_eq!(normalize_line("CAF1234567890").unwrap(), "CAF1234567890");
        assert_eq!(normalize_line(" caf12345abcde ").unwrap(), "CAF12345ABCDE");
        assert_eq!(
            normalize_line("ＣＯＰ１２３４５６７８").unwrap(),
            "COP12345678"
        );
        assert_eq!(normalize_line("COP-1234-5678").unwrap(), "COP12345678");
        assert_eq!(normalize_line(""), Err(LineProblem::Empty));
        assert_eq!(normalize_line("CAF123456789"), Err(LineProblem::Malformed));
        assert_eq!(normalize_line("COP123456789"), Err(LineProblem::Malformed));
        assert_eq!(normalize_line("XYZ1234567890"), Err(LineProblem::Malformed));
        assert_eq!(normalize_line("CAF12345678_0"), Err(LineProblem::Malformed));
        assert!(is_west("COP12345678") && !is_west("CAF1234567890"));
    }

    #[test]
    fn access_route_names_round_trip() {
        for a in [AccessRoute::LineAndInternet, AccessRoute::LineOnly] {
            assert_eq!(AccessRoute::parse(a.as_str()), Some(a));
        }
        assert_eq!(AccessRoute::default(), AccessRoute::LineAndInternet);
    }

    #[test]
    fn requests_on_each_route() {
        use Route::*;
        let reg = vec!["CAF1234567890".to_string(), "COP12345678".to_string()];
        let none: Vec<String> = Vec::new();
        let lo = AccessRoute::LineOnly;
        let li = AccessRoute::LineAndInternet;
        let east = Some("CAF1234567890");
        let west = Some("COP12345678");
        assert_eq!(
            access(Internet, Internet, li, None, None, &reg, &none, false),
            Access::Allowed
        );
        assert_eq!(
            access(Internet, Internet, lo, None, None, &reg, &none, false),
            Access::LineOnly
        );
        assert_eq!(
            access(Internet, Internet, lo, None, None, &reg, &none, true),
            Access::Allowed
        );
        assert_eq!(
            access(Internet, Closed, li, east, None, &reg, &none, false),
            Access::OtherRoute
        );
        assert_eq!(
            access(Closed, Closed, lo, east, east, &reg, &none, false),
            Access::Allowed
        );
        assert_eq!(
            access(Closed, Closed, lo, east, None, &reg, &none, false),
            Access::LineMissing
        );
        assert_eq!(
            access(Closed, Closed, lo, east, west, &reg, &none, false),
            Access::LineMissing
        );
        assert_eq!(
            access(Closed, Closed, lo, east, east, &none, &none, false),
            Access::LineUnregistered
        );
        assert_eq!(
            access(Closed, Closed, lo, west, west, &reg, &none, false),
            Access::ConsentNeeded
        );
        let consented = vec!["COP12345678".to_string()];
        assert_eq!(
            access(Closed, Closed, lo, west, west, &reg, &consented, false),
            Access::Allowed
        );
    }

    #[test]
    fn logins_on_each_route() {
        use Route::*;
        let reg = vec!["CAF1234567890".to_string()];
        let lo = AccessRoute::LineOnly;
        assert_eq!(
            login_access(Internet, lo, None, &reg, false),
            Access::LineOnly
        );
        assert_eq!(
            login_access(Internet, lo, None, &reg, true),
            Access::Allowed
        );
        assert_eq!(
            login_access(Closed, lo, None, &reg, false),
            Access::LineMissing
        );
        assert_eq!(
            login_access(Closed, lo, Some("CAF0000000000"), &reg, false),
            Access::LineUnregistered
        );
        assert_eq!(
            login_access(Closed, lo, Some("CAF1234567890"), &reg, false),
            Access::Allowed
        );
    }
}
