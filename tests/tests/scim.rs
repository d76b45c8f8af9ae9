//! SCIM provisioning end to end on the embedded store (S65, S66): the
//! directory's operations and Entra ID's quirks, bad input, the holder's
//! console page and the operator's command. The Redis and PostgreSQL files
//! run the same drill on their backends.

use sekisho_tests::scim::{self, Directory};
use sekisho_tests::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_a_directory_provisions_and_deprovisions_its_users() {
    let env = Env::start().await;
    scim::s65_a_directory_provisions_and_deprovisions_its_users(&env).await;
}

/// One check of the outside RFC checker.
#[derive(serde::Deserialize, Debug)]
struct Check {
    status: String,
    title: Option<String>,
    resource_type: Option<String>,
    reason: Option<String>,
}

/// S65, S66: PyPI's `scim2-tester` (installed by `scripts/setup.sh`) runs
/// every check it has against a gateway. Each passes, but those the
/// service refuses on purpose, listed here with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_rfc_checker_finds_the_service_conformant() {
    let env = Env::start().await;
    let (tenant_id, _) = scim::tenant(&env, "holder-rfc@example.jp").await;
    let token = scim::token(&env, &tenant_id, "scim2-tester", "");
    let base = format!("{}{}", env.gw.base, sekisho_policy::paths::SCIM);
    let script = sekisho_tests::workspace_dir().join("tests/peers/scim_check.py");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .arg(&base)
            .arg(&token)
            .output()
            .expect("python3 with scim2-tester (run scripts/setup.sh)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: Vec<Check> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).map_err(|_| eprintln!("{l}")).ok())
        .collect();
    for c in &checks {
        eprintln!(
            "{:<10} {:<8} {:?} {:?}",
            c.status,
            c.resource_type.as_deref().unwrap_or("-"),
            c.title,
            c.reason
        );
    }
    assert!(checks.len() > 40, "the checker ran its checks: {stdout}");
    let passed = ["SUCCESS", "COMPLIANT", "ACCEPTABLE", "SKIPPED"];
    // The Group checks begin by creating a group of their own, which the
    // service refuses on purpose (403, RFC 7644 §3.12): its groups are the
    // tenant's two roles, published with a read-only `displayName` (RFC
    // 7643 §7). Everything else must pass.
    let refused_by_design = |c: &Check| {
        c.resource_type.as_deref() == Some("Group")
            && c.reason
                .as_deref()
                .is_some_and(|r| r.contains("they are not created or deleted"))
    };
    let failed: Vec<&Check> = checks
        .iter()
        .filter(|c| !passed.contains(&c.status.as_str()) && !refused_by_design(c))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let users_passed = checks
        .iter()
        .filter(|c| c.resource_type.as_deref() == Some("User") && c.status == "SUCCESS")
        .count();
    assert!(users_passed >= 20, "every User check ran: {checks:#?}");
}

