//! SCIM's Users (RFC 7643 §4.1, RFC 7644 §3): a tenant's directory
//! creates, reads, replaces, patches and deletes its users (S65).
//!
//! A user created here is invited as the console invites one: the
//! invitation mail goes out and the person registers with the tenant's way
//! in (a password, a provider, or the tenant's Active Directory by its
//! connection ID). From then on the directory owns the name, the address
//! (the login ID), the role (through Groups) and whether the user may sign
//! in: `active: false` ends every session at once, on every gateway (the
//! store's change notices), and refuses sign-in. The contract holder is
//! never shown to, changed by or removed by a directory.

use super::scim_api::{
    field, list_of, patch_operations, refused, unavailable, users, Query, ScimCall,
};
use crate::audit::Event;
use crate::flows::{forget_all, Outcome};
use crate::scim::document;
use crate::store::{DirectoryChange, Provisioning, StoreError, User};
use sekisho_policy::email::validate_email;
use sekisho_policy::model::Role;
use sekisho_policy::scim::{
    datetime, loose_bool, parse_patch_path, Equality, FilterValue, PatchPath, USER_SCHEMA,
};
use sekisho_policy::ticket::TicketPurpose;
use serde_json::{json, Value};

/// The attribute paths a Users filter may compare.
pub const FILTERABLE: &[&str] = &[
    "id",
    "username",
    "externalid",
    "emails",
    "emails.value",
    "emails.type",
    "displayname",
    "active",
];

/// Attributes of the core User schema, and its enterprise extension, that
/// a directory may send but this gateway does not keep: accepted and
/// ignored, so that a directory's default mapping works. Any other name is
/// refused as `invalidValue` / `invalidPath`.
const NOT_KEPT: &[&str] = &[
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "password",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509certificates",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
];

/// Read-only attributes a client may echo back: ignored.
const READ_ONLY: &[&str] = &["id", "meta", "groups", "schemas"];

/// What a directory says of a user, before it is checked and applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Draft {
    user_name: Option<String>,
    external_id: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    email_type: Option<String>,
    email_primary: Option<bool>,
    active: bool,
}

impl Draft {
    /// A user as the directory sees them now (a user the console invited
    /// has their address as `userName`).
    fn of(user: &User) -> Draft {
        match &user.provisioning {
            Some(p) => Draft {
                user_name: Some(p.user_name.clone()),
                external_id: p.external_id.clone(),
                given_name: p.given_name.clone(),
                family_name: p.family_name.clone(),
                display_name: p.display_name.clone(),
                email: Some(user.email.clone()),
                email_type: p.email_type.clone(),
                email_primary: p.email_primary,
                active: p.active,
            },
            None => Draft {
                user_name: Some(user.email.clone()),
                display_name: Some(user.name.clone()),
                email: Some(user.email.clone()),
                email_type: Some("work".into()),
                email_primary: Some(true),
                active: true,
                ..Draft::default()
            },
        }
    }

