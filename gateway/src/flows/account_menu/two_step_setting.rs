//! 2段階認証設定 (manual §5-1): the contract holder turns two-step
//! verification on or off for every password user of the tenant, through
//! the confirmation page of every holder's switch ([`Switch`]).

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
    field: Field::TwoStep,
    event: Event::TwoStepSettingChanged,
    audit_words: ("on", "off"),
    page: "two_step_setting",
    path: paths::MENU_TWO_STEP,
    confirm_path: paths::MENU_TWO_STEP_CONFIRM,
    title: |t| t.two_step_setting_title,
    intro: |t, tenant| {
        let mut intro = vec![
            t.two_step_setting_intro,
            t.two_step_setting_warning,
            t.two_step_line_only_note,
        ];
        if tenant.access_route == sekisho_policy::line::AccessRoute::LineOnly {
            intro.push(t.two_step_forced_off);
        }
        intro
    },
    confirm_notes: |t| {
        vec![
            t.setting_confirm_note_risk,
            t.setting_confirm_note_federated,
        ]
    },
    on_off: |t| (t.two_step_enable, t.two_step_disable),
    done: |t| t.setting_done_text,
};

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    SWITCH.show(app, req, live).await
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    SWITCH.submit(app, req, live, form).await
}

/// POST of the confirmation: applies the setting once the box is ticked.
pub async fn confirm(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    SWITCH
        .confirm(app, req, (live, form), "two_step_setting_changed")
        .await
}