/// A raw request to the SCIM service: method, path, headers, body.
async fn raw(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> scim::Answer {
    let http = reqwest::Client::new();
    let url = format!("{base}{}{path}", sekisho_policy::paths::SCIM);
    let mut req = http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let location = r
        .headers()
        .get("www-authenticate")
        .or(r.headers().get("retry-after"))
        .map(|v| v.to_str().unwrap().to_string());
    let body = serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
    scim::Answer {
        status,
        content_type,
        location,
        body,
    }
}

/// S66: bad tokens, filters, bodies and paths get RFC 7644 error documents
/// with their status, never a 5xx; bodies are bounded, a token's rate is
/// too; a token works only from its networks, for a basic-plan tenant, and
/// stops at once when rotated or revoked (S65).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s66_bad_input_is_refused_with_error_documents_and_tokens_are_bounded() {
    let env = Env::start_with(|mut o| {
        o.extra
            .push_str("[scim]\nrequests_per_minute = 60\nbody_bytes = 2048\n");
        o
    })
    .await;
    let base = env.gw.base.clone();
    let (tenant_id, _) = scim::tenant(&env, "holder66@example.jp").await;
    let token = scim::token(&env, &tenant_id, "entra", "");
    let dir = Directory::new(&base, &token);

    // The door.
    let none = raw(&base, "GET", "Users", &[], None).await;
    assert_eq!(none.status, 401);
    assert!(none.location.unwrap().starts_with("Bearer"));
    assert_eq!(none.body["schemas"][0], scim::ERROR);
    let basic = raw(
        &base,
        "GET",
        "Users",
        &[("authorization", "Basic YTpi")],
        None,
    )
    .await;
    assert_eq!(basic.status, 401);
    let wrong = format!("{}x", &token[..token.len() - 1]);
    let forged = Directory::new(&base, &wrong);
    assert_eq!(forged.get("Users").await.status, 401, "a wrong secret");
    let foreign = Directory::new(&base, "scim.nosuchtenant.0123.secret");
    assert_eq!(foreign.get("Users").await.status, 401);

    // Filters.
    for filter in [
        "userName co \"a\"",
        "shoeSize eq \"42\"",
        "userName eq",
        "(userName eq \"a\")",
        &format!("userName eq \"{}\"", "a".repeat(1100)),
    ] {
        let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let r = dir.get(&format!("Users?filter={q}")).await;
        assert_eq!(
            (r.status, r.scim_type()),
            (400, "invalidFilter"),
            "{filter}"
        );
    }
    let r = dir.get("Users?startIndex=abc").await;
    assert_eq!((r.status, r.scim_type()), (400, "invalidValue"));
    let page = dir.get("Users?startIndex=0&count=-3").await;
    assert_eq!(
        (page.status, &page.body["itemsPerPage"]),
        (200, &serde_json::json!(0))
    );

    // Bodies.
    let user = scim::entra_user("a@corp.onmicrosoft.com", "a66@corp.example", "a");
    let mut unknown = user.clone();
    unknown["shoeSize"] = serde_json::json!(42);
    let r = dir.post("Users", unknown).await;
    assert_eq!((r.status, r.scim_type()), (400, "invalidValue"));
    let mut bad_mail = user.clone();
    bad_mail["emails"][0]["value"] = serde_json::json!("not an address");
    assert_eq!(
        dir.post("Users", bad_mail).await.scim_type(),
        "invalidValue"
    );
    let auth = format!("Bearer {token}");
    let scim_json = ("content-type", "application/scim+json");
    let h = [("authorization", auth.as_str()), scim_json];
    let r = raw(&base, "POST", "Users", &h, Some("{not json".into())).await;
    assert_eq!((r.status, r.scim_type()), (400, "invalidSyntax"));
    let r = raw(&base, "POST", "Users", &h, Some("[1,2]".into())).await;
    assert_eq!((r.status, r.scim_type()), (400, "invalidSyntax"));
    let text = [
        ("authorization", auth.as_str()),
        ("content-type", "text/plain"),
    ];
    let r = raw(&base, "POST", "Users", &text, Some(user.to_string())).await;
    assert_eq!(r.status, 415);
    let mut big = user.clone();
    big["displayName"] = serde_json::json!("x".repeat(3000));
    assert_eq!(dir.post("Users", big).await.status, 413);

    // PATCH paths and operations.
    let created = dir.post("Users", user).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let at = format!("Users/{id}");
    let bad_ops = [
        (
            serde_json::json!([{"op": "move", "path": "active"}]),
            "invalidValue",
        ),
        (serde_json::json!([{"op": "remove"}]), "noTarget"),
        (
            serde_json::json!([{"op": "add", "path": "shoeSize", "value": 1}]),
            "invalidValue",
        ),
        (
            serde_json::json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]),
            "invalidPath",
        ),
        (
            serde_json::json!([{"op": "remove", "path": "userName"}]),
            "mutability",
        ),
        (
            serde_json::json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
    ];
    for (ops, kind) in bad_ops {
        let r = dir.patch(&at, ops.clone()).await;
        assert_eq!((r.status, r.scim_type()), (400, kind), "{ops}");
    }
    let r = dir
        .send("PATCH", &at, Some(serde_json::json!({"Operations": []})))
        .await;
    assert_eq!((r.status, r.scim_type()), (400, "invalidSyntax"));
    assert_eq!(dir.get("Users/no-such-user").await.status, 404);
    assert_eq!(dir.get("Nothing").await.status, 404);
    assert_eq!(dir.send("DELETE", "Groups/admins", None).await.status, 403);
    let rename = serde_json::json!([{"op": "replace", "path": "displayName", "value": "x"}]);
    assert_eq!(
        dir.patch("Groups/admins", rename).await.scim_type(),
        "mutability"
    );
    let stranger =
        serde_json::json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]);
    assert_eq!(
        dir.patch("Groups/admins", stranger).await.scim_type(),
        "invalidValue"
    );

    // A token only from its networks.
    let fenced = Directory::new(
        &base,
        &scim::token(&env, &tenant_id, "fenced", "10.0.0.0/8"),
    );
    assert_eq!(fenced.get("Users").await.status, 403);
    let open = Directory::new(
        &base,
        &scim::token(&env, &tenant_id, "local", "127.0.0.0/8"),
    );
    assert_eq!(open.get("Users").await.status, 200);

    // A token's rate: 60 a minute, then 429 with the wait.
    let mut statuses = Vec::new();
    for _ in 0..65 {
        statuses.push(open.get("ServiceProviderConfig").await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let h = [("authorization", format!("Bearer {}", open.token))];
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let limited = raw(&base, "GET", "Users", &h, None).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited.location.unwrap().parse::<u64>().unwrap() >= 1,
        "Retry-After"
    );
    assert_eq!(
        dir.get("Users").await.status,
        200,
        "other tokens keep their own rate"
    );

    // Rotated and revoked by the operator: the old secret stops at once.
    let out = env.gw.admin(&[
        "scim-token",
        "rotate",
        "--tenant",
        &tenant_id,
        "--name",
        "entra",
    ]);
    assert!(out.status.success());
    let rotated = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("scim."))
        .unwrap()
        .to_string();
    assert_eq!(dir.get("Users").await.status, 401);
    let dir = Directory::new(&base, &rotated);
    assert_eq!(dir.get("Users").await.status, 200);
    let out = env.gw.admin(&[
        "scim-token",
        "revoke",
        "--tenant",
        &tenant_id,
        "--name",
        "entra",
        "--yes",
    ]);
    assert!(out.status.success());
    assert_eq!(dir.get("Users").await.status, 401);
    let listed = env
        .gw
        .admin(&["scim-token", "list", "--tenant", &tenant_id]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("fenced") && !listed.contains("entra"),
        "{listed}"
    );
    let bad = env.gw.admin(&[
        "scim-token",
        "create",
        "--tenant",
        &tenant_id,
        "--name",
        "x",
        "--networks",
        "10.0.0.0/33",
    ]);
    assert_eq!(bad.status.code(), Some(2), "a clear refusal");

    // A trial tenant's token opens nothing: SCIM is a basic-plan setting.
    env.gw.create_tenant("trial", "trial66@example.jp");
    let tenants = env.gw.admin(&["tenants"]);
    let trial_id = String::from_utf8_lossy(&tenants.stdout)
        .lines()
        .find(|l| l.contains("trial"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let trial = Directory::new(&base, &scim::token(&env, &trial_id, "t", ""));
    assert_eq!(trial.get("Users").await.status, 403);

    // Nothing above was a server error, and the store keeps only hashes.
    let metrics = env.gw.metrics().await;
    let scim_lines: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("sekisho_page_responses_total{") && l.contains("page=\"scim\""))
        .collect();
    let answered = |class: &str| {
        scim_lines
            .iter()
            .find(|l| l.contains(&format!("class=\"{class}\"")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(answered("4xx") > 30, "{scim_lines:?}");
    assert_eq!(answered("5xx"), 0, "{scim_lines:?}");
    let dump = env.gw.data_dir().join("dump.json");
    let out = env.gw.admin(&["export", "--file", dump.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&dump).unwrap();
    let secret = rotated.rsplit('.').next().unwrap();
    assert!(
        !text.contains(secret) && !text.contains(&open.token),
        "only hashes are kept"
    );
}

/// The token in a page that shows one.
fn shown_token(html: &str) -> String {
    let start = html.find("scim.").expect("a token on the page");
    html[start..]
        .split(|c: char| c == '<' || c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// S65: the holder makes, names, rotates and revokes tokens in 設定 → SCIM,
/// each shown once; administrators and trial holders have no such page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_the_holder_makes_rotates_and_revokes_tokens_in_the_menu() {
    use sekisho_policy::paths;
    let env = Env::start().await;
    let (_, mut holder) = scim::tenant(&env, "holder-menu@example.jp").await;
    let menu = holder.get(paths::MENU).await;
    assert!(menu.body.contains(paths::MENU_SCIM), "offered in the menu");
    let page = holder.get(paths::MENU_SCIM).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!("{}{}", env.gw.base, paths::SCIM)),
        "the tenant URL"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let csrf = page.csrf();

    // Refused with the reason, keeping what was typed.
    let r = holder
        .post(
            paths::MENU_SCIM_CREATE,
            &[("csrf", &csrf), ("name", ""), ("networks", "")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("名前を1〜64文字で入力してください。"));
    let r = holder
        .post(
            paths::MENU_SCIM_CREATE,
            &[
                ("csrf", &csrf),
                ("name", "Entra"),
                ("networks", "10.0.0.0/99"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("10.0.0.0/99"));

    // Made: shown once, working at once.
    let r = holder
        .post(
            paths::MENU_SCIM_CREATE,
            &[
                ("csrf", &csrf),
                ("name", "Entra"),
                ("networks", "127.0.0.1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = shown_token(&r.body);
    assert_eq!(
        Directory::new(&env.gw.base, &first)
            .get("Users")
            .await
            .status,
        200
    );
    let again = holder.get(paths::MENU_SCIM).await;
    assert!(
        !again.body.contains(&first) && again.body.contains("Entra"),
        "listed, never shown again"
    );
    assert!(again.body.contains("127.0.0.1"), "its network");
    let r = holder
        .post(
            paths::MENU_SCIM_CREATE,
            &[("csrf", &csrf), ("name", "Entra"), ("networks", "")],
        )
        .await;
    assert_eq!(r.status, 409, "a name is one token's");

    // Rotated through the confirmation page: the old secret stops.
    let id = sekisho_tests::client::hidden(&again.body, "token").unwrap();
    let confirm = holder
        .post(paths::MENU_SCIM_ROTATE, &[("csrf", &csrf), ("token", &id)])
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("トークンを再発行しますか?"));
    assert_eq!(
        Directory::new(&env.gw.base, &first)
            .get("Users")
            .await
            .status,
        200,
        "not yet"
    );
    let r = holder
        .post(
            paths::MENU_SCIM_ROTATE,
            &[("csrf", &csrf), ("token", &id), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, 200);
    let second = shown_token(&r.body);
    assert_ne!(first, second);
    assert_eq!(
        Directory::new(&env.gw.base, &first)
            .get("Users")
            .await
            .status,
        401
    );
    assert_eq!(
        Directory::new(&env.gw.base, &second)
            .get("Users")
            .await
            .status,
        200
    );

    // Revoked the same way.
    let listed = holder.get(paths::MENU_SCIM).await;
    let id = sekisho_tests::client::hidden(&listed.body, "token").unwrap();
    let r = holder
        .post(
            paths::MENU_SCIM_REVOKE,
            &[("csrf", &csrf), ("token", &id), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        Directory::new(&env.gw.base, &second)
            .get("Users")
            .await
            .status,
        401
    );
    let r = holder
        .post(
            paths::MENU_SCIM_REVOKE,
            &[("csrf", &csrf), ("token", &id), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(r.status, 404, "gone already");
    let events = holder.get(paths::CONSOLE_EVENTS).await;
    for label in [
        "SCIMトークンを発行",
        "SCIMトークンを再発行",
        "SCIMトークンを失効",
    ] {
        assert!(events.body.contains(label), "{label}");
    }

    // An administrator has no such page; nor has a trial's holder.
    let mut admin = env
        .invited_user(&mut holder, "管理 太郎", "admin-menu@example.jp", "admin")
        .await;
    assert_ne!(admin.get(paths::MENU_SCIM).await.status, 200);
    let mut trial = env
        .logged_in_holder_on("trial", "trial-menu@example.jp")
        .await;
    assert!(!trial.get(paths::MENU).await.body.contains(paths::MENU_SCIM));
    assert_ne!(trial.get(paths::MENU_SCIM).await.status, 200);
}
