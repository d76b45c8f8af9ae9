//! Tenants: contracts and their settings.

use crate::{yes, StoreResult, TicketRecord, User};
use sekisho_policy::line::AccessRoute;
use sekisho_policy::model::Plan;
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

/// A contract (契約).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub plan: Plan,
    /// When the tenant started: the trial's day 0.
    pub created_at: UnixTime,
    /// 2段階認証: on by default. Forced off while the access route is
    /// line-only; the setting itself is kept, so switching back restores it.
    #[serde(default = "yes")]
    pub two_step_enabled: bool,
    /// アクセス経路設定.
    #[serde(default)]
    pub access_route: AccessRoute,
    /// Registered line numbers (canonical, see `policy::line`).
    #[serde(default)]
    pub lines: Vec<String>,
    /// West lines (`COP`) whose 回線情報通知設定 was given.
    #[serde(default)]
    pub line_consents: Vec<String>,
    /// The tenant's Active Directory (ADFS) connection, once the holder set
    /// it up (Active Directory設定).
    #[serde(default)]
    pub ad: Option<AdConnection>,
    /// パスキー設定: password users must sign in with a passkey (and
    /// register one at their next login). Off by default.
    #[serde(default)]
    pub passkeys_required: bool,
    /// 新しいブラウザからのログイン通知 (S63): on by default.
    #[serde(default = "yes")]
    pub new_device_mail: bool,
    /// 端末に結び付けたセッション: administrators' sessions must be bound
    /// to their browser's key (DBSC, S62). Off by default.
    #[serde(default)]
    pub binding_required: bool,
    /// The tokens the tenant's directory provisions users with (SCIM, S65),
    /// kept only as hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scim_tokens: Vec<ScimToken>,
}

/// A SCIM client's token: named, kept as the SHA-256 of its secret (the
/// secret is 256 random bits, so a slow hash would add nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimToken {
    /// 128 bits, hex; written into the token so a request finds its entry.
    pub id: String,
    pub name: String,
    pub hash: String,
    pub created_at: UnixTime,
    /// The client networks allowed to use it (CIDR); empty allows any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
}

/// A change to a tenant's SCIM tokens (see [`TenantStore::change_scim_tokens`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimTokenChange {
    /// A new token; `Stale` when its name is taken.
    Add(ScimToken),
    /// The token `id` replaced by a new secret, under the same name and
    /// networks: the old secret stops at once.
    Rotate {
        id: String,
        token: ScimToken,
    },
    Revoke {
        id: String,
    },
}

/// A tenant's ADFS, reached over OpenID Connect. The client secret is
/// sealed with the key from config (`federation.active_directory`), so a
/// copy of the store alone does not give it away.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdConnection {
    /// 接続ID: `adfs-` + 18 characters, issued by the gateway, unique.
    pub connection_id: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub updated_at: UnixTime,
}

impl std::fmt::Debug for AdConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdConnection")
            .field("connection_id", &self.connection_id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// Whether two-step verification applies to this tenant's logins now.
    pub fn two_step_applies(&self) -> bool {
        sekisho_policy::two_step::tenant_setting_applies(
            self.two_step_enabled,
            self.access_route == AccessRoute::LineOnly,
        )
    }
}

store_part! {
    ($)
    /// Contracts (契約) and their settings: plan, access route and lines,
    /// the two-step and passkey requirements, the Active Directory connection.
    pub trait TenantStore {
        own TenantOwn;
        forward forward_tenant_store;
        steps {
            /// Creates a tenant, its contract holder (status invited) and the
            /// holder's invitation ticket. `EmailTaken` leaves nothing behind.
            async fn create_tenant_with_holder(
                &self,
                tenant: Tenant,
                holder: User,
                invitation: TicketRecord,
            ) -> StoreResult<()>;
            /// Changes a tenant's plan.
            async fn set_plan(&self, tenant_id: &str, plan: Plan) -> StoreResult<Tenant>;
            /// Sets a tenant's access route (§4-1).
            async fn set_access_route(&self, tenant_id: &str, route: AccessRoute) -> StoreResult<Tenant>;
            /// Sets a tenant's access route and its registered lines together (the
            /// console's 回線認証 page, §4-2).
            async fn save_line_settings(
                &self,
                tenant_id: &str,
                route: AccessRoute,
                lines: Vec<String>,
            ) -> StoreResult<Tenant>;
            /// Records the 回線情報通知設定 consent of a West line.
            async fn consent_line(&self, tenant_id: &str, line: &str) -> StoreResult<Tenant>;
            /// Sets the tenant's Active Directory connection. `Stale` when its
            /// connection ID is another tenant's, or differs from the one the
            /// tenant already has (a connection ID never changes once mailed).
            async fn save_ad_connection(
                &self,
                tenant_id: &str,
                connection: AdConnection,
            ) -> StoreResult<Tenant>;
            /// Switches two-step verification for a tenant (§5-1).
            async fn set_two_step_enabled(&self, tenant_id: &str, enabled: bool) -> StoreResult<Tenant>;
            /// Switches the tenant's requirement of passkeys (パスキー設定).
            async fn set_passkeys_required(&self, tenant_id: &str, required: bool) -> StoreResult<Tenant>;
            /// Switches the tenant's new-browser mail (新しいブラウザからのログイン通知).
            async fn set_new_device_mail(&self, tenant_id: &str, on: bool) -> StoreResult<Tenant>;
            /// Adds, rotates or revokes one of the tenant's SCIM tokens (S65);
            /// `NotFound` for an unknown token id.
            async fn change_scim_tokens(
                &self,
                tenant_id: &str,
                change: ScimTokenChange,
            ) -> StoreResult<Tenant>;
            /// Sets whether administrators' sessions must be device-bound (S62).
            async fn set_binding_required(&self, tenant_id: &str, on: bool) -> StoreResult<Tenant>;
        }
        own {
            async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
            async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
            /// The tenant whose Active Directory connection has this ID.
            async fn find_tenant_by_connection(&self, connection_id: &str) -> StoreResult<Option<Tenant>>;
        }
    }
}
