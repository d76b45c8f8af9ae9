//! The SCIM 2.0 service (RFC 7644) below `paths::SCIM`: one entry of the
//! route table, whose guard (`Guard::Scim`) has admitted the directory's
//! token; here each resource path and method goes to its handler.

use super::scim_api::{refused, Query, ScimCall};
use super::{scim_discovery, scim_groups, scim_users};
use crate::flows::Outcome;

/// Runs a request the guard admitted: `rest` is the path below
/// `paths::SCIM` (`Users/…`, `Groups`, `Schemas`, …).
pub async fn serve(mut call: ScimCall<'_>, rest: &str) -> Outcome {
    let method = call.req.method.clone();
    let (kind, id) = match rest.split_once('/') {
        Some((kind, id)) => (kind, Some(id)),
        None => (rest, None),
    };
    let m = method.as_str();
    match (kind, id, m) {
        ("ServiceProviderConfig", None, "GET") => scim_discovery::config(&call),
        ("ResourceTypes", _, "GET") => scim_discovery::resource_types(&call, id),
        ("Schemas", _, "GET") => scim_discovery::schemas(&call, id),
        ("Users", None, "GET") => scim_users::list(&call, Query::from_url(call.req)).await,
        ("Users", Some(".search"), "POST") => match call.body().await {
            Ok(body) => scim_users::list(&call, Query::from_body(&body)).await,
            Err(o) => o,
        },
        ("Users", None, "POST") => scim_users::create(&mut call).await,
        ("Users", Some(id), "GET") => scim_users::get(&call, id).await,
        ("Users", Some(id), "PUT") => scim_users::replace(&mut call, id).await,
        ("Users", Some(id), "PATCH") => scim_users::patch(&mut call, id).await,
        ("Users", Some(id), "DELETE") => scim_users::delete(&call, id).await,
        ("Groups", None, "GET") => scim_groups::list(&call, Query::from_url(call.req)).await,
        ("Groups", Some(".search"), "POST") => match call.body().await {
            Ok(body) => scim_groups::list(&call, Query::from_body(&body)).await,
            Err(o) => o,
        },
        ("Groups", Some(id), "GET") => scim_groups::get(&call, id).await,
        ("Groups", Some(id), "PATCH") => scim_groups::patch(&mut call, id).await,
        ("Groups", Some(id), "PUT") => scim_groups::replace(&mut call, id).await,
        ("Groups", _, "POST" | "DELETE") => refused(
            403,
            None,
            "the groups are the tenant's roles (管理者, 一般): they are not created or deleted",
        ),
        ("", None, "POST") | (".search", None, "POST") => refused(
            501,
            None,
            "searching several resource types at once is not supported",
        ),
        ("Users" | "Groups" | "ResourceTypes" | "Schemas" | "ServiceProviderConfig", _, _) => {
            refused(405, None, "this method is not supported here")
        }
        _ => refused(404, None, "no such resource"),
    }
}
