//! SCIM's Groups, as the tenant's roles (manual §1-5): `admins` (管理者)
//! and `users` (一般), always there, neither created nor deleted. Adding a
//! user to 管理者 makes them an administrator; removing them makes them
//! 一般 again. The contract holder is in neither: no directory changes them.

use super::scim_api::{
    field, list_of, patch_operations, refused, unavailable, users, Query, ScimCall,
};
use crate::audit::Event;
use crate::flows::Outcome;
use crate::scim::document;
use crate::store::{StoreError, User};
use sekisho_policy::model::Role;
use sekisho_policy::scim::{datetime, parse_patch_path, FilterValue, GROUP_SCHEMA};
use serde_json::{json, Value};

/// The attribute paths a Groups filter may compare.
const FILTERABLE: &[&str] = &[
    "id",
    "displayname",
    "members",
    "members.value",
    "externalid",
];

/// The two groups: id, display name, the role of their members.
const GROUPS: [(&str, &str, Role); 2] = [
    ("admins", "管理者", Role::Admin),
    ("users", "一般", Role::User),
];

fn role_of(id: &str) -> Option<(&'static str, &'static str, Role)> {
    GROUPS.iter().copied().find(|(gid, _, _)| *gid == id)
}

fn resource(call: &ScimCall<'_>, id: &str, members: &[User]) -> Value {
    let (_, display, role) = role_of(id).unwrap_or(GROUPS[1]);
    let members: Vec<Value> = members
        .iter()
        .filter(|u| u.role == role)
        .map(|u| {
            json!({
                "value": u.id,
                "display": u.name,
                "type": "User",
                "$ref": call.location("Users", &u.id),
            })
        })
        .collect();
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": id,
        "displayName": display,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": datetime(call.client.tenant.created_at),
            "lastModified": datetime(call.client.tenant.created_at),
            "location": call.location("Groups", id),
        },
    })
}

/// GET `Groups` and POST `Groups/.search`.
pub async fn list(call: &ScimCall<'_>, query: Query) -> Outcome {
    let each = |call: &ScimCall<'_>, all: &[User]| {
        GROUPS
            .iter()
            .map(|(id, _, _)| resource(call, id, all))
            .collect()
    };
    list_of(call, query, FILTERABLE, each).await
}

/// GET `Groups/{id}`.
pub async fn get(call: &ScimCall<'_>, id: &str) -> Outcome {
    if role_of(id).is_none() {
        return refused(404, None, "no such group");
    }
    match users(call).await {
        Ok(all) => {
            let r = super::scim_api::project(
                resource(call, id, &all),
                call.req.query_param("attributes").as_deref(),
                call.req.query_param("excludedAttributes").as_deref(),
            );
            ("scim_group", document(200, &r))
        }
        Err(o) => o,
    }
}

/// The user ids of a `members` value: `[{"value": id}, …]`.
fn member_ids(value: &Value) -> Result<Vec<String>, Outcome> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        Value::Null => Vec::new(),
        _ => return Err(refused(400, Some("invalidValue"), "members is a list")),
    };
    items
        .into_iter()
        .map(|m| {
            field(m, "value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| refused(400, Some("invalidValue"), "a member names its value"))
        })
        .collect()
}

/// What membership a request asks for, as roles to set.
#[derive(Default)]
struct Moves {
    /// Users to put in the group.
    join: Vec<String>,
    /// Users to take out of it.
    leave: Vec<String>,
    /// Replace the membership: everyone else leaves.
    replace: bool,
}

