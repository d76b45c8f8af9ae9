//! SCIM's discovery (RFC 7644 §4, RFC 7643 §5–§7): what this service
//! provider supports, its two resource types, and their schemas as they
//! are here: only the attributes a user keeps, so a client (or an RFC
//! checker) writes nothing it could not read back.

use super::scim_api::{refused, ScimCall};
use crate::flows::Outcome;
use crate::scim::{document, LIST_SCHEMA};
use sekisho_policy::scim::{GROUP_SCHEMA, PAGE_MAX, USER_SCHEMA};
use serde_json::{json, Value};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// GET `ServiceProviderConfig`.
pub fn config(call: &ScimCall<'_>) -> Outcome {
    let body = json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": PAGE_MAX},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A tenant's SCIM token, made in 設定 → SCIM or by `sekisho admin scim-token`",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": call.location("ServiceProviderConfig", "").trim_end_matches('/'),
        },
    });
    ("scim_discovery", document(200, &body))
}

fn resource_type(call: &ScimCall<'_>, name: &str) -> Option<Value> {
    let (endpoint, schema, description) = match name {
        "User" => ("/Users", USER_SCHEMA, "A person who signs in to the tenant"),
        "Group" => (
            "/Groups",
            GROUP_SCHEMA,
            "A role of the tenant: 管理者 or 一般",
        ),
        _ => return None,
    };
    Some(json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "description": description,
        "endpoint": endpoint,
        "schema": schema,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": call.location("ResourceTypes", name)},
    }))
}

/// GET `ResourceTypes` and `ResourceTypes/{name}`.
pub fn resource_types(call: &ScimCall<'_>, id: Option<&str>) -> Outcome {
    match id {
        Some(id) => match resource_type(call, id) {
            Some(r) => ("scim_discovery", document(200, &r)),
            None => refused(404, None, "no such resource type"),
        },
        None => list(
            ["User", "Group"]
                .iter()
                .filter_map(|n| resource_type(call, n))
                .collect(),
        ),
    }
}

fn list(resources: Vec<Value>) -> Outcome {
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    ("scim_discovery", document(200, &body))
}

/// One attribute's definition (RFC 7643 §7).
fn attribute(name: &str, kind: &str, required: bool, mutability: &str, unique: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": "",
        "required": required,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": unique,
    })
}

fn complex(name: &str, multi: bool, required: bool, mutability: &str, subs: Vec<Value>) -> Value {
    let mut a = attribute(name, "complex", required, mutability, "none");
    a["multiValued"] = json!(multi);
    a["subAttributes"] = Value::Array(subs);
    a
}

fn text(name: &str) -> Value {
    attribute(name, "string", false, "readWrite", "none")
}

fn user_schema(call: &ScimCall<'_>) -> Value {
    let mut user_name = attribute("userName", "string", true, "readWrite", "server");
    user_name["description"] = json!("Unique in the tenant; a UPN may differ from the address");
    let mut emails = complex(
        "emails",
        true,
        true,
        "readWrite",
        vec![
            attribute("value", "string", true, "readWrite", "none"),
            text("type"),
            attribute("primary", "boolean", false, "readWrite", "none"),
        ],
    );
    emails["description"] = json!("The primary (or first) address is the login ID");
    let mut groups = complex(
        "groups",
        true,
        false,
        "readOnly",
        vec![
            attribute("value", "string", false, "readOnly", "none"),
            attribute("display", "string", false, "readOnly", "none"),
            {
                let mut r = attribute("$ref", "reference", false, "readOnly", "none");
                r["referenceTypes"] = json!(["Group"]);
                r
            },
        ],
    );
    groups["description"] = json!("The user's role, changed through Groups");
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person who signs in to the tenant",
        "attributes": [
            user_name,
            complex("name", false, false, "readWrite", vec![text("givenName"), text("familyName")]),
            text("displayName"),
            emails,
            attribute("active", "boolean", true, "readWrite", "none"),
            groups,
        ],
        "meta": {"resourceType": "Schema", "location": call.location("Schemas", USER_SCHEMA)},
    })
}

fn group_schema(call: &ScimCall<'_>) -> Value {
    let mut member_ref = attribute("$ref", "reference", false, "immutable", "none");
    member_ref["referenceTypes"] = json!(["User"]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A role of the tenant: 管理者 (admins) or 一般 (users)",
        "attributes": [
            attribute("displayName", "string", true, "readOnly", "server"),
            complex("members", true, false, "readWrite", vec![
                attribute("value", "string", false, "immutable", "none"),
                attribute("display", "string", false, "readOnly", "none"),
                member_ref,
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": call.location("Schemas", GROUP_SCHEMA)},
    })
}

/// GET `Schemas` and `Schemas/{urn}`.
pub fn schemas(call: &ScimCall<'_>, id: Option<&str>) -> Outcome {
    match id {
        Some(USER_SCHEMA) => ("scim_discovery", document(200, &user_schema(call))),
        Some(GROUP_SCHEMA) => ("scim_discovery", document(200, &group_schema(call))),
        Some(_) => refused(404, None, "no such schema"),
        None => list(vec![user_schema(call), group_schema(call)]),
    }
}
