//! The account menu's permission matrix (manual §0, PRODUCT §3.9) and the
//! rules for changing the login method and address (§2, §3.8). The menu
//! shows only what this allows, and every handler asks again, so a URL
//! called directly is refused just the same.

use crate::model::{LoginMethod, Plan, Role};

/// An item of 認証・契約情報変更メニュー.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MenuItem {
    /// ログイン方法の設定.
    LoginMethod,
    /// メールアドレス変更.
    EmailChange,
    /// パスワード変更.
    PasswordChange,
    /// アクセス経路設定.
    AccessRoute,
    /// 2段階認証設定.
    TwoStep,
    /// Active Directory設定.
    ActiveDirectory,
    /// パスキー: the user's own passkeys (password users).
    Passkeys,
    /// パスキー設定: the holder's requirement of passkeys for the tenant.
    PasskeyPolicy,
    /// 新しいブラウザからのログイン通知: the holder's switch of the mail.
    NewDeviceMail,
    /// 端末に結び付けたセッション: the holder's requirement of device-bound
    /// sessions (DBSC) for administrators.
    DeviceBinding,
    /// 設定 → SCIM: the directory's tokens (basic plan).
    Scim,
}

impl MenuItem {
    pub const ALL: [MenuItem; 11] = [
        MenuItem::LoginMethod,
        MenuItem::EmailChange,
        MenuItem::PasswordChange,
        MenuItem::AccessRoute,
        MenuItem::TwoStep,
        MenuItem::ActiveDirectory,
        MenuItem::Passkeys,
        MenuItem::PasskeyPolicy,
        MenuItem::NewDeviceMail,
        MenuItem::DeviceBinding,
        MenuItem::Scim,
    ];
}

/// Whether `role` on `plan`, signing in by `method`, may use `item`.
///
/// | item | basic: holder | basic: others | trial: holder | trial: others |
/// |---|---|---|---|---|
/// | login method, email change | ✓ | – | – | – |
/// | password change, passkeys (password users) | ✓ | ✓ | ✓ | ✓ |
/// | access route, two-step, Active Directory, passkey setting, new-browser mail, device binding | ✓ | – | ✓ | – |
pub fn allowed(item: MenuItem, role: Role, plan: Plan, method: LoginMethod) -> bool {
    let holder = role == Role::ContractHolder;
    match item {
        MenuItem::LoginMethod | MenuItem::EmailChange | MenuItem::Scim => {
            holder && plan == Plan::Basic
        }
        MenuItem::PasswordChange => method == LoginMethod::Password,
        MenuItem::Passkeys => crate::passkey::may_hold_passkeys(method),
        MenuItem::AccessRoute
        | MenuItem::TwoStep
        | MenuItem::ActiveDirectory
        | MenuItem::PasskeyPolicy
        | MenuItem::NewDeviceMail
        | MenuItem::DeviceBinding => holder,
    }
}

/// Whether `role` may open the admin console (管理コンソール).
pub fn can_administer(role: Role) -> bool {
    matches!(role, Role::ContractHolder | Role::Admin)
}

/// Why a login-method change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChangeRefusal {
    /// Trial tenants cannot change method or address (§0).
    TrialPlan,
    /// The contract holder can never use Active Directory (§2-1 注意).
    HolderCannotUseAd,
    /// From one Facebook account straight to another is refused (§2-1).
    FacebookToFacebook,
}

/// Checks a change of `role`'s login method from `current` to `new`.
/// `same_identity` says whether a federated identity is the one already
/// bound (only known once the provider answered).
pub fn method_change(
    role: Role,
    plan: Plan,
    current: LoginMethod,
    new: LoginMethod,
    same_identity: bool,
) -> Result<(), MethodChangeRefusal> {
    if plan == Plan::Trial {
        return Err(MethodChangeRefusal::TrialPlan);
    }
    if role == Role::ContractHolder && new == LoginMethod::Ad {
        return Err(MethodChangeRefusal::HolderCannotUseAd);
    }
    if current == LoginMethod::Facebook && new == LoginMethod::Facebook && !same_identity {
        return Err(MethodChangeRefusal::FacebookToFacebook);
    }
    Ok(())
}

