//! Sekisho's pages and mail texts. Templates are askama, checked when the
//! crate compiles; strings come from [`texts`], one table per language.
//! Pages are plain HTML and CSS: no JavaScript is needed for any flow.

pub mod audit_labels;
pub mod mail;
pub mod texts;

use askama::Template;
use sekisho_policy::password::{CharClass, PasswordProblem};
use sekisho_policy::paths;
pub use texts::{Texts, EN, JA};

/// The stylesheet served at `/.sekisho/static/sekisho.css`.
pub const STYLESHEET: &str = include_str!("../templates/sekisho.css");

/// The pages' one script (password visibility, copy and save), inline on
/// every page and allowed by its hash ([`script_hash`]).
pub const SCRIPT: &str = include_str!("../templates/sekisho.js");

/// The languages pages come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the language: an explicit choice (the language-switch cookie)
    /// wins; otherwise the first of Japanese or English in `Accept-Language`
    /// by preference; otherwise Japanese.
    pub fn negotiate(choice: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = choice.and_then(Lang::parse) {
            return l;
        }
        let Some(header) = accept_language else {
            return Lang::Ja;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',').take(20) {
            let mut parts = item.trim().split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "ja" || tag.starts_with("ja-") {
                Lang::Ja
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Ja)
    }
}

/// What every page shares: language, product name, the language switch.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub t: &'static Texts,
    pub service: String,
    /// Link that switches language and comes back to this page.
    pub switch_href: String,
    /// The operator's branding, in this page's language.
    pub brand: std::sync::Arc<Brand>,
}

/// The operator's branding as a page shows it, in one language.
#[derive(Debug, Clone, Default)]
pub struct Brand {
    /// A logo is served at `/.sekisho/static/logo`.
    pub logo: bool,
    /// A favicon is served at `/.sekisho/static/favicon`.
    pub favicon: bool,
    /// A primary colour is served at `/.sekisho/static/brand.css`.
    pub colour: bool,
    /// The footer's links: (url, label).
    pub footer: Vec<(String, String)>,
    pub copyright: Option<String>,
    /// The お問い合わせ link, offered on error pages too.
    pub contact: Option<String>,
}

impl Chrome {
    /// `here` is the current path and query, to come back to after switching.
    pub fn new(lang: Lang, service: &str, here: &str) -> Chrome {
        let t = lang.texts();
        let back: String = url_encode(here);
        Chrome {
            t,
            service: service.to_string(),
            switch_href: format!("{}?to={}&next={back}", paths::LANGUAGE, t.switch_to),
            brand: std::sync::Arc::default(),
        }
    }

    /// The same chrome with the operator's branding.
    pub fn with_brand(mut self, brand: std::sync::Arc<Brand>) -> Chrome {
        self.brand = brand;
        self
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub c: &'a Chrome,
    /// ログイン, or 認証・契約情報変更ログイン for the account menu.
    pub title: &'a str,
    pub intro: Option<&'a str>,
    /// Where the form posts.
    pub action: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub next: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub show_forgot_link: bool,
    pub show_menu_link: bool,
    /// The account is blocked: offer to send the unblock mail again.
    pub show_resend_unlock: bool,
    /// OpenID providers' buttons: (provider id, label).
    pub providers: Vec<(&'a str, String)>,
    /// `login` or `menu`: where a provider's sign-in leads.
    pub purpose: &'a str,
    /// The link to the Active Directory connection-ID prompt, when offered.
    pub ad_href: Option<String>,
    pub ad_label: String,
    /// Passkeys are offered here: the button (shown by the script where
    /// the browser has WebAuthn) and autofill in the email field.
    pub passkey: bool,
    /// The email field's passkey autofill starts by itself (off on a page
    /// that answers a refused way in).
    pub passkey_autofill: bool,
}

/// Asks for the address a reset link should go to.
#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

/// The new-password form of a reset link.
#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub ticket: &'a str,
    pub problems: Vec<String>,
}

/// The unblock link's page: one button, so that opening the link (or a mail
/// scanner fetching it) changes nothing.
#[derive(Template)]
#[template(path = "unlock.html")]
pub struct UnlockPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub ticket: &'a str,
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub ticket: &'a str,
    pub email: &'a str,
    pub problems: Vec<String>,
    /// OpenID providers' buttons: (provider id, label).
    pub providers: Vec<(&'a str, String)>,
    /// The tenant's Active Directory connection ID and the button's label,
    /// when the tenant set one up.
    pub ad: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "register_confirm.html")]
