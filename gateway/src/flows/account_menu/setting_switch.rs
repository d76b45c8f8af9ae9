//! The contract holder's on/off settings of the tenant (2段階認証設定,
//! パスキー設定): a choice page, then a confirmation page (設定確認) whose
//! "上記の説明を確認しました。" box must be ticked, then the change, saved
//! and audited. Each setting describes itself as a [`Switch`].

use crate::answers;
use crate::audit::{self, Event, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::Tenant;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, FormPage, Select, Texts};
use sekisho_policy::paths;
use std::sync::Arc;

/// Which of the tenant's fields a switch sets.
#[derive(Clone, Copy)]
pub enum Field {
    TwoStep,
    PasskeysRequired,
    NewDeviceMail,
    BindingRequired,
}

/// One on/off setting of the tenant.
pub struct Switch {
    pub field: Field,
    /// The audit event of a change, and the words for the new value.
    pub event: Event,
    pub audit_words: (&'static str, &'static str),
    /// The page's outcome word when shown.
    pub page: &'static str,
    pub path: &'static str,
    pub confirm_path: &'static str,
    pub title: fn(&Texts) -> &'static str,
    /// What the setting does, with its warnings, for this tenant.
    pub intro: fn(&Texts, &Tenant) -> Vec<&'static str>,
    /// The confirmation page's notes.
    pub confirm_notes: fn(&Texts) -> Vec<&'static str>,
    /// The words for on and off.
    pub on_off: fn(&Texts) -> (&'static str, &'static str),
    /// What the page after the change says.
    pub done: fn(&Texts) -> &'static str,
}

impl Switch {
    fn current(&self, tenant: &Tenant) -> bool {
        match self.field {
            Field::TwoStep => tenant.two_step_enabled,
            Field::PasskeysRequired => tenant.passkeys_required,
            Field::NewDeviceMail => tenant.new_device_mail,
            Field::BindingRequired => tenant.binding_required,
        }
    }

