//! The second step of a password login (2段階認証, PRODUCT §3.6, manual
//! §1-1): set-up by SMS (the default screen) or an authenticator app, the
//! recovery code shown once, verification at later logins, the recovery
//! code as a way in, and "remember this browser".
//!
//! Until the step passes, the browser holds only a pending login (its own
//! cookie, bound to the browser's pre-session id): the proxy never reads
//! it, so it reaches nothing (S21). Every code typed counts on the user's
//! own counter, which a new login does not reset (S24).

use crate::answers;
use crate::audit::{self, Who};
use crate::crypto;
use crate::flows::password_check;
use crate::flows::sign_in::{Done, Proof, SignIn, Stepped};
use crate::flows::two_step_entry::{event, start_over, store_down};
use crate::flows::{read_post, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::{
    PasskeyDemand, PendingLogin, SmsChallenge, StoreError, TwoStepKind, TwoStepRegistration, User,
};
use crate::web::{Answer, Form};
use pingora::proxy::Session;
use sekisho_pages::{render, Chrome, CodeForm, TwoStepPage};
use sekisho_policy::lock::{locks_now, Admission};
use sekisho_policy::model::{LoginMethod, UserStatus};
use sekisho_policy::paths;
use sekisho_policy::two_step::{
    display_recovery_code, mask_phone, normalize_digits, normalize_phone, normalize_recovery_code,
    PhoneProblem, RECOVERY_ALPHABET, RECOVERY_CODE_LEN, SMS_CODE_LEN,
};
use std::sync::Arc;

const SMS_SETUP: &str = paths::TWO_STEP_SMS;
const SMS_SEND: &str = paths::TWO_STEP_SMS_SEND;
const APP: &str = paths::TWO_STEP_APP;
const RECOVERY: &str = paths::TWO_STEP_RECOVERY;
const CANCEL: &str = paths::TWO_STEP_CANCEL;

/// Purposes of the keyed hashes and seals, kept apart.
const SMS_HASH: &str = "sekisho-sms-code";
const RECOVERY_HASH: &str = "sekisho-recovery-code";
const RECOVERY_SEAL: &str = "sekisho-recovery-display";
const TOTP_SETUP: &str = "sekisho-totp-setup";

/// A pending login as this browser presents it, with its user.
pub(super) struct Pending {
    pub(super) rec: PendingLogin,
    /// The pending cookie itself: unseals the recovery code on display.
    token: String,
    pub(super) user: User,
    /// The user's passkeys, where passkeys are offered on this route:
    /// the passkey comes first (S53).
    pub(super) passkeys: Vec<crate::store::PasskeyRecord>,
}

/// Where a pending login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    SetUp,
    Verify(TwoStepKind),
    /// Under the tenant's passkey requirement: a passkey (or the recovery
    /// code) is the only second step.
    PasskeyOnly,
    /// Set up and passed: the recovery code is on screen.
    Passed,
    /// Passed, and under the tenant's requirement a passkey is to be
    /// registered before the session starts.
    Enrol,
}

impl Pending {
    pub(super) fn stage(&self) -> Stage {
        if self.rec.passed {
            let enrol =
                self.rec.passkey == PasskeyDemand::Enrol && self.rec.recovery_sealed.is_none();
            return if enrol { Stage::Enrol } else { Stage::Passed };
        }
        if self.rec.passkey == PasskeyDemand::Use {
            return Stage::PasskeyOnly;
        }
        match &self.user.two_step {
            None => Stage::SetUp,
            Some(r) => Stage::Verify(r.kind),
        }
    }

    /// The recovery code stands in for the second step, the passkey
    /// included, wherever the user has a registration to recover.
    fn may_use_recovery_code(&self) -> bool {
        match self.stage() {
            Stage::Verify(_) => true,
            Stage::PasskeyOnly => self.user.two_step.is_some(),
            _ => false,
        }
    }

    pub(super) fn binding(&self) -> String {
        format!("2fa:{}", self.rec.id_hash)
    }

    pub(super) fn who<'a>(&'a self, req: &'a Req) -> Who<'a> {
        Who {
            user_id: Some(&self.user.id),
            tenant_id: Some(&self.user.tenant_id),
            route: Some(self.rec.route),
            client_ip: Some(&req.client_ip),
        }
    }
}

// ---------------------------------------------------------------------
// Entering the second step (from the login page)

// ---------------------------------------------------------------------
// Reading the pending login