pub struct RegisterConfirmPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub ticket: &'a str,
    pub email: &'a str,
    /// The address's label: 管理者メールアドレス for the contract holder and
    /// administrators, メールアドレス for everyone else.
    pub email_label: &'a str,
    pub method_label: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
}

/// One input of a [`FormPage`].
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub label: &'a str,
    pub name: &'a str,
    /// `email`, `password` or `text`.
    pub kind: &'a str,
    pub value: String,
    pub autocomplete: &'a str,
}

/// Steps to follow, and lines to copy (one per line), e.g. the redirect
/// URIs to register at an ADFS.
#[derive(Debug, Clone)]
pub struct Guide<'a> {
    pub heading: &'a str,
    pub steps: Vec<&'a str>,
    pub block_label: &'a str,
    pub lines: Vec<String>,
}

/// A choice of a [`FormPage`], shown as radio buttons (the manual's 2段階認証設定
/// does; a small set reads better on a phone): (value, label, checked).
#[derive(Debug, Clone)]
pub struct Select<'a> {
    pub label: &'a str,
    pub name: &'a str,
    pub options: Vec<(&'a str, &'a str, bool)>,
}

/// A one-button form: where it posts, its hidden fields and its label.
#[derive(Debug, Clone)]
pub struct ExtraForm<'a> {
    pub action: &'a str,
    pub hidden: Vec<(&'a str, String)>,
    pub label: String,
}

/// The shape most gateway forms share: a title, some sentences, facts to
/// confirm, problems, inputs, one button and a way back.
#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage<'a> {
    /// The one field the problems are about, marked invalid and focused;
    /// `None`: the problems concern the form, every field is marked.
    pub invalid: Option<&'a str>,
    pub c: &'a Chrome,
    pub title: &'a str,
    pub intro: Vec<&'a str>,
    pub facts: Vec<(&'a str, String)>,
    pub problems: Vec<String>,
    pub action: &'a str,
    pub csrf: &'a str,
    pub hidden: Vec<(&'a str, String)>,
    pub fields: Vec<Field<'a>>,
    pub select: Option<Select<'a>>,
    /// A required checkbox: (name, label).
    pub checkbox: Option<(&'a str, &'a str)>,
    /// Further one-button forms under the main one (e.g. providers).
    pub extra: Vec<ExtraForm<'a>>,
    /// Show the password rule above the inputs.
    pub rule: bool,
    pub submit: &'a str,
    pub back: Option<(&'a str, &'a str)>,
    /// A set-up guide under the form: numbered steps and a copyable block.
    pub guide: Option<Guide<'a>>,
}

/// 認証・契約情報変更メニュー: only the items the matrix allows.
#[derive(Template)]
#[template(path = "menu.html")]
pub struct MenuPage<'a> {
    pub c: &'a Chrome,
    /// Who is signed in, and in which contract.
    pub who: &'a str,
    pub tenant_id: &'a str,
    /// The user's password is on the operator's breach list (S64): the
    /// menu asks for a new one first.
    pub password_breached: bool,
    pub change_items: Vec<(&'a str, &'a str)>,
    pub settings_items: Vec<(&'a str, &'a str)>,
    pub other_items: Vec<(&'a str, &'a str)>,
}

/// 設定 → SCIM: the tenant's tokens, the one just made (shown once), and
/// the form for another.
#[derive(Template)]
#[template(path = "scim.html")]
pub struct ScimPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    /// The URL a directory is given (its "Tenant URL").
    pub base_url: String,
    pub rows: Vec<ScimTokenRow>,
    /// A token just made or rotated: shown this once.
    pub shown: Option<String>,
    pub problems: Vec<String>,
    pub typed_name: String,
    pub typed_networks: String,
}

/// One SCIM token as the page lists it.
#[derive(Debug, Clone)]
pub struct ScimTokenRow {
    pub id: String,
    pub name: String,
    pub created: String,
    /// The allowed networks, or 「制限なし」.
    pub networks: String,
}

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub handle: String,
    /// Readable: 「Chrome（Windows）」.
    pub browser: String,
    /// The User-Agent as sent, shown on demand.
    pub agent: String,
    pub address: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub rows: Vec<SessionRow>,
}

/// The one input of a [`TwoStepPage`] form (phone number or code).
#[derive(Debug, Clone)]
pub struct CodeForm<'a> {
    pub action: &'a str,
    pub label: &'a str,
    pub name: &'a str,
    /// `text` or `tel`.
    pub kind: &'a str,
    /// `numeric`, `tel` or `text`: the keyboard phones show.
    pub inputmode: &'a str,
    pub autocomplete: &'a str,
    pub value: String,
    /// Offer "remember this browser" with it.
    pub remember: bool,
    /// The button's text: the manual's 「>」.
    pub submit: &'a str,
    /// What the button does, for screen readers (次へ, 認証コードを送信).
    pub submit_name: &'a str,
}