    /// A whole user from a POST or PUT body (RFC 7644 §3.3, §3.5.1).
    fn from_body(body: &Value) -> Result<Draft, Outcome> {
        if let Some(schemas) = field(body, "schemas") {
            let named = schemas
                .as_array()
                .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(USER_SCHEMA)));
            if !named {
                return Err(invalid_value("schemas must name the User schema"));
            }
        }
        let mut draft = Draft {
            active: true,
            ..Draft::default()
        };
        for (name, value) in body.as_object().into_iter().flatten() {
            draft.set(&name.to_ascii_lowercase(), None, value)?;
        }
        Ok(draft)
    }

    /// Sets one attribute (`sub`: a sub-attribute of `name` or `emails`).
    fn set(&mut self, name: &str, sub: Option<&str>, value: &Value) -> Result<(), Outcome> {
        match (name, sub) {
            ("username", None) => self.user_name = Some(text(value, "userName")?),
            ("externalid", None) => self.external_id = optional_text(value, "externalId")?,
            ("displayname", None) => self.display_name = optional_text(value, "displayName")?,
            ("active", None) => {
                self.active = match value {
                    Value::Bool(b) => *b,
                    Value::String(s) => {
                        loose_bool(s).ok_or_else(|| invalid_value("active is true or false"))?
                    }
                    _ => return Err(invalid_value("active is true or false")),
                }
            }
            ("name", None) => {
                let Value::Object(_) = value else {
                    return Err(invalid_value("name is an object"));
                };
                self.given_name = None;
                self.family_name = None;
                for (k, v) in value.as_object().into_iter().flatten() {
                    self.set("name", Some(&k.to_ascii_lowercase()), v)?;
                }
            }
            ("name", Some("givenname")) => self.given_name = optional_text(value, "givenName")?,
            ("name", Some("familyname")) => self.family_name = optional_text(value, "familyName")?,
            ("name", Some(_)) => {}
            ("emails", None) => self.set_emails(value)?,
            ("emails", Some("value")) => self.email = Some(text(value, "emails.value")?),
            ("emails", Some("type")) => self.email_type = optional_text(value, "emails.type")?,
            ("emails", Some("primary")) => self.email_primary = value.as_bool(),
            ("emails", Some(_)) => {}
            (n, _) if READ_ONLY.contains(&n) || NOT_KEPT.contains(&n) => {}
            _ => return Err(invalid_value("the User schema has no such attribute")),
        }
        Ok(())
    }

    /// `emails`: the primary address, else the first, becomes the login ID.
    fn set_emails(&mut self, value: &Value) -> Result<(), Outcome> {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![value],
            _ => return Err(invalid_value("emails is a list of addresses")),
        };
        let chosen = items
            .iter()
            .find(|e| field(e, "primary").and_then(Value::as_bool) == Some(true))
            .or(items.first());
        match chosen {
            Some(e) => {
                self.email = Some(text(
                    field(e, "value").unwrap_or(&Value::Null),
                    "emails.value",
                )?);
                self.email_type = field(e, "type").and_then(Value::as_str).map(str::to_string);
                self.email_primary = field(e, "primary").and_then(Value::as_bool);
            }
            None => {
                self.email = None;
                self.email_type = None;
                self.email_primary = None;
            }
        }
        Ok(())
    }

    /// Removes what a PATCH `remove` names (RFC 7644 §3.5.2.2).
    fn remove(&mut self, path: &PatchPath) -> Result<(), Outcome> {
        match (path.attribute.as_str(), path.sub_attribute.as_deref()) {
            ("externalid", None) => self.external_id = None,
            ("displayname", None) => self.display_name = None,
            ("name", None) => {
                self.given_name = None;
                self.family_name = None;
            }
            ("name", Some("givenname")) => self.given_name = None,
            ("name", Some("familyname")) => self.family_name = None,
            ("emails", Some("type")) => self.email_type = None,
            ("emails", Some("primary")) => self.email_primary = None,
            ("username" | "emails" | "active", _) => {
                return Err(refused(
                    400,
                    Some("mutability"),
                    "userName, emails and active are required here",
                ))
            }
            (n, _) if READ_ONLY.contains(&n) || NOT_KEPT.contains(&n) => {}
            _ => return Err(refused(400, Some("invalidPath"), "no such attribute")),
        }
        Ok(())
    }

    /// Applies a PATCH request's operations in order (RFC 7644 §3.5.2),
    /// with Entra ID's spellings: `Replace`, `"False"`, a value filter in
    /// the path.
    fn patch(&mut self, body: &Value) -> Result<(), Outcome> {
        let ops = patch_operations(body)?;
        for op in ops {
            let kind = field(op, "op").and_then(Value::as_str).unwrap_or("");
            let raw_path = field(op, "path").and_then(Value::as_str);
            if raw_path.is_some_and(is_enterprise) {
                continue;
            }
            let path = match raw_path {
                Some(p) => {
                    Some(parse_patch_path(p).map_err(|e| refused(400, Some("invalidPath"), e.0))?)
                }
                None => None,
            };
            let value = field(op, "value").unwrap_or(&Value::Null);
            match (kind.to_ascii_lowercase().as_str(), path) {
                ("add" | "replace", None) => {
                    let Value::Object(attrs) = value else {
                        return Err(invalid_value("without a path, the value is an object"));
                    };
                    for (k, v) in attrs.iter().filter(|(k, _)| !is_enterprise(k)) {
                        self.set_path(
                            &parse_patch_path(k)
                                .map_err(|e| refused(400, Some("invalidPath"), e.0))?,
                            v,
                        )?;
                    }
                }
                ("add" | "replace", Some(path)) => self.set_path(&path, value)?,
                ("remove", Some(path)) => self.remove(&path)?,
                ("remove", None) => {
                    return Err(refused(400, Some("noTarget"), "remove needs a path"))
                }
                _ => return Err(invalid_value("op is add, remove or replace")),
            }
        }
        Ok(())
    }

    /// `add` / `replace` at a path; a value filter on `emails` must match
    /// the one address kept (or it becomes that address's label).
    fn set_path(&mut self, path: &PatchPath, value: &Value) -> Result<(), Outcome> {
        if let Some(filter) = &path.value_filter {
            if path.attribute != "emails" {
                return Err(refused(
                    400,
                    Some("invalidPath"),
                    "only emails take a filter",
                ));
            }
            self.match_email(filter)?;
            return match path.sub_attribute.as_deref() {
                Some(sub) => self.set("emails", Some(sub), value),
                None => self.set_emails(value),
            };
        }
        self.set(&path.attribute, path.sub_attribute.as_deref(), value)
    }

    /// `emails[type eq "work"]`: the kept address answers for every type
    /// (one address is kept), taking the type named.
    fn match_email(&mut self, filter: &[Equality]) -> Result<(), Outcome> {
        for e in filter {
            match (e.attribute.as_str(), &e.value) {
                ("type", FilterValue::Text(t)) => self.email_type = Some(t.clone()),
                ("primary", FilterValue::Bool(_)) => {}
                ("value", FilterValue::Text(v))
                    if self
                        .email
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(v)) => {}
                _ => {
                    return Err(refused(
                        400,
                        Some("noTarget"),
                        "no address matches the filter",
                    ))
                }
            }
        }
        Ok(())
    }

    /// The change a checked draft makes; `Err` names what is wrong.
    fn change(self, client_token: &str) -> Result<DirectoryChange, Outcome> {
        let user_name = self
            .user_name
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| invalid_value("userName is required"))?;
        let address = self
            .email
            .clone()
            .or_else(|| validate_email(&user_name).ok());
        let email = address
            .as_deref()
            .map(validate_email)
            .ok_or_else(|| {
                invalid_value("a user needs an address: emails, or a userName that is one")
            })?
            .map_err(|_| invalid_value("emails.value is not a usable address"))?;
        let formed = [self.family_name.as_deref(), self.given_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = [self.display_name.as_deref(), Some(formed.as_str())]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|n| crate::admin::usable_name(n))
            .unwrap_or(&email)
            .to_string();
        Ok(DirectoryChange {
            name,
            email,
            role: None,
            provisioning: Provisioning {
                external_id: self.external_id,
                user_name: user_name.trim().to_string(),
                active: self.active,
                by: client_token.to_string(),
                given_name: self.given_name,
                family_name: self.family_name,
                display_name: self.display_name,
                email_type: self.email_type,
                email_primary: self.email_primary,
            },
        })
    }
}

