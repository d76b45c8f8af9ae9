//! A tenant's directory as SCIM clients speak (Entra ID's spellings), and
//! the provisioning drills every store backend must pass alike (S65, S66).

use crate::{Client, Env, GOOD_PASSWORD};
use sekisho_policy::paths;
use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A directory's client: a bearer token and the gateway's SCIM base.
pub struct Directory {
    http: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// An answer: status, content type, JSON body (`Null` when none).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The `scimType` of an error document.
    pub fn scim_type(&self) -> &str {
        assert_eq!(self.body["schemas"][0], ERROR, "{:?}", self.body);
        self.body["scimType"].as_str().unwrap_or("")
    }
}

impl Directory {
    pub fn new(gateway_base: &str, token: &str) -> Directory {
        Directory {
            http: reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .build()
                .unwrap(),
            base: format!("{gateway_base}{}", paths::SCIM),
            token: token.to_string(),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        answer(req.send().await.expect("a SCIM request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, ops: Value) -> Answer {
        let body = json!({"schemas": [PATCH], "Operations": ops});
        self.send("PATCH", path, Some(body)).await
    }

    /// The users whose `userName` is `name` (Entra's matching query).
    pub async fn find(&self, attribute: &str, value: &str) -> Answer {
        let filter = format!("{attribute} eq \"{value}\"");
        let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        self.get(&format!("Users?filter={q}")).await
    }
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let text = r.text().await.unwrap_or_default();
    Answer {
        status,
        content_type,
        location,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// A basic-plan tenant with a registered holder: (tenant id, holder logged in).
pub async fn tenant(env: &Env, holder: &str) -> (String, Client) {
    let out = env.gw.admin(&[
        "create-tenant",
        "--plan",
        "basic",
        "--holder-email",
        holder,
        "--holder-name",
        "テスト 契約者",
        "--two-step",
        "off",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix).map(|s| s.trim().to_string()))
            .unwrap()
    };
    let (tenant_id, link) = (line("tenant:"), line("registration link:"));
    let mut c = env.client();
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    assert_eq!(c.login(holder, GOOD_PASSWORD).await.status, 303);
    (tenant_id, c)
}

/// Makes a token with `admin scim-token create`; returns it.
pub fn token(env: &Env, tenant_id: &str, name: &str, networks: &str) -> String {
    let out = env.gw.admin(&[
        "scim-token",
        "create",
        "--tenant",
        tenant_id,
        "--name",
        name,
        "--networks",
        networks,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("scim."))
        .expect("the token printed once")
        .to_string()
}

/// Entra ID's new user: a UPN as `userName`, the work address apart.
pub fn entra_user(upn: &str, mail: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id,
        "userName": upn,
        "active": true,
        "displayName": "佐藤 花子",
        "name": {"givenName": "花子", "familyName": "佐藤", "formatted": "佐藤 花子"},
        "emails": [{"primary": true, "type": "work", "value": mail}],
        "title": "経理",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "経理部"}
    })
}

/// Creates the user and registers them from their invitation mail; returns
/// their SCIM id and a client signed in as them.
pub async fn provisioned(env: &Env, dir: &Directory, upn: &str, mail: &str) -> (String, Client) {
    let r = dir
        .post("Users", entra_user(upn, mail, &format!("ext-{upn}")))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let link = env
        .smtp
        .wait_for(mail, "利用者登録のご案内")
        .link("/.sekisho/register?ticket=")
        .expect("an invitation for the provisioned user");
    let mut c = env.client();
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    assert_eq!(c.login(mail, GOOD_PASSWORD).await.status, 303);
    (id, c)
}

/// S65: a directory provisions, finds, changes, promotes, deactivates and
/// removes its users, with Entra ID's spellings; the holder stays out of
/// its reach; another tenant's token sees nothing of it.
pub async fn s65_a_directory_provisions_and_deprovisions_its_users(env: &Env) {
    let (tenant_id, mut holder) = tenant(env, "holder65@example.jp").await;
    let dir = Directory::new(&env.gw.base, &token(env, &tenant_id, "Entra ID", ""));

    // Discovery, as a directory's "test connection" reads it.
    for path in [
        "ServiceProviderConfig",
        "ResourceTypes",
        "Schemas",
        &format!("Schemas/{USER}"),
    ] {
        let r = dir.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.content_type.starts_with("application/scim+json"),
            "{path}"
        );
    }
    // Entra's probe: a user no one has.
    let probe = dir
        .find("userName", "3b4c0f6e-5d2a-4b7c-9d1e-000000000000")
        .await;
    assert_eq!(probe.status, 200);
    assert_eq!(probe.body["totalResults"], 0);

    // Created: the UPN is kept apart from the address, which is the login ID.
    let upn = "hanako.sato@corp.onmicrosoft.com";
    let (id, mut staff) = provisioned(env, &dir, upn, "hanako@corp.example").await;
    assert_eq!(staff.get("/files/a").await.status, 200);
    let got = dir.get(&format!("Users/{id}")).await;
    assert_eq!(got.body["userName"], upn);
    assert_eq!(got.body["emails"][0]["value"], "hanako@corp.example");
    assert_eq!(got.body["groups"][0]["value"], "users");
    assert!(got.body["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&id));
    let found = dir
        .find("userName", "HANAKO.SATO@corp.onmicrosoft.com")
        .await;
    assert_eq!(found.body["totalResults"], 1, "userName is not case-exact");
    assert_eq!(
        dir.find("externalId", &format!("ext-{upn}")).await.body["totalResults"],
        1
    );
    assert_eq!(
        dir.find("emails.value", "hanako@corp.example").await.body["totalResults"],
        1
    );
    let again = dir
        .post("Users", entra_user(upn, "other@corp.example", "x"))
        .await;
    assert_eq!((again.status, again.scim_type()), (409, "uniqueness"));

    // The holder: not listed, not found, not taken over.
    let all = dir.get("Users").await;
    assert_eq!(all.body["totalResults"], 1, "{:?}", all.body);
    let holder_mail = entra_user("h@corp.onmicrosoft.com", "holder65@example.jp", "h");
    let taken = dir.post("Users", holder_mail).await;
    assert_eq!((taken.status, taken.scim_type()), (409, "uniqueness"));
    let (holder_id, _) =
        crate::scim::user_id_in_console(env, &mut holder, "holder65@example.jp").await;
    assert_eq!(dir.get(&format!("Users/{holder_id}")).await.status, 404);
    let deactivate = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    assert_eq!(
        dir.patch(&format!("Users/{holder_id}"), deactivate.clone())
            .await
            .status,
        404
    );
    assert_eq!(
        dir.send("DELETE", &format!("Users/{holder_id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(holder.get("/files/holder").await.status, 200);

    // Promoted through 管理者, then back to 一般.
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]);
    let r = dir.patch("Groups/admins", add).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        staff.get(paths::CONSOLE).await.status,
        200,
        "an administrator now"
    );
    let remove = json!([{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}]);
    assert_eq!(dir.patch("Groups/admins", remove).await.status, 200);
    assert_ne!(staff.get(paths::CONSOLE).await.status, 200, "一般 again");

    // The console shows the directory's ownership and changes none of it.
    let (_, page) = env.user_page(&mut holder, "hanako@corp.example").await;
    assert!(
        page.body.contains("ディレクトリ (SCIM) で管理"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&paths::CONSOLE_USER_REMOVE.with(&id)),
        "no removal offered"
    );
    let csrf = holder.get(paths::CONSOLE_INVITE).await.csrf();
    let role_path = paths::CONSOLE_USER_ROLE.with(&id);
    let r = holder
        .post(&role_path, &[("csrf", &csrf), ("role", "admin")])
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // A new address through Entra's filtered path: the login ID changes and
    // the open session ends.
    let moved = json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "hanako.new@corp.example"},
        {"op": "Replace", "path": "name.givenName", "value": "はなこ"}
    ]);
    let r = dir.patch(&format!("Users/{id}"), moved).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["emails"][0]["value"], "hanako.new@corp.example");
    assert_eq!(r.body["name"]["givenName"], "はなこ");
    assert_eq!(
        staff.get("/files/b").await.status,
        401,
        "a new login ID ends sessions"
    );
    let mut staff = env.client();
    assert_eq!(
        staff
            .login("hanako.new@corp.example", GOOD_PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(staff.get("/files/c").await.status, 200);

    // Deactivated with Entra's string boolean: refused at once, and at login.
    let r = dir.patch(&format!("Users/{id}"), deactivate).await;
    assert_eq!(
        (r.status, &r.body["active"]),
        (200, &json!(false)),
        "{:?}",
        r.body
    );
    assert_eq!(
        staff.get("/files/d").await.status,
        401,
        "the open session is refused"
    );
    let mut again = env.client();
    let r = again.login("hanako.new@corp.example", GOOD_PASSWORD).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("このアカウントは管理者により無効にされています。"),
        "{}",
        r.body
    );
    let reactivate = json!([{"op": "replace", "value": {"active": true}}]);
    assert_eq!(
        dir.patch(&format!("Users/{id}"), reactivate).await.status,
        200
    );
    assert_eq!(
        again
            .login("hanako.new@corp.example", GOOD_PASSWORD)
            .await
            .status,
        303
    );

    // Entra's probe user: created, then deleted; gone as the console removes.
    let probe = dir
        .post(
            "Users",
            entra_user("probe@corp.onmicrosoft.com", "probe@corp.example", "p"),
        )
        .await;
    assert_eq!(probe.status, 201);
    let probe_id = probe.body["id"].as_str().unwrap();
    let gone = dir.send("DELETE", &format!("Users/{probe_id}"), None).await;
    assert_eq!(gone.status, 204);
    assert_eq!(dir.get(&format!("Users/{probe_id}")).await.status, 404);

    // Another tenant's token reaches none of it.
    let (other_tenant, _) = tenant(env, "holder65b@example.jp").await;
    let other = Directory::new(&env.gw.base, &token(env, &other_tenant, "okta", ""));
    assert_eq!(other.get(&format!("Users/{id}")).await.status, 404);
    assert_eq!(other.get("Users").await.body["totalResults"], 0);
    let del = other.send("DELETE", &format!("Users/{id}"), None).await;
    assert_eq!(del.status, 404);

    // Every change is audited with the token's name.
    let events = holder.get(paths::CONSOLE_EVENTS).await;
    assert_eq!(events.status, 200);
    assert!(
        events.body.contains("ディレクトリがユーザーを無効化"),
        "{}",
        events.body
    );
    assert!(
        env.gw.logs().contains("Entra ID"),
        "the token's name is audited"
    );
}

