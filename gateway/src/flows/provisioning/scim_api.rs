//! What every SCIM resource shares (RFC 7644): the admitted call, listing
//! with a filter and pages, the `attributes` / `excludedAttributes`
//! projection, error documents and the audit line. The routing of the
//! service's paths is `scim_service`.

use crate::audit::{self, Event, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::scim::{self, ScimClient, LIST_SCHEMA};
use crate::state::App;
use crate::store::User;
use pingora::proxy::Session;
use sekisho_policy::model::Role;
use sekisho_policy::model::Route;
use sekisho_policy::scim::{parse_filter, Equality, FilterValue};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// One SCIM request: the app, the admitted client, the request.
pub struct ScimCall<'a> {
    pub app: &'a Arc<App>,
    pub session: &'a mut Session,
    pub req: &'a Req,
    pub client: ScimClient,
}

impl ScimCall<'_> {
    /// The audit trail's words: the tenant, the token's name.
    pub fn audit(&self, event: Event, detail: &str) {
        let who = Who {
            user_id: None,
            tenant_id: Some(&self.client.tenant.id),
            route: Some(Route::Internet),
            client_ip: Some(&self.req.client_ip),
        };
        let token = &self.client.token_name;
        audit::event(event, &who, &format!("token={token:?} {detail}"));
    }

    /// The URL of a resource, for `meta.location` and `Location`.
    pub fn location(&self, kind: &str, id: &str) -> String {
        let base = self.app.config.internet.public_url.trim_end_matches('/');
        format!("{base}{}{kind}/{id}", sekisho_policy::paths::SCIM)
    }

    /// The request's JSON body, bounded (S66).
    pub async fn body(&mut self) -> Result<Value, Outcome> {
        scim::read_json(self.session, self.app.scim.body_bytes)
            .await
            .map_err(|a| ("scim_refused", a))
    }
}

/// The tenant's users a directory may see: all but the contract holder.
pub async fn users(call: &ScimCall<'_>) -> Result<Vec<User>, Outcome> {
    let mut all = call
        .app
        .store
        .list_users(Some(&call.client.tenant.id))
        .await
        .map_err(|_| unavailable())?;
    all.retain(|u| u.role != Role::ContractHolder);
    all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(all)
}

/// A list of resources made from the tenant's users by `each`: the
/// filter read first, then the users, then one page of what matches.
pub async fn list_of(
    call: &ScimCall<'_>,
    query: Query,
    filterable: &[&str],
    each: impl FnOnce(&ScimCall<'_>, &[User]) -> Vec<Value>,
) -> Outcome {
    let filter = match query.filter(filterable) {
        Ok(f) => f,
        Err(o) => return o,
    };
    match users(call).await {
        Ok(all) => query.answer(each(call, &all), &filter),
        Err(o) => o,
    }
}

/// An error document as an outcome.
pub fn refused(status: u16, scim_type: Option<&str>, detail: &str) -> Outcome {
    let word = match status {
        404 => "not_found",
        503 => "store_unavailable",
        _ => "scim_refused",
    };
    (word, scim::error(status, scim_type, detail))
}

/// The store did not answer.
pub fn unavailable() -> Outcome {
    refused(503, None, "the store is unavailable; try again")
}

/// A list request's parameters (RFC 7644 §3.4.2), from the URL or a
/// `.search` body.
pub struct Query {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

impl Query {
    pub fn from_url(req: &Req) -> Query {
        Query {
            filter: req.query_param("filter"),
            start_index: req.query_param("startIndex"),
            count: req.query_param("count"),
            attributes: req.query_param("attributes"),
            excluded: req.query_param("excludedAttributes"),
        }
    }

    pub fn from_body(body: &Value) -> Query {
        let text = |k: &str| match field(body, k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        Query {
            filter: text("filter"),
            start_index: text("startIndex"),
            count: text("count"),
            attributes: text("attributes"),
            excluded: text("excludedAttributes"),
        }
    }

    /// The filter read, or its error document. `filterable` names the
    /// attribute paths (lower case) a filter may compare.
    pub fn filter(&self, filterable: &[&str]) -> Result<Vec<Equality>, Outcome> {
        let Some(text) = self.filter.as_deref().filter(|f| !f.trim().is_empty()) else {
            return Ok(Vec::new());
        };
        let all = parse_filter(text).map_err(|e| refused(400, Some("invalidFilter"), e.0))?;
        for e in &all {
            if !filterable.contains(&e.attribute.as_str()) {
                return Err(refused(
                    400,
                    Some("invalidFilter"),
                    "this attribute cannot be filtered on",
                ));
            }
        }
        Ok(all)
    }

    /// Answers a list of resources: filtered, one page, projected.
    pub fn answer(&self, all: Vec<Value>, filter: &[Equality]) -> Outcome {
        let Some((start, count)) =
            sekisho_policy::scim::page(self.start_index.as_deref(), self.count.as_deref())
        else {
            return refused(
                400,
                Some("invalidValue"),
                "startIndex and count are numbers",
            );
        };
        let matching: Vec<Value> = all
            .into_iter()
            .filter(|r| filter.iter().all(|e| holds(r, e)))
            .collect();
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(start - 1)
            .take(count)
            .map(|r| self.project(r))
            .collect();
        let body = json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        });
        ("scim_listed", scim::document(200, &body))
    }

    /// `attributes` / `excludedAttributes` (RFC 7644 §3.9), by top-level
    /// attribute; `id`, `schemas` and `meta` are always returned.
    pub fn project(&self, resource: Value) -> Value {
        project(
            resource,
            self.attributes.as_deref(),
            self.excluded.as_deref(),
        )
    }
}

/// See [`Query::project`].
pub fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |list: Option<&str>| -> Vec<String> {
        list.unwrap_or("")
            .split(',')
            .map(|a| {
                let a = a.trim();
                let a = a.rsplit_once(':').map_or(a, |(_, n)| n);
                a.split('.').next().unwrap_or("").to_ascii_lowercase()
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    let (only, without) = (names(attributes), names(excluded));
    let Value::Object(map) = resource else {
        return resource;
    };
    let always = ["id", "schemas", "meta"];
    let kept: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            always.contains(&k.as_str())
                || ((only.is_empty() || only.contains(&k)) && !without.contains(&k))
        })
        .collect();
    Value::Object(kept)
}

/// A PATCH request's operations (RFC 7644 §3.5.2): the body must name
/// the PatchOp schema and carry `Operations`, or it is `invalidSyntax`.
pub fn patch_operations(body: &Value) -> Result<&Vec<Value>, Outcome> {
    let named = field(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str() == Some(crate::scim::PATCH_SCHEMA))
        });
    field(body, "Operations")
        .and_then(Value::as_array)
        .filter(|_| named)
        .ok_or_else(|| {
            refused(
                400,
                Some("invalidSyntax"),
                "a PATCH names the PatchOp schema and carries Operations",
            )
        })
}