    fn label(&self, t: &Texts, on: bool) -> &'static str {
        let (yes, no) = (self.on_off)(t);
        if on {
            yes
        } else {
            no
        }
    }

    /// The choice of on and off, with the warnings.
    fn choice_page(
        &self,
        app: &App,
        req: &Req,
        live: &Live,
        status: u16,
        problems: Vec<String>,
    ) -> Answer {
        let c = answers::chrome(app, req);
        let t = c.t;
        let on = self.current(&live.view.tenant);
        let (yes, no) = (self.on_off)(t);
        let html = render(&FormPage {
            invalid: None,
            c: &c,
            title: (self.title)(t),
            intro: (self.intro)(t, &live.view.tenant),
            facts: vec![(t.setting_current, self.label(t, on).to_string())],
            problems,
            action: self.path,
            csrf: &app.csrf.token(&live.id_hash),
            hidden: Vec::new(),
            fields: Vec::new(),
            select: Some(Select {
                label: (self.title)(t),
                name: "enabled",
                options: vec![("on", yes, on), ("off", no, !on)],
            }),
            checkbox: None,
            extra: Vec::new(),
            rule: false,
            submit: t.set_button,
            back: Some((paths::MENU, t.back_button)),
            guide: None,
        });
        Answer::html(status, html)
    }

    fn confirm_page(
        &self,
        app: &App,
        req: &Req,
        live: &Live,
        new: bool,
        problems: Vec<String>,
    ) -> Answer {
        let c = answers::chrome(app, req);
        let t = c.t;
        let on = self.current(&live.view.tenant);
        let mut intro = vec![t.setting_confirm_intro];
        intro.extend((self.confirm_notes)(t));
        let html = render(&FormPage {
            invalid: None,
            c: &c,
            title: t.setting_confirm_title,
            intro,
            facts: vec![
                (t.setting_current, self.label(t, on).to_string()),
                (t.setting_new, self.label(t, new).to_string()),
            ],
            problems,
            action: self.confirm_path,
            csrf: &app.csrf.token(&live.id_hash),
            hidden: vec![("enabled", if new { "on" } else { "off" }.to_string())],
            fields: Vec::new(),
            select: None,
            checkbox: Some(("understood", t.setting_confirm_check)),
            extra: Vec::new(),
            rule: false,
            submit: t.set_button,
            back: Some((self.path, t.cancel_link)),
            guide: None,
        });
        Answer::html(200, html)
    }

    /// GET: the choice page.
    pub async fn show(&self, app: &App, req: &Req, live: Live) -> Outcome {
        (
            self.page,
            self.choice_page(app, req, &live, 200, Vec::new()),
        )
    }

    /// The choice page again, saying why the change was not made (a
    /// setting's own precondition, checked by its flow).
    pub fn refused(&self, app: &App, req: &Req, live: &Live, problem: &str) -> Outcome {
        (
            "setting_refused",
            self.choice_page(app, req, live, 409, vec![problem.to_string()]),
        )
    }

    /// POST of the choice: on to the confirmation page.
    pub async fn submit(&self, app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
        let t = req.lang.texts();
        match parse_choice(form.get("enabled")) {
            None => (
                "bad_choice",
                self.choice_page(app, req, &live, 400, vec![t.error_400_text.to_string()]),
            ),
            Some(new) if new == self.current(&live.view.tenant) => (
                "setting_unchanged",
                self.choice_page(app, req, &live, 200, vec![t.setting_unchanged.to_string()]),
            ),
            Some(new) => (
                "setting_confirm",
                self.confirm_page(app, req, &live, new, Vec::new()),
            ),
        }
    }

    /// POST of the confirmation: once the box is ticked, the change is
    /// saved and audited, and the cached views of the tenant are dropped; else the page that says what is missing.
    pub async fn confirm(
        &self,
        app: &Arc<App>,
        req: &Req,
        (live, form): (Live, Form),
        outcome: &'static str,
    ) -> Outcome {
        let t = req.lang.texts();
        let Some(new) = parse_choice(form.get("enabled")) else {
            return (
                "bad_choice",
                self.choice_page(app, req, &live, 400, vec![t.error_400_text.to_string()]),
            );
        };
        if form.get("understood") != "yes" {
            let problem = vec![t.setting_confirm_not_ticked.to_string()];
            return (
                "not_ticked",
                self.confirm_page(app, req, &live, new, problem),
            );
        }
        let id = &live.view.tenant.id;
        let saved = match self.field {
            Field::TwoStep => app.store.set_two_step_enabled(id, new).await,
            Field::PasskeysRequired => app.store.set_passkeys_required(id, new).await,
            Field::NewDeviceMail => app.store.set_new_device_mail(id, new).await,
            Field::BindingRequired => app.store.set_binding_required(id, new).await,
        };
        let tenant = match saved {
            Ok(t) => t,
            Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
        };
        let who = Who {
            user_id: Some(&live.view.user.id),
            tenant_id: Some(&tenant.id),
            client_ip: Some(&req.client_ip),
            route: None,
        };
        let (on, off) = self.audit_words;
        let word = if self.current(&tenant) { on } else { off };
        audit::event(self.event, &who, word);
        self.changed(app, req, &live, outcome)
    }
}

fn parse_choice(v: &str) -> Option<bool> {
    match v {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

impl Switch {
    /// After a change: the cached views of the tenant's sessions are
    /// dropped (a requirement such as device binding applies to open
    /// sessions at once), and the holder is told it is done.
    fn changed(&self, app: &App, req: &Req, live: &Live, outcome: &'static str) -> Outcome {
        app.sessions.forget_tenant(&live.view.tenant.id);
        let t = req.lang.texts();
        (
            outcome,
            answers::message_page(
                app,
                req,
                200,
                t.setting_done_title,
                (self.done)(t),
                Some((paths::MENU, t.back_to_menu)),
            ),
        )
    }
}