/// The pending login of this request, if it is live, this browser's, and
/// its user may still sign in.
pub(super) async fn load(app: &App, req: &Req) -> Result<Pending, Outcome> {
    let expired = || ("two_step_expired", start_over(app, "expired"));
    let Some(token) = req
        .cookies
        .pending()
        .filter(|t| crypto::looks_like_token(t))
    else {
        return Err(expired());
    };
    let Some(pre) = req.cookies.pre() else {
        return Err(expired());
    };
    let now = app.clock.now();
    let rec = match app.store.get_pending(&crypto::token_hash(token), now).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(expired()),
        Err(_) => return Err(store_down(app, req)),
    };
    if !crypto::same(&rec.browser, &crypto::token_hash(pre)) {
        // Someone else's pending id in this browser: refused (S21).
        audit::event(
            crate::audit::Event::TwoStepForeignPending,
            &Who {
                client_ip: Some(&req.client_ip),
                ..Default::default()
            },
            "",
        );
        return Err(expired());
    }
    let user = match app.store.get_user(&rec.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return Err(expired()),
        Err(_) => return Err(store_down(app, req)),
    };
    if user.locked {
        return Err(("two_step_locked", start_over(app, "locked")));
    }
    if user.status != UserStatus::Active || user.method != LoginMethod::Password {
        return Err(expired());
    }
    let passkeys = match app.passkeys.as_ref().filter(|rp| rp.offered_on(rec.route)) {
        Some(_) => match app.store.list_passkeys(&user.id).await {
            Ok(p) => p,
            Err(_) => return Err(store_down(app, req)),
        },
        None => Vec::new(),
    };
    Ok(Pending {
        rec,
        token: token.to_string(),
        user,
        passkeys,
    })
}

/// A POST of the second step: same-site, bounded, with the pending
/// login's own CSRF token.
pub(super) async fn read_pending_post(
    app: &App,
    session: &mut Session,
    req: &Req,
) -> Result<(Pending, Form), Outcome> {
    let form = read_post(app, session, req).await?;
    let p = load(app, req).await?;
    if !app.csrf.accepts(&p.binding(), form.get("csrf")) {
        return Err(("csrf_failed", answers::error_page(app, req, 403)));
    }
    Ok((p, form))
}

// ---------------------------------------------------------------------
// Pages

/// The parts of a page that vary; the rest is filled in by [`page`].
#[derive(Default)]
pub(super) struct View<'a> {
    pub(super) status: u16,
    pub(super) title: Option<&'a str>,
    pub(super) intro: Vec<&'a str>,
    pub(super) notice: Option<&'a str>,
    pub(super) problems: Vec<String>,
    pub(super) facts: Vec<(&'a str, String)>,
    pub(super) qr_svg: Option<String>,
    pub(super) secret: Option<String>,
    pub(super) otpauth: Option<String>,
    pub(super) recovery_code: Option<String>,
    pub(super) form: Option<CodeForm<'a>>,
    pub(super) buttons: Vec<(&'a str, &'a str)>,
    pub(super) note: Option<&'a str>,
    pub(super) links: Vec<(&'a str, &'a str)>,
    /// The requirement's registration form.
    pub(super) enrol: bool,
}

pub(super) fn page(app: &App, p: &Pending, c: &Chrome, v: View<'_>) -> Answer {
    let csrf = app.csrf.token(&p.binding());
    let t = c.t;
    let days = app.config.two_step.trust.as_secs() / 86_400;
    let remember_label = format!("{}{days}{}", t.remember_before, t.remember_after);
    // Every step of a pending login can be left (the recovery code's
    // "saved" step excepted: the login is done by then).
    let mut buttons = v.buttons;
    if v.recovery_code.is_none() {
        buttons.push((CANCEL, t.cancel_login_button));
    }
    let passkey_step = !p.passkeys.is_empty() && v.recovery_code.is_none();
    let html = render(&TwoStepPage {
        c,
        who: &p.user.email,
        can_switch: v.recovery_code.is_none(),
        title: v.title.unwrap_or(c.t.two_step_title),
        intro: v.intro,
        notice: v.notice,
        problems: v.problems,
        facts: v.facts,
        csrf: &csrf,
        qr_svg: v.qr_svg,
        secret_grouped: v.secret.as_deref().map(group_in_fours),
        secret: v.secret,
        otpauth: v.otpauth,
        recovery_code: v.recovery_code,
        form: v.form,
        remember_label,
        buttons,
        note: v.note,
        links: v.links,
        passkey_step,
        passkey_enrol: v.enrol,
    });
    Answer::html(if v.status == 0 { 200 } else { v.status }, html)
}