/// Every page of the second step: set-up (SMS or authenticator app, with
/// its QR code), verification, the recovery code shown once or typed in.
#[derive(Template)]
#[template(path = "two_step.html")]
pub struct TwoStepPage<'a> {
    pub c: &'a Chrome,
    /// Whose login this is: every step after the password says so, with
    /// a way to start again as someone else.
    pub who: &'a str,
    /// The login can still be left (not once its recovery code is shown).
    pub can_switch: bool,
    pub title: &'a str,
    pub intro: Vec<&'a str>,
    pub notice: Option<&'a str>,
    pub problems: Vec<String>,
    pub facts: Vec<(&'a str, String)>,
    pub csrf: &'a str,
    /// An inline SVG the gateway drew (never user input).
    pub qr_svg: Option<String>,
    /// The key as base32, and in groups of four for typing in.
    pub secret: Option<String>,
    pub secret_grouped: Option<String>,
    /// The `otpauth://` URI: on a phone, the app opens from it.
    pub otpauth: Option<String>,
    /// Shown with the "saved" checkbox that continues.
    pub recovery_code: Option<String>,
    pub form: Option<CodeForm<'a>>,
    /// "Remember this browser for 30 days", from the configuration.
    pub remember_label: String,
    /// Other actions, each a POST button: (action, label).
    pub buttons: Vec<(&'a str, &'a str)>,
    pub note: Option<&'a str>,
    pub links: Vec<(&'a str, &'a str)>,
    /// The user has passkeys: the passkey button comes first.
    pub passkey_step: bool,
    /// The tenant requires a passkey and the user has none: register one.
    pub passkey_enrol: bool,
}

/// One of the user's passkeys in the account menu.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
    /// Synced (backed up) across the user's devices.
    pub synced: bool,
}

/// The account menu's passkeys: the list, rename and remove, and the
/// registration button (shown by the script where WebAuthn works).
#[derive(Template)]
#[template(path = "passkeys.html")]
pub struct PasskeysPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub rows: Vec<PasskeyRow>,
    pub notice: Option<&'a str>,
    pub problem: Option<&'a str>,
    /// The session is fresh enough to register; else a sign-in link.
    pub can_register: bool,
    pub full: bool,
}

/// The browsers a user asked to remember, with revoke buttons.
#[derive(Template)]
#[template(path = "trusted_browsers.html")]
pub struct TrustedBrowsersPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    /// `address` holds when it was remembered, `last_seen` its last use.
    pub rows: Vec<SessionRow>,
}

/// One user in the admin console.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: &'static str,
    pub method: &'static str,
    pub two_step: &'static str,
    pub last_login: String,
    pub locked: bool,
}

/// The console's user list: search, filter, order and page.
#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct AdminUsersPage<'a> {
    pub c: &'a Chrome,
    pub rows: Vec<UserRow>,
    pub search: String,
    /// (value, label, selected) for the status filter and the order.
    pub statuses: Vec<(&'static str, &'static str, bool)>,
    pub sorts: Vec<(&'static str, &'static str, bool)>,
    /// Users that match, in all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

/// One row of the console's 監査ログ.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub time: String,
    pub event: String,
    pub user: String,
    pub route: &'static str,
    pub client: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin_events.html")]
pub struct AdminEventsPage<'a> {
    pub c: &'a Chrome,
    pub rows: Vec<AuditRow>,
    pub filters: AuditFilters,
    pub keep_days: u64,
    /// The next (older) page, and the way back to the newest (the
    /// filters kept).
    pub older_href: Option<String>,
    pub newest_href: Option<String>,
}

/// The 監査ログ's filters as asked.
#[derive(Debug, Clone, Default)]
pub struct AuditFilters {
    /// Part of a user's name or address.
    pub user: String,
    /// (event name, label, selected), by label.
    pub events: Vec<(String, String, bool)>,
    /// JST days, YYYY-MM-DD.
    pub from: String,
    pub to: String,
    /// (page size, selected).
    pub sizes: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
pub struct AdminUserPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub user: UserRow,
    /// The tenant's directory owns the user (SCIM): name, address, role
    /// and removal are its, and the page says so.
    pub provisioned: bool,
    /// The role can change: not the contract holder, not oneself.
    pub can_change_role: bool,
    /// The user is an administrator now (which radio is checked).
    pub is_admin: bool,
    /// There is a two-step registration to reset.
    pub can_reset_two_step: bool,
    pub invited: bool,
    pub locked: bool,
    /// The holder's own address and method change through their menu.
    pub can_send_change_link: bool,
    pub can_remove: bool,
    /// How many passkeys the user has registered.
    pub passkeys: usize,
    pub problems: Vec<String>,
    pub new_email: String,
}