/// The enterprise extension's attributes (department, manager, …): not
/// kept, so accepted and ignored wherever they are named.
fn is_enterprise(path: &str) -> bool {
    const URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user";
    path.get(..URN.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(URN))
}

fn invalid_value(detail: &str) -> Outcome {
    refused(400, Some("invalidValue"), detail)
}

fn text(value: &Value, name: &str) -> Result<String, Outcome> {
    match value {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 256 => Ok(s.clone()),
        _ => Err(invalid_value(&format!("{name} is text of 1 to 256 bytes"))),
    }
}

fn optional_text(value: &Value, name: &str) -> Result<Option<String>, Outcome> {
    match value {
        Value::Null => Ok(None),
        v => text(v, name).map(Some),
    }
}

/// The group a role puts a user in.
pub fn group_of(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Admin | Role::ContractHolder => ("admins", "管理者"),
        Role::User => ("users", "一般"),
    }
}

/// A user as SCIM shows them.
pub fn resource(call: &ScimCall<'_>, user: &User) -> Value {
    let d = Draft::of(user);
    let (group, display) = group_of(user.role);
    let mut email = json!({ "value": user.email });
    if let Some(t) = &d.email_type {
        email["type"] = json!(t);
    }
    if let Some(p) = d.email_primary {
        email["primary"] = json!(p);
    }
    let mut r = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": d.user_name,
        "emails": [email],
        "active": d.active,
        "groups": [{
            "value": group,
            "display": display,
            "$ref": call.location("Groups", group),
        }],
        "meta": {
            "resourceType": "User",
            "created": datetime(user.created_at),
            "lastModified": datetime(user.created_at),
            "location": call.location("Users", &user.id),
        },
    });
    if let Some(x) = &d.external_id {
        r["externalId"] = json!(x);
    }
    if let Some(x) = &d.display_name {
        r["displayName"] = json!(x);
    }
    let mut name = serde_json::Map::new();
    if let Some(x) = &d.given_name {
        name.insert("givenName".into(), json!(x));
    }
    if let Some(x) = &d.family_name {
        name.insert("familyName".into(), json!(x));
    }
    if !name.is_empty() {
        r["name"] = Value::Object(name);
    }
    r
}

