//! 端末に結び付けたセッション (S62): the contract holder requires the
//! sessions of the holder and administrators to be device-bound (DBSC),
//! through the confirmation page of every holder's switch. Browsers that
//! offer DBSC bind every session whatever the setting; the requirement
//! refuses administrators whose browser does not.

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
    field: Field::BindingRequired,
    event: Event::DeviceBindingRequiredChanged,
    audit_words: ("required", "optional"),
    page: "device_binding",
    path: paths::MENU_DEVICE_BINDING,
    confirm_path: paths::MENU_DEVICE_BINDING_CONFIRM,
    title: |t| t.device_binding_title,
    intro: |t, _| vec![t.device_binding_intro, t.device_binding_browsers],
    confirm_notes: |t| vec![t.device_binding_browsers, t.device_binding_warning],
    on_off: |t| (t.device_binding_on, t.device_binding_off),
    done: |t| t.device_binding_done,
};

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    SWITCH.show(app, req, live).await
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    if let Some(refused) = unbound_holder(app, req, &live, &form) {
        return refused;
    }
    SWITCH.submit(app, req, live, form).await
}

/// The requirement is turned on only from a bound session: a holder whose
/// own browser cannot bind would otherwise be shut out by their own click.
fn unbound_holder(app: &App, req: &Req, live: &Live, form: &Form) -> Option<Outcome> {
    (form.get("enabled") == "on" && live.view.session.binding.is_none()).then(|| {
        let t = req.lang.texts();
        SWITCH.refused(app, req, live, t.device_binding_unbound_holder)
    })
}

/// POST of the confirmation: applies the requirement once the box is
/// ticked. Administrators' sessions already open are asked on their next
/// request (after the registration window, for an unbound one).
pub async fn confirm(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    if let Some(refused) = unbound_holder(app, req, &live, &form) {
        return refused;
    }
    SWITCH
        .confirm(app, req, (live, form), "device_binding_changed")
        .await
}
