//! パスキー設定 (S53): the contract holder requires passkeys of every
//! password user of the tenant, through the confirmation page of every
//! holder's switch. Under the requirement a password login is confirmed
//! by a passkey, and a user without one registers it at their next login
//! (`flows::passkey_enrolment`). Shown only where this gateway offers
//! passkeys.

use super::setting_switch::{Field, Switch};
use super::Outcome;
use crate::audit::Event;
use crate::state::App;
use crate::web::Req;
use pingora::proxy::Session;
use std::sync::Arc;

pub const PATH: &str = "/.sekisho/menu/passkey-policy";
pub const CONFIRM: &str = "/.sekisho/menu/passkey-policy/confirm";

const SWITCH: Switch = Switch {
    field: Field::PasskeysRequired,
    event: Event::PasskeyPolicyChanged,
    audit_words: ("required", "optional"),
    page: "passkey_policy",
    path: PATH,
    confirm_path: CONFIRM,
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

/// Where this gateway has no passkeys, the setting does not exist.
fn offered(app: &App, req: &Req) -> bool {
    super::passkey_login::offered(app, req).is_some()
}

pub async fn show(app: &App, req: &Req) -> Outcome {
    if !offered(app, req) {
        return ("not_found", app.error_page(req, 404));
    }
    SWITCH.show(app, req).await
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    if !offered(app, req) {
        return ("not_found", app.error_page(req, 404));
    }
    SWITCH.submit(app, session, req).await
}

/// POST of the confirmation: applies the requirement once the box is
/// ticked. Sessions already started go on; the next login asks.
pub async fn confirm(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    if !offered(app, req) {
        return ("not_found", app.error_page(req, 404));
    }
    SWITCH
        .confirm(app, session, req, "passkey_policy_changed")
        .await
}