/// One of them, by id; anyone else (another tenant's, the holder) is 404.
async fn user(call: &ScimCall<'_>, id: &str) -> Result<User, Outcome> {
    let found = match call.app.store.get_user(id).await {
        Ok(u) => u,
        Err(_) => return Err(unavailable()),
    };
    found
        .filter(|u| u.tenant_id == call.client.tenant.id && u.role != Role::ContractHolder)
        .ok_or_else(|| refused(404, None, "no such user"))
}

/// GET `Users` and POST `Users/.search`.
pub async fn list(call: &ScimCall<'_>, query: Query) -> Outcome {
    let each = |call: &ScimCall<'_>, all: &[User]| all.iter().map(|u| resource(call, u)).collect();
    list_of(call, query, FILTERABLE, each).await
}

/// GET `Users/{id}`.
pub async fn get(call: &ScimCall<'_>, id: &str) -> Outcome {
    match user(call, id).await {
        Ok(u) => (
            "scim_user",
            document(200, &query_projection(call, resource(call, &u))),
        ),
        Err(o) => o,
    }
}

fn query_projection(call: &ScimCall<'_>, r: Value) -> Value {
    super::scim_api::project(
        r,
        call.req.query_param("attributes").as_deref(),
        call.req.query_param("excludedAttributes").as_deref(),
    )
}

/// A `userName` another of the tenant's users has (case-insensitive).
async fn user_name_taken(
    call: &ScimCall<'_>,
    name: &str,
    not: Option<&str>,
) -> Result<bool, Outcome> {
    let all = users(call).await?;
    Ok(all.iter().any(|u| {
        Some(u.id.as_str()) != not
            && Draft::of(u)
                .user_name
                .is_some_and(|n| n.to_lowercase() == name.to_lowercase())
    }))
}

fn conflict() -> Outcome {
    refused(
        409,
        Some("uniqueness"),
        "userName or the address is already in use",
    )
}