/// A page with a title, a sentence and at most one link: errors, notices,
/// completion pages.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub c: &'a Chrome,
    /// Whose sign-in this page is about, when one was under way (the line
    /// error after the password).
    pub who: Option<&'a str>,
    pub title: &'a str,
    pub text: &'a str,
    /// Points to check, shown as a list under the text.
    pub checks: Vec<&'a str>,
    /// The ways on (href, label), the main one first: no page is a dead
    /// end.
    pub links: Vec<(&'a str, &'a str)>,
    /// An error's reference, which support finds in the logs.
    pub reference: Option<&'a str>,
}

/// A confirmation step before an action that cannot be taken back, as the
/// manual's OK/キャンセル pages: it names what will happen, and sends the
/// same form again with `confirmed=yes`.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub c: &'a Chrome,
    pub title: &'a str,
    pub text: &'a str,
    /// What the action is about (label, value).
    pub facts: Vec<(&'a str, String)>,
    /// What else will happen, said plainly.
    pub consequences: Vec<&'a str>,
    pub action: &'a str,
    pub csrf: &'a str,
    /// The form's fields to send again (name, value).
    pub hidden: Vec<(&'a str, String)>,
    pub confirm_label: &'a str,
    pub cancel_href: &'a str,
    /// The confirm button warns (removal, line only).
    pub danger: bool,
}

/// 回線認証 in the admin console: the access route and the line numbers.
#[derive(Template)]
#[template(path = "line_settings.html")]
pub struct LineSettingsPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub line_only: bool,
    /// One number per line of the text area.
    pub lines: String,
    pub notice: Option<&'a str>,
    pub problems: Vec<String>,
}

/// アクセス経路設定 and its confirmation: radio choices or the facts.
#[derive(Template)]
#[template(path = "access_route.html")]
pub struct AccessRoutePage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    /// `None`: the choice screen; `Some(new)`: the confirmation of `new`.
    pub confirm: Option<&'a str>,
    pub line_only: bool,
    pub facts: Vec<(&'a str, String)>,
    pub notes: Vec<&'a str>,
    pub problems: Vec<String>,
}

/// Renders any page; a template that fails to render is a bug, so the
/// fallback is a plain sentence rather than a panic on the request path.
pub fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|_| {
        "<!doctype html><title>Error</title><p>Page could not be shown.</p>".to_string()
    })
}

/// Title and sentence of the error page for `status`.
pub fn error_texts(t: &'static Texts, status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (t.error_400_title, t.error_400_text),
        401 => (t.error_401_title, t.error_401_text),
        403 => (t.error_403_title, t.error_403_text),
        404 => (t.error_404_title, t.error_404_text),
        405 => (t.error_405_title, t.error_405_text),
        413 => (t.error_413_title, t.error_413_text),
        421 => (t.error_421_title, t.error_421_text),
        429 => (t.error_429_title, t.error_429_text),
        502 => (t.error_502_title, t.error_502_text),
        503 => (t.error_503_title, t.error_503_text),
        _ => (t.error_500_title, t.error_500_text),
    }
}

/// Says each password problem in words.
/// A time as a page in `lang` shows it (Japan's time either way, which
/// the storage service and its users keep).
pub fn format_time(unix: i64, lang: Lang) -> String {
    match lang {
        Lang::Ja => mail::format_jst(unix),
        Lang::En => mail::format_jst_en(unix),
    }
}