/// Whether an address change is allowed on `plan` (trial: never).
pub fn email_change_allowed(plan: Plan) -> bool {
    plan == Plan::Basic
}

#[cfg(test)]
mod tests {
    use super::MenuItem::*;
    use super::{
        allowed, can_administer, email_change_allowed, method_change, MenuItem, MethodChangeRefusal,
    };
    use crate::model::LoginMethod as M;
    use crate::model::Plan::{self, *};
    use crate::model::Role::{self, *};
    use M::{Ad, Facebook, Google, Password};

    const METHODS: [M; 6] = [Password, Google, Facebook, M::Microsoft, M::Daccount, Ad];

    /// The matrix, written out cell by cell as the manual prints it.
    fn expected(item: MenuItem, role: Role, plan: Plan, method: M) -> bool {
        let holder = role == ContractHolder;
        match (item, plan) {
            (LoginMethod | EmailChange | Scim, Basic) => holder,
            (LoginMethod | EmailChange | Scim, Trial) => false,
            (PasswordChange | Passkeys, _) => method == Password,
            (
                AccessRoute | TwoStep | ActiveDirectory | PasskeyPolicy | NewDeviceMail
                | DeviceBinding,
                _,
            ) => holder,
        }
    }

    #[test]
    fn matrix_exhaustively() {
        let mut cells = 0;
        for item in MenuItem::ALL {
            for role in [ContractHolder, Admin, User] {
                for plan in [Basic, Trial] {
                    for method in METHODS {
                        assert_eq!(
                            allowed(item, role, plan, method),
                            expected(item, role, plan, method),
                            "{item:?} {role:?} {plan:?} {method:?}"
                        );
                        cells += 1;
                    }
                }
            }
        }
        assert_eq!(cells, MenuItem::ALL.len() * 3 * 2 * 6);
    }

    #[test]
    fn matrix_spot_checks() {
        assert!(allowed(EmailChange, ContractHolder, Basic, Password));
        assert!(!allowed(EmailChange, ContractHolder, Trial, Password));
        assert!(
            !allowed(EmailChange, Admin, Basic, Password),
            "admins are 'others' in the menu"
        );
        assert!(allowed(PasswordChange, User, Trial, Password));
        assert!(
            !allowed(PasswordChange, ContractHolder, Basic, Google),
            "only password users"
        );
        assert!(allowed(TwoStep, ContractHolder, Trial, Google));
        assert!(!allowed(ActiveDirectory, Admin, Basic, Password));
    }

    #[test]
    fn console_is_for_holders_and_admins() {
        assert!(can_administer(ContractHolder));
        assert!(can_administer(Admin));
        assert!(!can_administer(User));
    }

    #[test]
    fn method_change_rules() {
        assert_eq!(
            method_change(ContractHolder, Trial, Password, Google, false),
            Err(MethodChangeRefusal::TrialPlan)
        );
        assert_eq!(
            method_change(User, Trial, Password, Password, false),
            Err(MethodChangeRefusal::TrialPlan)
        );
        assert_eq!(
            method_change(ContractHolder, Basic, Password, Ad, false),
            Err(MethodChangeRefusal::HolderCannotUseAd)
        );
        assert_eq!(method_change(User, Basic, Password, Ad, false), Ok(()));
        assert_eq!(
            method_change(User, Basic, Facebook, Facebook, false),
            Err(MethodChangeRefusal::FacebookToFacebook)
        );
        assert_eq!(method_change(User, Basic, Facebook, Facebook, true), Ok(()));
        assert_eq!(method_change(User, Basic, Facebook, Google, false), Ok(()));
        assert_eq!(
            method_change(ContractHolder, Basic, Google, Password, false),
            Ok(())
        );
        assert!(email_change_allowed(Basic) && !email_change_allowed(Trial));
    }
}