/// POST `Users`: the user is invited as the console invites, as 一般.
pub async fn create(call: &mut ScimCall<'_>) -> Outcome {
    let body = match call.body().await {
        Ok(b) => b,
        Err(o) => return o,
    };
    let change = match Draft::from_body(&body).and_then(|d| d.change(&call.client.token_name)) {
        Ok(c) => c,
        Err(o) => return o,
    };
    match user_name_taken(call, &change.provisioning.user_name, None).await {
        Ok(false) => {}
        Ok(true) => return conflict(),
        Err(o) => return o,
    }
    let app = call.app;
    let now = app.clock.now();
    let mut user = crate::admin::invited_user(
        &call.client.tenant.id,
        change.email,
        change.name,
        Role::User,
        now,
    );
    user.provisioning = Some(change.provisioning);
    let (token, ticket) = crate::tickets::issue(now, &user.id, TicketPurpose::Invitation, None);
    match app.store.create_invited_user(user.clone(), ticket).await {
        Ok(()) => {}
        Err(StoreError::EmailTaken | StoreError::IdentityTaken) => return conflict(),
        Err(_) => return unavailable(),
    }
    if crate::flows::admin_console::mail_invitation(app, &user, &token)
        .await
        .is_err()
    {
        return unavailable();
    }
    call.audit(Event::ScimUserCreated, &format!("user={}", user.id));
    let r = resource(call, &user);
    let location = call.location("Users", &user.id);
    (
        "scim_created",
        document(201, &r).with_header("location", location),
    )
}

/// The user a PUT or PATCH names, and its body.
async fn user_and_body(call: &mut ScimCall<'_>, id: &str) -> Result<(User, Value), Outcome> {
    let old = user(call, id).await?;
    Ok((old, call.body().await?))
}

/// PUT `Users/{id}`: the whole user replaced.
pub async fn replace(call: &mut ScimCall<'_>, id: &str) -> Outcome {
    let draft = user_and_body(call, id)
        .await
        .and_then(|(old, body)| Ok((Draft::from_body(&body)?, old)));
    match draft {
        Ok((draft, old)) => apply(call, old, draft).await,
        Err(o) => o,
    }
}

/// PATCH `Users/{id}`.
pub async fn patch(call: &mut ScimCall<'_>, id: &str) -> Outcome {
    let draft = user_and_body(call, id).await.and_then(|(old, body)| {
        let mut draft = Draft::of(&old);
        draft.patch(&body)?;
        Ok((draft, old))
    });
    match draft {
        Ok((draft, old)) => apply(call, old, draft).await,
        Err(o) => o,
    }
}

/// Saves a changed user in one store step; a deactivation or a new
/// address ends the user's sessions on every gateway.
async fn apply(call: &ScimCall<'_>, old: User, draft: Draft) -> Outcome {
    let change = match draft.change(&call.client.token_name) {
        Ok(c) => c,
        Err(o) => return o,
    };
    match user_name_taken(call, &change.provisioning.user_name, Some(&old.id)).await {
        Ok(false) => {}
        Ok(true) => return conflict(),
        Err(o) => return o,
    }
    let deactivating = old.active() && !change.provisioning.active;
    let (user, ended) = match call.app.store.apply_directory(&old.id, change).await {
        Ok(done) => done,
        Err(StoreError::EmailTaken | StoreError::IdentityTaken) => return conflict(),
        Err(StoreError::NotFound) => return refused(404, None, "no such user"),
        Err(_) => return unavailable(),
    };
    forget_all(call.app, &ended);
    // Open sessions carry the name and address: they read them again.
    call.app.sessions.forget_user(&user.id);
    let event = if deactivating {
        Event::ScimUserDeactivated
    } else {
        Event::ScimUserChanged
    };
    let detail = format!("user={} sessions_ended={}", user.id, ended.len());
    call.audit(event, &detail);
    ("scim_changed", document(200, &resource(call, &user)))
}

