//! OpenID providers on loopback: the npm package `oidc-provider` run by
//! Node (tests/peers/oidc, installed by scripts/setup.sh), one process per
//! provider, stopped by its process id. `sign_in` walks its development
//! login and consent pages the way a person would.

use crate::Client;
use sekisho_policy::paths;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLIENT_ID: &str = "sekisho-gateway";
pub const CLIENT_SECRET: &str = "sekisho-test-client-secret";

pub struct OidcProvider {
    pub issuer: String,
    child: Child,
}

impl OidcProvider {
    /// Starts a provider at `addr` with `path` ("" or "/adfs") whose only
    /// client may return to `redirects`.
    pub fn start(addr: SocketAddr, path: &str, redirects: &[String]) -> OidcProvider {
        let dir = crate::workspace_dir().join("tests/peers/oidc");
        let issuer = format!("http://{addr}{path}");
        let child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("ISSUER", &issuer)
            .env("PORT", addr.port().to_string())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECTS", redirects.join(","))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node with tests/peers/oidc installed (scripts/setup.sh)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the OpenID provider did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        OidcProvider { issuer, child }
    }

    /// The `[[federation.providers]]` entry for it, as login method `id`;
    /// the client secret goes to a file in `dir`.
    pub fn config(&self, id: &str, dir: &std::path::Path) -> String {
        let secret = dir.join(format!("{id}-client-secret"));
        std::fs::write(&secret, CLIENT_SECRET).unwrap();
        format!(
            "[[federation.providers]]\nid = \"{id}\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"{}\"\n",
            self.issuer,
            secret.display()
        )
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows the provider's pages from `auth_url` as `login` (any password),
/// consenting when asked; returns the URL it sends the browser back to.
pub async fn sign_in(c: &mut Client, auth_url: &str, login: &str) -> String {
    let origin = {
        let rest = auth_url.split_once("://").unwrap().1;
        let host = rest.split('/').next().unwrap();
        format!("http://{host}")
    };
    let absolute = |loc: &str| {
        if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!("{origin}{loc}")
        }
    };
    let mut url = auth_url.to_string();
    for _ in 0..12 {
        let r = c.get(&url).await;
        if r.status == 303 || r.status == 302 {
            let next = absolute(r.location());
            if next.contains(paths::FEDERATION_CALLBACK)
                || next.contains("/callback?") && next.contains("/.sekisho/ad/")
            {
                return next;
            }
            url = next;
            continue;
        }
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        let post = if r.body.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "x")]
        } else {
            vec![("prompt", "consent")]
        };
        let action = form_action(&r.body).unwrap_or_else(|| url.clone());
        let r = c.post(&absolute(&action), &post).await;
        assert!(r.status == 303 || r.status == 302, "{}: {}", action, r.body);
        let next = absolute(r.location());
        if next.contains(paths::FEDERATION_CALLBACK)
            || next.contains("/callback?") && next.contains("/.sekisho/ad/")
        {
            return next;
        }
        url = next;
    }
    panic!("the provider never sent the browser back");
}

fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + 8;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}
