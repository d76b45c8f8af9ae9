//! 新しいブラウザからのログイン通知 (S63): the contract holder's switch of
//! the mail a sign-in from a new browser sends, on by default, through the
//! confirmation page of every holder's switch.

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
    field: Field::NewDeviceMail,
    event: Event::NewDeviceMailChanged,
    audit_words: ("on", "off"),
    page: "new_device_mail",
    path: paths::MENU_NEW_DEVICE_MAIL,
    confirm_path: paths::MENU_NEW_DEVICE_MAIL_CONFIRM,
    title: |t| t.new_device_mail_title,
    intro: |t, _| vec![t.new_device_mail_intro],
    confirm_notes: |t| vec![t.new_device_mail_warning],
    on_off: |t| (t.new_device_mail_on, t.new_device_mail_off),
    done: |t| t.new_device_mail_done,
};

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    SWITCH.show(app, req, live).await
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    SWITCH.submit(app, req, live, form).await
}

/// POST of the confirmation: the next sign-in follows the new setting.
pub async fn confirm(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    SWITCH
        .confirm(app, req, (live, form), "new_device_mail_changed")
        .await
}