/// A key typed by hand reads best in groups of four: `ABCD EFGH …`.
fn group_in_fours(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// POST: leaves the pending login (その場でログインをやめる): the store's
/// record and the browser's cookie go, and the login page says so.
pub async fn cancel(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (p, _) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if app
        .store
        .take_pending(&p.rec.id_hash, app.clock.now())
        .await
        .is_err()
    {
        return store_down(app, req);
    }
    audit::event(crate::audit::Event::TwoStepCancelled, &p.who(req), "");
    ("two_step_cancelled", start_over(app, "cancelled"))
}

fn code_form<'a>(
    action: &'a str,
    label: &'a str,
    remember: bool,
    (submit, submit_name): (&'a str, &'a str),
) -> CodeForm<'a> {
    CodeForm {
        action,
        label,
        name: "code",
        kind: "text",
        inputmode: "numeric",
        autocomplete: "one-time-code",
        value: String::new(),
        remember,
        submit,
        submit_name,
    }
}

/// SMS set-up, first screen: the phone number.
fn sms_setup_page(app: &App, req: &Req, p: &Pending, phone: &str, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        intro: vec![t.two_step_setup_sms_intro, t.two_step_sms_recommended],
        problems: problem.map(str::to_string).into_iter().collect(),
        form: Some(CodeForm {
            action: SMS_SEND,
            label: t.phone_label,
            name: "phone",
            kind: "tel",
            inputmode: "tel",
            autocomplete: "tel",
            value: phone.to_string(),
            remember: false,
            submit: t.next_button,
            submit_name: t.send_code_name,
        }),
        note: Some(t.two_step_sms_note),
        links: vec![(APP, t.two_step_switch_to_totp)],
        ..View::default()
    };
    page(app, p, &c, v)
}

/// The code-entry screen of SMS, at set-up and at later logins.
fn sms_code_page(
    app: &App,
    req: &Req,
    p: &Pending,
    notice: Option<&str>,
    problem: Option<&str>,
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let setting_up = p.stage() == Stage::SetUp;
    let phone = p.rec.sms.as_ref().map(|s| mask_phone(&s.phone));
    let mut v = View {
        status: if problem.is_some() { 400 } else { 200 },
        intro: vec![t.two_step_sms_code_intro],
        notice,
        problems: problem.map(str::to_string).into_iter().collect(),
        facts: phone
            .map(|m| (t.registered_phone_label, m))
            .into_iter()
            .collect(),
        form: Some(code_form(
            SMS_CODE,
            t.code_label,
            true,
            (t.next_button, t.next_name),
        )),
        buttons: vec![(SMS_SEND, t.resend_button)],
        note: Some(t.two_step_sms_note),
        ..View::default()
    };
    if setting_up {
        v.links = vec![
            (SMS_SETUP, t.phone_change_link),
            (APP, t.two_step_switch_to_totp),
        ];
    } else {
        v.links = vec![(RECOVERY, t.use_recovery_link)];
    }
    page(app, p, &c, v)
}
const SMS_CODE: &str = paths::TWO_STEP_SMS;

/// At a later login with SMS registered, before a code was sent.
fn sms_send_page(app: &App, req: &Req, p: &Pending, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let phone = p
        .user
        .two_step
        .as_ref()
        .and_then(|r| r.phone.as_deref())
        .map(mask_phone);
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        intro: vec![t.two_step_verify_sms_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        facts: phone
            .map(|m| (t.registered_phone_label, m))
            .into_iter()
            .collect(),
        buttons: vec![(SMS_SEND, t.send_button)],
        links: vec![(RECOVERY, t.use_recovery_link)],
        ..View::default()
    };
    page(app, p, &c, v)
}

/// The authenticator app's set-up secret for this pending login: derived,
/// not stored, so showing the QR code changes nothing; saved only once its
/// first code is right.
fn setup_secret(app: &App, p: &Pending) -> Vec<u8> {
    crypto::keyed_bytes(&app.seed_key, TOTP_SETUP, &[&p.rec.id_hash])[..crate::totp::SECRET_BYTES]
        .to_vec()
}

fn totp_setup_page(app: &App, req: &Req, p: &Pending, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let secret = setup_secret(app, p);
    let qr = crate::totp::setup_qr(&secret, &p.user.email, &app.config.service_name);
    let (otpauth, qr_svg) = qr.unzip();
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        intro: vec![t.two_step_setup_totp_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        qr_svg,
        otpauth,
        secret: Some(crate::totp::encode_secret(&secret)),
        form: Some(code_form(
            APP,
            t.totp_code_label,
            true,
            (t.next_button, t.next_name),
        )),
        links: if app.sms.is_some() {
            vec![(SMS_SETUP, t.two_step_switch_to_sms)]
        } else {
            Vec::new()
        },
        ..View::default()
    };
    page(app, p, &c, v)
}

fn totp_verify_page(app: &App, req: &Req, p: &Pending, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        intro: vec![t.two_step_verify_totp_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        form: Some(code_form(
            APP,
            t.totp_code_label,
            true,
            (t.next_button, t.next_name),
        )),
        links: vec![(RECOVERY, t.use_recovery_link)],
        ..View::default()
    };
    page(app, p, &c, v)
}