pub fn password_problems(t: &'static Texts, problems: &[PasswordProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| match p {
            PasswordProblem::Empty => t.problem_empty.to_string(),
            PasswordProblem::TooShort => t.problem_too_short.to_string(),
            PasswordProblem::TooLong => t.problem_too_long.to_string(),
            PasswordProblem::TooFewClasses { needed, missing } => {
                let names: Vec<&str> = missing
                    .iter()
                    .map(|c| match c {
                        CharClass::Upper => t.class_upper,
                        CharClass::Lower => t.class_lower,
                        CharClass::Digit => t.class_digit,
                        CharClass::Symbol => t.class_symbol,
                    })
                    .collect();
                // 「あと1種類（英大文字・数字・記号のうち）…」: what is still
                // needed, not every class that is missing.
                format!(
                    "{}{needed}{}{}{}",
                    t.problem_classes_before,
                    t.problem_classes_middle,
                    names.join(t.class_separator),
                    t.problem_classes_after
                )
            }
            PasswordProblem::Common => t.problem_common.to_string(),
            PasswordProblem::Breached => t.problem_breached.to_string(),
            PasswordProblem::Mismatch => t.problem_mismatch.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {

    /// Issue 32 (7): one spelling each. The manual pictures the checkbox
    /// 「リカバリコードを保存しました」, which keeps its own.
    #[test]
    fn one_spelling_each() {
        for text in JA.all() {
            assert!(
                !text.contains("ユーザ") || !text.replace("ユーザー", "").contains("ユーザ"),
                "{text}"
            );
            assert!(
                !text.contains("リカバリコード") || text.contains("リカバリコードを保存しました"),
                "{text}"
            );
            assert!(
                !text.contains("6桁のパスワード") && !text.contains("6文字"),
                "{text}"
            );
        }
    }

    #[test]
    fn english_pages_write_english_times() {
        // 2026-11-25 06:04 UTC is 15:04 in Japan.
        let at = 1_795_586_640;
        assert_eq!(format_time(at, Lang::En), "2026-11-25 15:04 JST");
        assert!(format_time(at, Lang::Ja).starts_with("2026年11月25日 15時04分"));
    }
    use super::*;

    fn chrome(lang: Lang) -> Chrome {
        Chrome::new(
            lang,
            "おまかせクラウドストレージ",
            "/.sekisho/login?next=/a b",
        )
    }

    #[test]
    fn language_negotiation() {
        assert_eq!(Lang::negotiate(None, None), Lang::Ja);
        assert_eq!(Lang::negotiate(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("fr, en;q=0.5, ja;q=0.8")),
            Lang::Ja
        );
        assert_eq!(Lang::negotiate(Some("en"), Some("ja")), Lang::En);
        assert_eq!(Lang::negotiate(Some("xx"), Some("de")), Lang::Ja);
    }

    #[test]
    fn login_page_escapes_and_labels() {
        let c = chrome(Lang::Ja);
        let html = render(&LoginPage {
            c: &c,
            title: JA.login_title,
            intro: None,
            action: "/.sekisho/login",
            csrf: "tok",
            email: "\"><script>x</script>",
            next: "/files",
            error: Some(JA.login_failed),
            notice: None,
            show_forgot_link: false,
            show_menu_link: false,
            show_resend_unlock: false,
            providers: Vec::new(),
            purpose: "login",
            ad_href: Some("/.sekisho/ad/start?purpose=login&next=%2Ffiles".into()),
            ad_label: "Active Directoryアカウントでログイン".into(),
            passkey: true,
            passkey_autofill: true,
        });
        assert!(html.contains("<label for=\"email\">メールアドレス</label>"));
        // Passkeys: autofill in the email field, and a button the script
        // shows only where the browser has WebAuthn.
        assert!(
            html.contains("autocomplete=\"username webauthn\""),
            "{html}"
        );
        assert!(html.contains("data-passkey=\"login\""));
        assert!(html.contains("data-options=\"/.sekisho/passkey/login/options\" hidden>"));
        assert!(
            html.contains(">Active Directoryアカウントでログイン</a>"),
            "{html}"
        );
        assert!(!html.contains("<script>x"));
        assert!(html.contains("lang=\"ja\""));
        assert!(
            html.contains("/.sekisho/lang?to=en&#38;next=/.sekisho/login%3Fnext%3D/a%20b"),
            "{html}"
        );
        assert!(!html.contains("/.sekisho/forgot"), "no dead links");
    }

    #[test]
    fn password_problems_in_words() {
        let p = password_problems(
            &JA,
            &[PasswordProblem::TooFewClasses {
                needed: 1,
                missing: vec![CharClass::Upper, CharClass::Digit, CharClass::Symbol],
            }],
        );
        assert_eq!(
            p,
            vec!["あと1種類（英大文字・数字・記号のうち）の文字を含めてください。"]
        );
        let p = password_problems(&JA, &[PasswordProblem::Empty]);
        assert_eq!(p, vec!["パスワードを入力してください。"]);
    }

    #[test]
    fn every_error_status_has_texts() {
        for s in [400, 401, 403, 404, 405, 413, 421, 429, 500, 502, 503] {
            let (title, text) = error_texts(&EN, s);
            assert!(!title.is_empty() && !text.is_empty());
        }
    }
}