/// DELETE `Users/{id}`: removed as the console removes a user.
pub async fn delete(call: &ScimCall<'_>, id: &str) -> Outcome {
    let user = match user(call, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    match call.app.store.remove_user(&user.id).await {
        Ok(ended) => {
            forget_all(call.app, &ended);
            let detail = format!("user={} sessions_ended={}", user.id, ended.len());
            call.audit(Event::ScimUserRemoved, &detail);
            ("scim_removed", crate::web::Answer::text(204, ""))
        }
        Err(StoreError::NotFound) => refused(404, None, "no such user"),
        Err(_) => unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::PATCH_SCHEMA;

    fn draft() -> Draft {
        Draft::from_body(&json!({
            "schemas": [USER_SCHEMA],
            "userName": "hanako.sato@corp.onmicrosoft.com",
            "externalId": "e-1",
            "name": {"givenName": "花子", "familyName": "佐藤"},
            "emails": [{"value": "other@corp.example", "type": "home"},
                       {"value": "hanako@corp.example", "type": "work", "primary": true}],
            "title": "ignored",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"},
            "active": true
        }))
        .unwrap()
    }

    #[test]
    fn s65_a_upn_user_name_is_kept_apart_from_the_address() {
        let c = draft().change("entra").unwrap();
        assert_eq!(c.email, "hanako@corp.example");
        assert_eq!(c.provisioning.user_name, "hanako.sato@corp.onmicrosoft.com");
        assert_eq!(c.name, "佐藤 花子");
        assert_eq!(c.provisioning.email_type.as_deref(), Some("work"));
    }

    #[test]
    fn s66_unknown_attributes_and_bad_values_are_invalid_values() {
        for body in [
            json!({"userName": "a@b.jp", "shoeSize": 42}),
            json!({"userName": "a@b.jp", "active": "maybe"}),
            json!({"userName": "a@b.jp", "emails": "a@b.jp"}),
            json!({"schemas": ["urn:other"], "userName": "a@b.jp"}),
            json!({"userName": 7}),
        ] {
            let refused = Draft::from_body(&body).and_then(|d| d.change("t"));
            let (_, answer) = refused.unwrap_err();
            assert_eq!(answer.status, 400, "{body}");
        }
        let no_address = Draft::from_body(&json!({"userName": "not-an-address"})).unwrap();
        assert_eq!(no_address.change("t").unwrap_err().1.status, 400);
    }

    #[test]
    fn s65_entra_s_patch_spellings_are_understood() {
        let mut d = draft();
        d.patch(&json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@corp.example"},
                {"op": "replace", "value": {"displayName": "さとう", "name.givenName": "はなこ"}},
                {"op": "Remove", "path": "externalId"},
                {"op": "Replace", "value": {
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "x"}},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                 "value": {"value": "m"}}
            ]
        }))
        .unwrap();
        assert!(!d.active);
        assert_eq!(d.email.as_deref(), Some("new@corp.example"));
        assert_eq!(d.display_name.as_deref(), Some("さとう"));
        assert_eq!(d.given_name.as_deref(), Some("はなこ"));
        assert_eq!(d.external_id, None);
        let c = d.change("entra").unwrap();
        assert_eq!(c.name, "さとう");
        assert!(!c.provisioning.active);
    }

    #[test]
    fn s66_bad_patches_are_refused_with_their_scim_type() {
        let status = |ops: Value| {
            let mut d = draft();
            d.patch(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))
                .unwrap_err()
                .1
                .status
        };
        assert_eq!(status(json!([{"op": "move", "path": "active"}])), 400);
        assert_eq!(status(json!([{"op": "remove"}])), 400);
        assert_eq!(status(json!([{"op": "remove", "path": "userName"}])), 400);
        assert_eq!(
            status(json!([{"op": "add", "path": "emails[type eq \"work\""}])),
            400
        );
        assert_eq!(
            status(json!([{"op": "add", "path": "shoeSize", "value": 1}])),
            400
        );
        let mut d = draft();
        assert!(
            d.patch(&json!({"Operations": []})).is_err(),
            "the schema is named"
        );
    }
}