/// The console's id of the user `email` (from their detail page's link).
pub async fn user_id_in_console(env: &Env, admin: &mut Client, email: &str) -> (String, String) {
    let (id, page) = env.user_page(admin, email).await;
    (id, page.body)
}

/// S65: a deactivation made through one gateway refuses the user's open
/// session on another at once (the store's change notice, not a cache's
/// age), and the other refuses their sign-in too. `b_base` is the second
/// gateway's, sharing `env`'s store.
pub async fn s65_a_deactivation_holds_on_another_gateway(env: &Env, b_base: &str) {
    let (tenant_id, _) = tenant(env, "holder65x@example.jp").await;
    let dir = Directory::new(&env.gw.base, &token(env, &tenant_id, "Entra ID", ""));
    let (id, a) = provisioned(
        env,
        &dir,
        "leaver@corp.onmicrosoft.com",
        "leaver@corp.example",
    )
    .await;
    let mut on_b = Client::new(b_base);
    on_b.cookies = a.cookies.clone();
    assert_eq!(on_b.get("/files/x").await.status, 200, "cached on B");
    let off = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    assert_eq!(dir.patch(&format!("Users/{id}"), off).await.status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut status = 0;
    while std::time::Instant::now() < deadline {
        status = on_b.get("/files/y").await.status;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 401, "refused on B within three seconds");
    let mut fresh = Client::new(b_base);
    let r = fresh.login("leaver@corp.example", GOOD_PASSWORD).await;
    assert!(r
        .body
        .contains("このアカウントは管理者により無効にされています。"));
    // The same service through B sees the same user.
    let via_b = Directory::new(b_base, &dir.token);
    assert_eq!(
        via_b.get(&format!("Users/{id}")).await.body["active"],
        json!(false)
    );
}
