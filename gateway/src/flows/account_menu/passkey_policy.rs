//! パスキー設定 (S53): the contract holder requires passkeys of every
//! password user of the tenant, through the confirmation page of every
//! holder's switch. Under the requirement a password login is confirmed
//! by a passkey, and a user without one registers it at their next login
//! (`flows::passkey_enrolment`). Shown only where this gateway offers
//! passkeys.

use crate::audit::Event;
use crate::flows::setting_switch::{Field, Switch};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Form;
use sekisho_policy::paths;
use std::sync::Arc;

const SWITCH: Switch = Switch {
    field: Field::PasskeysRequired,
    event: Event::PasskeyPolicyChanged,
    audit_words: ("required", "optional"),
    page: "passkey_policy",
    path: paths::MENU_PASSKEY_POLICY,
    confirm_path: paths::MENU_PASSKEY_POLICY_CONFIRM,
    title: |t| t.passkey_policy_title,
    intro: |t, tenant| {
        let mut intro = vec![
            t.passkey_policy_intro,
            t.passkey_policy_enrol_note,
            t.passkey_policy_warning,
        ];
        if tenant.access_route == sekisho_policy::line::AccessRoute::LineOnly {
            intro.push(t.passkey_policy_line_only);
        }
        intro
    },
    confirm_notes: |t| vec![t.passkey_policy_warning, t.setting_confirm_note_federated],
    on_off: |t| (t.passkey_policy_required, t.passkey_policy_optional),
    done: |t| t.passkey_policy_done,
};

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    SWITCH.show(app, req, live).await
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    SWITCH.submit(app, req, live, form).await
}

/// POST of the confirmation: applies the requirement once the box is
/// ticked. Sessions already started go on; the next login asks.
pub async fn confirm(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    SWITCH
        .confirm(app, req, (live, form), "passkey_policy_changed")
        .await
}
