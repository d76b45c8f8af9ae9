//! The vocabulary of the product (PRODUCT.md §2): roles, plans, login methods,
//! routes. Stored by their `as_str` names, so the names are part of the data.

use serde::{Deserialize, Serialize};

/// A user's role inside their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 契約者: exactly one per tenant.
    ContractHolder,
    /// 管理者権限を持つユーザ.
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ContractHolder => "contract_holder",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "contract_holder" => Some(Role::ContractHolder),
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// A tenant's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// 基本プラン.
    Basic,
    /// 無料トライアル: ends 30 days after its start.
    Trial,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Basic => "basic",
            Plan::Trial => "trial",
        }
    }
    pub fn parse(s: &str) -> Option<Plan> {
        match s {
            "basic" => Some(Plan::Basic),
            "trial" => Some(Plan::Trial),
            _ => None,
        }
    }
}

/// How a user signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    Password,
    Google,
    Facebook,
    Microsoft,
    Daccount,
    Ad,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Password => "password",
            LoginMethod::Google => "google",
            LoginMethod::Facebook => "facebook",
            LoginMethod::Microsoft => "microsoft",
            LoginMethod::Daccount => "daccount",
            LoginMethod::Ad => "ad",
        }
    }
    pub fn parse(s: &str) -> Option<LoginMethod> {
        match s {
            "password" => Some(LoginMethod::Password),
            "google" => Some(LoginMethod::Google),
            "facebook" => Some(LoginMethod::Facebook),
            "microsoft" => Some(LoginMethod::Microsoft),
            "daccount" => Some(LoginMethod::Daccount),
            "ad" => Some(LoginMethod::Ad),
            _ => None,
        }
    }
}

/// Whether a user has finished registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Invited,
    Active,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
        }
    }
    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "invited" => Some(UserStatus::Invited),
            "active" => Some(UserStatus::Active),
            _ => None,
        }
    }
}

/// Which listener a request arrived on. Decided by the listener, never by a
/// client header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Internet,
    Closed,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Internet => "internet",
            Route::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Route> {
        match s {
            "internet" => Some(Route::Internet),
            "closed" => Some(Route::Closed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in [Role::ContractHolder, Role::Admin, Role::User] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for p in [Plan::Basic, Plan::Trial] {
            assert_eq!(Plan::parse(p.as_str()), Some(p));
        }
        for m in [
            LoginMethod::Password,
            LoginMethod::Google,
            LoginMethod::Facebook,
            LoginMethod::Microsoft,
            LoginMethod::Daccount,
            LoginMethod::Ad,
        ] {
            assert_eq!(LoginMethod::parse(m.as_str()), Some(m));
        }
        for s in [UserStatus::Invited, UserStatus::Active] {
            assert_eq!(UserStatus::parse(s.as_str()), Some(s));
        }
        for r in [Route::Internet, Route::Closed] {
            assert_eq!(Route::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