/// Under the tenant's requirement: the user's passkey, the recovery code
/// where there is one, and what to do without either.
fn passkey_only_page(app: &App, req: &Req, p: &Pending, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let links = if p.may_use_recovery_code() {
        vec![(RECOVERY, t.use_recovery_link)]
    } else {
        Vec::new()
    };
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        intro: vec![t.passkey_required_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        note: Some(t.passkey_required_lost),
        links,
        ..View::default()
    };
    page(app, p, &c, v)
}

/// Under the tenant's requirement, a user without a passkey registers one
/// here before the session starts.
pub(super) fn enrol_page(
    app: &App,
    req: &Req,
    p: &Pending,
    status: u16,
    problem: Option<&str>,
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let v = View {
        status,
        title: Some(t.passkey_enrol_title),
        intro: vec![t.passkey_enrol_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        enrol: true,
        ..View::default()
    };
    page(app, p, &c, v)
}

fn recovery_entry_page(app: &App, req: &Req, p: &Pending, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        title: Some(t.recovery_title),
        intro: vec![t.recovery_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        form: Some(CodeForm {
            action: RECOVERY,
            label: t.recovery_label,
            name: "recovery",
            kind: "text",
            inputmode: "text",
            autocomplete: "off",
            value: String::new(),
            remember: false,
            submit: t.next_button,
            submit_name: t.next_name,
        }),
        links: vec![(paths::TWO_STEP, t.back_button)],
        ..View::default()
    };
    page(app, p, &c, v)
}

/// The recovery code, shown until the user ticks "saved" (manual §1-1 ③).
fn recovery_show_page(app: &App, req: &Req, p: &Pending, problem: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let code = p
        .rec
        .recovery_sealed
        .as_deref()
        .and_then(|s| crypto::unseal_short(&p.token, RECOVERY_SEAL, s))
        .map(|code| display_recovery_code(&code));
    let v = View {
        status: if problem.is_some() { 400 } else { 200 },
        title: Some(t.recovery_show_title),
        intro: vec![t.recovery_show_intro],
        problems: problem.map(str::to_string).into_iter().collect(),
        recovery_code: code,
        ..View::default()
    };
    page(app, p, &c, v)
}

/// GET of the step's home: whatever the pending login needs next.
pub async fn show(app: &App, req: &Req) -> Outcome {
    let p = match load(app, req).await {
        Ok(p) => p,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let answer = match p.stage() {
        Stage::Passed => recovery_show_page(app, req, &p, None),
        // Removed meanwhile (from the console, say): the next login asks
        // for a registration instead.
        Stage::PasskeyOnly if p.passkeys.is_empty() => {
            return ("two_step_expired", start_over(app, "expired"))
        }
        Stage::PasskeyOnly => passkey_only_page(app, req, &p, None),
        Stage::Enrol => enrol_page(app, req, &p, 200, None),
        Stage::SetUp if p.rec.sms.is_some() => {
            let notice = (req.query_param("sent").is_some()).then_some(t.two_step_sms_sent);
            sms_code_page(app, req, &p, notice, None)
        }
        Stage::SetUp if app.sms.is_some() => sms_setup_page(app, req, &p, "", None),
        Stage::SetUp => totp_setup_page(app, req, &p, None),
        Stage::Verify(TwoStepKind::Sms) if p.rec.sms.is_some() => {
            let notice = (req.query_param("sent").is_some()).then_some(t.two_step_sms_sent);
            sms_code_page(app, req, &p, notice, None)
        }
        Stage::Verify(TwoStepKind::Sms) if app.sms.is_none() => {
            sms_send_page(app, req, &p, Some(t.sms_unavailable))
        }
        Stage::Verify(TwoStepKind::Sms) => sms_send_page(app, req, &p, None),
        Stage::Verify(TwoStepKind::Totp) => totp_verify_page(app, req, &p, None),
    };
    ("two_step_page", answer)
}

/// GET of the SMS set-up screen (also to type another number).
pub async fn show_sms_setup(app: &App, req: &Req) -> Outcome {
    let p = match load(app, req).await {
        Ok(p) => p,
        Err(o) => return o,
    };
    if p.stage() != Stage::SetUp || app.sms.is_none() {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    }
    ("two_step_page", sms_setup_page(app, req, &p, "", None))
}

/// GET of the authenticator app's set-up screen (QRコードでの認証はこちら).
pub async fn show_app_setup(app: &App, req: &Req) -> Outcome {
    let p = match load(app, req).await {
        Ok(p) => p,
        Err(o) => return o,
    };
    if p.stage() != Stage::SetUp {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    }
    ("two_step_page", totp_setup_page(app, req, &p, None))
}

/// GET of the recovery code's entry screen.
pub async fn show_recovery(app: &App, req: &Req) -> Outcome {
    let p = match load(app, req).await {
        Ok(p) => p,
        Err(o) => return o,
    };
    if !p.may_use_recovery_code() {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    }
    ("two_step_page", recovery_entry_page(app, req, &p, None))
}

// ---------------------------------------------------------------------
// SMS

/// The number a code goes to: at set-up the one typed (or, on a resend,
/// the one being verified); later only the number verified at set-up (S26).
fn sms_number(
    app: &App,
    req: &Req,
    p: &Pending,
    form: &Form,
    stage: Stage,
) -> Result<String, Outcome> {
    let t = req.lang.texts();
    Ok(match stage {
        Stage::SetUp => {
            // Resending keeps the number being verified.
            let typed = form.get("phone");
            let number = if typed.is_empty() {
                p.rec
                    .sms
                    .as_ref()
                    .map(|s| s.phone.clone())
                    .ok_or(PhoneProblem::Empty)
            } else {
                normalize_phone(typed)
            };
            match number {
                Ok(n) => n,
                Err(problem) => {
                    let text = match problem {
                        PhoneProblem::Empty => t.phone_empty,
                        PhoneProblem::Malformed => t.phone_malformed,
                        PhoneProblem::NotMobile => t.phone_not_mobile,
                    };
                    return Err((
                        "phone_refused",
                        sms_setup_page(app, req, p, typed, Some(text)),
                    ));
                }
            }
        }
        Stage::Verify(TwoStepKind::Sms) => {
            // Only ever the number verified at set-up (S26).
            match p.user.two_step.as_ref().and_then(|r| r.phone.clone()) {
                Some(n) => n,
                None => return Err(("two_step_expired", start_over(app, "expired"))),
            }
        }
        _ => return Err(("redirect", Answer::redirect(paths::TWO_STEP))),
    })
}

/// POST: sends a code — to the number typed (set-up) or the registered
/// one. A new code voids the previous one (S25); sends are spaced and
/// capped per user, and throttled per address.
pub async fn send_sms(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    if let Some(answer) = crate::refusals::throttled(app, req, "sms") {
        return ("throttled", answer);
    }
    let (mut p, form) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let stage = p.stage();
    let phone = match sms_number(app, req, &p, &form, stage) {
        Ok(n) => n,
        Err(o) => return o,
    };
    let Some(sender) = app.sms.as_ref() else {
        return (
            "sms_unavailable",
            sms_send_page(app, req, &p, Some(t.sms_unavailable)),
        );
    };
    let resend_page = |p: &Pending, problem: &str| {
        if p.rec.sms.is_some() {
            sms_code_page(app, req, p, None, Some(problem))
        } else if stage == Stage::SetUp {
            sms_setup_page(app, req, p, form.get("phone"), Some(problem))
        } else {
            sms_send_page(app, req, p, Some(problem))
        }
    };
    let now = app.clock.now();
    let spacing = app.config.two_step.sms_resend_interval.as_secs() as i64;
    let user_id = p.user.id.clone();
    let recent = match app
        .store
        .count_event(&format!("sms-spacing:{user_id}"), spacing.max(1), now)
        .await
    {
        Ok(n) => n > 1 && spacing > 0,
        Err(_) => return store_down(app, req),
    };
    if recent {
        // The seconds left, from the code's own sending time when there is
        // one; the field for that code stays on the page.
        let left = p
            .rec
            .sms
            .as_ref()
            .map(|s| (s.sent_at + spacing - now).max(1));
        let said = match left {
            Some(left) => format!("{}{left}{}", t.sms_wait_before, t.sms_wait_after),
            None => t.sms_too_soon.to_string(),
        };
        return ("sms_too_soon", resend_page(&p, &said));
    }
    let hourly = match app
        .store
        .count_event(&format!("sms-hour:{user_id}"), 3600, now)
        .await
    {
        Ok(n) => n,
        Err(_) => return store_down(app, req),
    };
    if hourly > app.config.two_step.sms_per_hour {
        audit::event(crate::audit::Event::SmsCapped, &p.who(req), "");
        return ("sms_too_many", resend_page(&p, t.sms_too_many));
    }
    let code = crypto::random_code(SMS_CODE_LEN, b"0123456789");
    let lifetime = app.config.two_step.sms_code_lifetime.as_secs();
    p.rec.sms = Some(SmsChallenge {
        phone: phone.clone(),
        code_hash: Some(sms_hash(app, &p.rec.id_hash, &code)),
        sent_at: now,
        expires_at: now + lifetime as i64,
    });
    // Saved before sending: the old code is dead before the new one exists.
    if app.store.put_pending(p.rec.clone()).await.is_err() {
        return store_down(app, req);
    }
    let text =
        sekisho_pages::mail::sms_code(&app.config.service_name, &code, lifetime.div_ceil(60));
    let kind = if stage == Stage::SetUp {
        "set_up"
    } else {
        "verify"
    };
    if sender.send(kind, &phone, &text).await.is_err() {
        audit::event(crate::audit::Event::SmsFailed, &p.who(req), kind);
        return ("sms_failed", resend_page(&p, t.sms_failed));
    }
    audit::event(
        crate::audit::Event::SmsSent,
        &p.who(req),
        &mask_phone(&phone),
    );
    (
        "sms_sent",
        Answer::redirect(&format!("{TWO_STEP}?sent=1", TWO_STEP = paths::TWO_STEP)),
    )
}

/// The stored form of an SMS code: keyed and bound to its pending login.
fn sms_hash(app: &App, pending_hash: &str, code: &str) -> String {
    crypto::keyed_hash(&app.two_step_key, SMS_HASH, &[pending_hash, code])
}

/// POST: the SMS code, at set-up or at a later login.
pub async fn submit_sms(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (p, form) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let stage = p.stage();
    if !matches!(stage, Stage::SetUp | Stage::Verify(TwoStepKind::Sms)) || p.rec.sms.is_none() {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    }
    let attempt = match admit_code(app, req, &p).await {
        Ok(n) => n,
        Err(o) => return o,
    };
    let now = app.clock.now();
    let phone = match normalize_digits(form.get("code"), SMS_CODE_LEN) {
        Some(code) => {
            let hash = sms_hash(app, &p.rec.id_hash, &code);
            match app.store.consume_sms_code(&p.rec.id_hash, &hash, now).await {
                Ok(phone) => phone,
                Err(_) => return store_down(app, req),
            }
        }
        None => None,
    };
    let t = req.lang.texts();
    let Some(phone) = phone else {
        if let Some(o) = wrong_code(app, req, &p, attempt).await {
            return o;
        }
        return (
            "code_wrong",
            sms_code_page(app, req, &p, None, Some(t.two_step_code_wrong)),
        );
    };
    if let Err(o) = code_accepted(app, req, &p).await {
        return o;
    }
    let remember = form.get("remember") == "yes";
    match stage {
        Stage::SetUp => {
            let reg = TwoStepRegistration {
                kind: TwoStepKind::Sms,
                phone: Some(phone),
                totp_secret: None,
                recovery_hash: String::new(),
                registered_at: now,
            };
            finish_setup(app, req, p, reg, remember).await
        }
        _ => {
            let registered = p.user.two_step.as_ref().and_then(|r| r.phone.as_deref());
            if registered != Some(phone.as_str()) {
                return ("two_step_expired", start_over(app, "expired"));
            }
            step_passed(app, req, p, remember, Done::Verified("sms")).await
        }
    }
}

// ---------------------------------------------------------------------
// Authenticator app

/// POST: the app's six digits, at set-up (against the derived secret) or
/// at a later login. A step counts once per user (S23).
pub async fn submit_app(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (p, form) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let stage = p.stage();
    let secret = match stage {
        Stage::SetUp => crate::totp::encode_secret(&setup_secret(app, &p)),
        Stage::Verify(TwoStepKind::Totp) => {
            let stored = p
                .user
                .two_step
                .as_ref()
                .and_then(|r| r.totp_secret.as_deref());
            match stored.and_then(|s| crate::seeds::open(&app.seed_key, &p.user.id, s)) {
                Some(s) => s,
                None => {
                    // Sealed under another key: the seed key was lost or
                    // replaced. The recovery code still works.
                    if stored.is_some() {
                        tracing::warn!("an authenticator seed does not open with the seed key");
                    }
                    return ("two_step_expired", start_over(app, "expired"));
                }
            }
        }
        _ => return ("redirect", Answer::redirect(paths::TWO_STEP)),
    };
    let attempt = match admit_code(app, req, &p).await {
        Ok(n) => n,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let again = |problem: &str| match stage {
        Stage::SetUp => totp_setup_page(app, req, &p, Some(problem)),
        _ => totp_verify_page(app, req, &p, Some(problem)),
    };
    let now = app.clock.now();
    let step = normalize_digits(form.get("code"), 6)
        .and_then(|code| crate::totp::matched_step(&secret, &code, now));
    let Some(step) = step else {
        if let Some(o) = wrong_code(app, req, &p, attempt).await {
            return o;
        }
        return ("code_wrong", again(t.two_step_code_wrong));
    };
    match app.store.accept_totp_step(&p.user.id, step).await {
        Ok(true) => {}
        Ok(false) => {
            audit::event(crate::audit::Event::TwoStepCodeReplayed, &p.who(req), "");
            if let Some(o) = wrong_code(app, req, &p, attempt).await {
                return o;
            }
            return ("code_replayed", again(t.two_step_code_used));
        }
        Err(_) => return store_down(app, req),
    }
    if let Err(o) = code_accepted(app, req, &p).await {
        return o;
    }
    let remember = form.get("remember") == "yes";
    match stage {
        Stage::SetUp => {
            let reg = TwoStepRegistration {
                kind: TwoStepKind::Totp,
                phone: None,
                totp_secret: Some(crate::seeds::seal(&app.seed_key, &p.user.id, &secret)),
                recovery_hash: String::new(),
                registered_at: now,
            };
            finish_setup(app, req, p, reg, remember).await
        }
        _ => {
            // A seed an import or an earlier version left in clear is
            // sealed at its first use (S50).
            let stored = p
                .user
                .two_step
                .as_ref()
                .and_then(|r| r.totp_secret.as_deref());
            if let Some(clear) = stored.filter(|s| !crate::seeds::is_sealed(s)) {
                let sealed = crate::seeds::seal(&app.seed_key, &p.user.id, clear);
                let _ = app
                    .store
                    .replace_totp_secret(&p.user.id, clear, &sealed)
                    .await;
            }
            step_passed(app, req, p, remember, Done::Verified("totp")).await
        }
    }
}

// ---------------------------------------------------------------------
// Recovery code

fn recovery_hash(app: &App, user_id: &str, code: &str) -> String {
    crypto::keyed_hash(&app.two_step_key, RECOVERY_HASH, &[user_id, code])
}

/// POST: a recovery code instead of the second step. It signs in once and
/// resets the registration, in one store step (S27).
pub async fn submit_recovery(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    if let Some(answer) = crate::refusals::throttled(app, req, "recovery") {
        return ("throttled", answer);
    }
    let (p, form) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if !p.may_use_recovery_code() {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    }
    let attempt = match admit_code(app, req, &p).await {
        Ok(n) => n,
        Err(o) => return o,
    };
    let now = app.clock.now();
    let taken = match normalize_recovery_code(form.get("recovery")) {
        Some(code) => {
            let hash = recovery_hash(app, &p.user.id, &code);
            match app
                .store
                .use_recovery_code(&p.rec.id_hash, &hash, now)
                .await
            {
                Ok(taken) => taken,
                Err(_) => return store_down(app, req),
            }
        }
        None => None,
    };
    let Some(rec) = taken else {
        if let Some(o) = wrong_code(app, req, &p, attempt).await {
            return o;
        }
        let t = req.lang.texts();
        return (
            "recovery_wrong",
            recovery_entry_page(app, req, &p, Some(t.recovery_wrong)),
        );
    };
    if let Err(o) = code_accepted(app, req, &p).await {
        return o;
    }
    event("recovery_used");
    audit::event(
        crate::audit::Event::TwoStepRecoveryUsed,
        &p.who(req),
        "registration reset",
    );
    let text = sekisho_pages::mail::sign_in_changed_notice(
        &app.config.service_name,
        &p.user.name,
        "2段階認証の登録",
        &sekisho_pages::mail::format_jst(now),
        "リカバリーコードでログインしたため、2段階認証の登録をリセットしました。次回ログイン時に、2段階認証を再登録してください。",
    );
    app.mailer
        .send_later("two_step_notice", p.user.email.clone(), text);
    complete(app, req, rec, &p.user, false, Done::Recovered).await
}

// ---------------------------------------------------------------------
// Code counting (S24)

/// Counts a code attempt on the user's own counter before it is checked.
/// `Err` when the cap was reached earlier: the account is blocked.
async fn admit_code(app: &Arc<App>, req: &Req, p: &Pending) -> Result<u32, Outcome> {
    match app.attempts.admit_code(&p.user.id, app.clock.now()).await {
        Ok(Admission::Checked(n)) => Ok(n),
        Ok(Admission::Locked) => Err(capped(app, req, p).await),
        Err(_) => Err(store_down(app, req)),
    }
}

/// After a wrong code: the attempt that reaches the cap blocks the account
/// and mails the unblock link, like the password lock.
async fn wrong_code(app: &Arc<App>, req: &Req, p: &Pending, attempt: u32) -> Option<Outcome> {
    event("wrong_code");
    audit::event(crate::audit::Event::TwoStepCodeWrong, &p.who(req), "");
    if !locks_now(attempt, app.attempts.code_rule().threshold) {
        return None;
    }
    password_check::lock(app, &p.user, &p.who(req)).await;
    Some(capped(app, req, p).await)
}

async fn capped(app: &App, req: &Req, p: &Pending) -> Outcome {
    event("capped");
    audit::event(crate::audit::Event::TwoStepCapped, &p.who(req), "");
    let _ = app
        .store
        .take_pending(&p.rec.id_hash, app.clock.now())
        .await;
    ("two_step_locked", start_over(app, "locked"))
}

async fn code_accepted(app: &App, req: &Req, p: &Pending) -> Result<(), Outcome> {
    app.attempts
        .code_passed(&p.user.id)
        .await
        .map_err(|_| store_down(app, req))
}

// ---------------------------------------------------------------------
// Finishing

/// Saves a new registration with a fresh recovery code, which the next
/// page shows until the user ticks "saved" (manual §1-1 ③).
async fn finish_setup(
    app: &Arc<App>,
    req: &Req,
    mut p: Pending,
    mut reg: TwoStepRegistration,
    remember: bool,
) -> Outcome {
    let code = crypto::random_code(RECOVERY_CODE_LEN, RECOVERY_ALPHABET);
    reg.recovery_hash = recovery_hash(app, &p.user.id, &code);
    let kind = reg.kind;
    let phone = reg.phone.clone();
    match app
        .store
        .register_two_step(&p.user.id, p.rec.generation, reg)
        .await
    {
        Ok(()) => {}
        // Reset or set up elsewhere meanwhile: this set-up is void.
        Err(StoreError::Stale) => return ("two_step_expired", start_over(app, "expired")),
        Err(_) => return store_down(app, req),
    }
    p.rec.passed = true;
    p.rec.remember = remember;
    p.rec.sms = None;
    p.rec.recovery_sealed = crypto::seal_short(&p.token, RECOVERY_SEAL, &code);
    if app.store.put_pending(p.rec.clone()).await.is_err() {
        return store_down(app, req);
    }
    event("set_up");
    let detail = match (kind, &phone) {
        (TwoStepKind::Sms, Some(n)) => format!("SMS ({})", mask_phone(n)),
        _ => "Authenticator".to_string(),
    };
    audit::event(crate::audit::Event::TwoStepSetUp, &p.who(req), &detail);
    // A notice for every registration: a changed number never goes
    // unnoticed (S26).
    let text = sekisho_pages::mail::sign_in_changed_notice(
        &app.config.service_name,
        &p.user.name,
        "2段階認証の登録",
        &sekisho_pages::mail::format_jst(app.clock.now()),
        &format!("認証方法: {detail}"),
    );
    app.mailer
        .send_later("two_step_notice", p.user.email.clone(), text);
    ("two_step_set_up", recovery_show_page(app, req, &p, None))
}

/// POST: "リカバリコードを保存しました" ticked — the set-up is complete.
pub async fn submit_saved(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (p, form) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if p.stage() != Stage::Passed {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    }
    if form.get("saved") != "yes" {
        let t = req.lang.texts();
        return (
            "recovery_not_ticked",
            recovery_show_page(app, req, &p, Some(t.recovery_not_ticked)),
        );
    }
    let remember = p.rec.remember;
    step_passed(app, req, p, remember, Done::SetUp).await
}

// ---------------------------------------------------------------------
// A passkey as the second step (S53)

/// The second step has passed: the session starts, unless the tenant's
/// requirement still asks this user to register a passkey first.
pub(super) async fn step_passed(
    app: &Arc<App>,
    req: &Req,
    mut p: Pending,
    remember: bool,
    done: Done,
) -> Outcome {
    if p.rec.passkey != PasskeyDemand::Enrol {
        return take_and_complete(app, req, p, remember, done).await;
    }
    p.rec.passed = true;
    p.rec.remember = remember;
    p.rec.sms = None;
    p.rec.recovery_sealed = None;
    if app.store.put_pending(p.rec).await.is_err() {
        return store_down(app, req);
    }
    ("passkey_enrol_asked", Answer::redirect(paths::TWO_STEP))
}

pub(super) async fn take_and_complete(
    app: &Arc<App>,
    req: &Req,
    p: Pending,
    remember: bool,
    done: Done,
) -> Outcome {
    let rec = match app
        .store
        .take_pending(&p.rec.id_hash, app.clock.now())
        .await
    {
        Ok(Some(r)) => r,
        // Finished by a concurrent request: only one of them signs in.
        Ok(None) => return ("two_step_expired", start_over(app, "expired")),
        Err(_) => return store_down(app, req),
    };
    complete(app, req, rec, &p.user, remember, done).await
}

/// The step is over: the sign-in ends as every other does.
async fn complete(
    app: &Arc<App>,
    req: &Req,
    rec: PendingLogin,
    user: &User,
    remember: bool,
    done: Done,
) -> Outcome {
    let proof = Proof::SecondStep(Stepped {
        done,
        remember,
        generation: rec.generation,
    });
    let sign_in = SignIn {
        user,
        proof,
        route: rec.route,
        menu: rec.menu,
        next: &rec.next,
    };
    crate::flows::sign_in::finish(app, req, sign_in).await
}