/// Reads a PATCH of a group: members added, removed (by value list or a
/// `members[value eq "…"]` path) or replaced; a display name only as it is.
fn read_patch(body: &Value, display: &str) -> Result<Moves, Outcome> {
    let ops = patch_operations(body)?;
    let mut moves = Moves::default();
    for op in ops {
        let kind = field(op, "op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let value = field(op, "value").unwrap_or(&Value::Null);
        let path = match field(op, "path").and_then(Value::as_str) {
            Some(p) => {
                Some(parse_patch_path(p).map_err(|e| refused(400, Some("invalidPath"), e.0))?)
            }
            None => None,
        };
        let attribute = path.as_ref().map(|p| p.attribute.as_str());
        match (kind.as_str(), attribute) {
            ("add", Some("members")) => moves.join.extend(member_ids(value)?),
            ("replace", Some("members")) => {
                moves.replace = true;
                moves.join = member_ids(value)?;
            }
            ("remove", Some("members")) => {
                let filtered = path.as_ref().and_then(|p| p.value_filter.as_ref());
                match filtered {
                    Some(filter) => {
                        for e in filter {
                            match (&*e.attribute, &e.value) {
                                ("value", FilterValue::Text(id)) => moves.leave.push(id.clone()),
                                _ => {
                                    return Err(refused(
                                        400,
                                        Some("invalidFilter"),
                                        "members are named by value",
                                    ))
                                }
                            }
                        }
                    }
                    None if value.is_null() => {
                        moves.replace = true;
                        moves.join.clear();
                    }
                    None => moves.leave.extend(member_ids(value)?),
                }
            }
            ("add" | "replace", None) => {
                for (k, v) in value.as_object().into_iter().flatten() {
                    match k.to_ascii_lowercase().as_str() {
                        "members" => {
                            moves.replace |= kind == "replace";
                            moves.join.extend(member_ids(v)?);
                        }
                        "displayname" if v.as_str() == Some(display) => {}
                        "externalid" => {}
                        _ => return Err(read_only()),
                    }
                }
            }
            ("add" | "replace", Some("displayname")) if value.as_str() == Some(display) => {}
            ("add" | "replace" | "remove", Some("externalid")) => {}
            ("add" | "replace" | "remove", Some(_)) => return Err(read_only()),
            _ => {
                return Err(refused(
                    400,
                    Some("invalidValue"),
                    "op is add, remove or replace",
                ))
            }
        }
    }
    Ok(moves)
}

fn read_only() -> Outcome {
    refused(
        400,
        Some("mutability"),
        "a group's name is its role's; only its members change",
    )
}

/// PATCH `Groups/{id}`.
pub async fn patch(call: &mut ScimCall<'_>, id: &str) -> Outcome {
    let Some((_, display, _)) = role_of(id) else {
        return refused(404, None, "no such group");
    };
    let body = match call.body().await {
        Ok(b) => b,
        Err(o) => return o,
    };
    match read_patch(&body, display) {
        Ok(moves) => apply(call, id, moves).await,
        Err(o) => o,
    }
}

/// PUT `Groups/{id}`: the members replaced; the name must stay.
pub async fn replace(call: &mut ScimCall<'_>, id: &str) -> Outcome {
    let Some((_, display, _)) = role_of(id) else {
        return refused(404, None, "no such group");
    };
    let body = match call.body().await {
        Ok(b) => b,
        Err(o) => return o,
    };
    if field(&body, "displayName")
        .and_then(Value::as_str)
        .is_some_and(|d| d != display)
    {
        return read_only();
    }
    let join = match member_ids(field(&body, "members").unwrap_or(&Value::Null)) {
        Ok(j) => j,
        Err(o) => return o,
    };
    let moves = Moves {
        join,
        leave: Vec::new(),
        replace: true,
    };
    apply(call, id, moves).await
}

/// Sets the roles the moves ask for, each user once; a member who is not
/// one of the tenant's users (or is its holder) refuses the whole request.
async fn apply(call: &ScimCall<'_>, id: &str, moves: Moves) -> Outcome {
    let Some((_, _, role)) = role_of(id) else {
        return refused(404, None, "no such group");
    };
    let all = match users(call).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let known = |uid: &String| all.iter().any(|u| &u.id == uid);
    if let Some(stranger) = moves.join.iter().chain(&moves.leave).find(|u| !known(u)) {
        let detail = format!("no user {stranger:?} of this tenant");
        return refused(400, Some("invalidValue"), &detail);
    }
    let other = if role == Role::Admin {
        Role::User
    } else {
        Role::Admin
    };
    let mut changes: Vec<(String, Role)> = Vec::new();
    for u in &all {
        let joins = moves.join.contains(&u.id);
        let leaves = moves.leave.contains(&u.id) || (moves.replace && !joins);
        let target = match (joins, leaves, u.role == role) {
            (true, _, false) => role,
            // Only 管理者 can be left: one leaving 一般 stays 一般.
            (false, true, true) if role == Role::Admin => other,
            _ => continue,
        };
        changes.push((u.id.clone(), target));
    }
    for (uid, target) in &changes {
        match call.app.store.set_role(uid, *target).await {
            // Open sessions carry the role: they read it again.
            Ok(_) => call.app.sessions.forget_user(uid),
            Err(StoreError::NotFound) => {}
            Err(_) => return unavailable(),
        }
        let detail = format!("user={uid} role={}", target.as_str());
        call.audit(Event::ScimUserChanged, &detail);
    }
    match users(call).await {
        Ok(all) => (
            "scim_group_changed",
            document(200, &resource(call, id, &all)),
        ),
        Err(o) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::super::scim_users::group_of;
    use super::*;
    use crate::scim::PATCH_SCHEMA;

    fn group_id(role: Role) -> &'static str {
        group_of(role).0
    }

    #[test]
    fn roles_and_groups_map_both_ways() {
        for (id, _, role) in GROUPS {
            assert_eq!(group_id(role), id);
        }
    }

    #[test]
    fn s65_entra_s_member_patches_are_read() {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
            {"op": "remove", "path": "members[value eq \"u4\"]"}
        ]});
        let m = read_patch(&body, "管理者").unwrap();
        assert_eq!(m.join, vec!["u1", "u2"]);
        assert_eq!(m.leave, vec!["u3", "u4"]);
        assert!(!m.replace);
        let rename = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Owners"}]});
        assert_eq!(read_patch(&rename, "管理者").err().unwrap().1.status, 400);
    }
}