/// A member of an object by its name in any case (SCIM's attribute
/// names are case-insensitive, RFC 7643 §2.1).
pub fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Whether a resource's JSON satisfies `attribute eq value`. Text compares
/// without case but for `id` and `externalId`, which are case-exact; a
/// multi-valued attribute matches when one of its values does; an
/// attribute of complex values compares their `value`.
pub fn holds(resource: &Value, e: &Equality) -> bool {
    let (top, sub) = match e.attribute.split_once('.') {
        Some((t, s)) => (t, Some(s)),
        None => (e.attribute.as_str(), None),
    };
    let case_exact = matches!(top, "id" | "externalid");
    let Some(found) = field(resource, top) else {
        return e.value == FilterValue::Null;
    };
    let values: Vec<&Value> = match found {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    values.into_iter().any(|v| {
        let v = match (v, sub) {
            (Value::Object(_), Some(s)) => field(v, s),
            (Value::Object(_), None) => field(v, "value"),
            (v, None) => Some(v),
            _ => None,
        };
        match (v, &e.value) {
            (Some(Value::String(a)), FilterValue::Text(b)) => {
                if case_exact {
                    a == b
                } else {
                    a.to_lowercase() == b.to_lowercase()
                }
            }
            (Some(Value::Bool(a)), FilterValue::Bool(b)) => a == b,
            (Some(Value::Number(a)), FilterValue::Text(b)) => a.to_string() == *b,
            (None | Some(Value::Null), FilterValue::Null) => true,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(attribute: &str, value: &str) -> Equality {
        Equality::text(attribute, value)
    }

    #[test]
    fn s66_filters_compare_as_the_rfc_says() {
        let user = json!({
            "id": "AbC", "userName": "Hanako@Corp.example", "externalId": "X1",
            "emails": [{"value": "h@corp.example", "type": "work"}], "active": true
        });
        assert!(holds(&user, &eq("username", "hanako@corp.EXAMPLE")));
        assert!(holds(&user, &eq("externalid", "X1")));
        assert!(
            !holds(&user, &eq("externalid", "x1")),
            "externalId is case-exact"
        );
        assert!(!holds(&user, &eq("id", "abc")));
        assert!(holds(&user, &eq("emails", "H@corp.example")));
        assert!(holds(&user, &eq("emails.value", "h@corp.example")));
        assert!(holds(&user, &eq("emails.type", "work")));
        let active = Equality {
            attribute: "active".into(),
            value: FilterValue::Bool(true),
        };
        assert!(holds(&user, &active));
        assert!(!holds(&user, &eq("displayname", "x")));
    }

    #[test]
    fn attributes_are_projected_by_name_and_id_stays() {
        let r = json!({"id": "1", "schemas": [], "userName": "a", "name": {"givenName": "b"}, "active": true});
        let p = project(r.clone(), Some("userName,name.givenName"), None);
        assert_eq!(
            p,
            json!({"id": "1", "schemas": [], "userName": "a", "name": {"givenName": "b"}})
        );
        let p = project(r, None, Some("active,id"));
        assert_eq!(
            p,
            json!({"id": "1", "schemas": [], "userName": "a", "name": {"givenName": "b"}})
        );
    }
}
