//! The same requests as the in-process helpers, but over real TCP to a server at `base`
//! (`http://127.0.0.1:port`): for tests with several servers or a real server process.

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use super::PASSWORD;

/// Registers `email` through the JSON API; panics unless it is created.
pub async fn register(client: &Client, base: &str, email: &str) {
    let reply = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": email, "name": "Wire User", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
}

/// The OAuth2 password grant: status and JSON body (`Null` when not JSON).
pub async fn token(
    client: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    let reply = client
        .post(format!("{base}/api/v1/auth/token"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .unwrap();
    (reply.status(), reply.json().await.unwrap_or(Value::Null))
}

/// Registers `email` and returns an access token for it.
pub async fn bearer(client: &Client, base: &str, email: &str) -> String {
    register(client, base, email).await;
    let (status, body) = token(client, base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    field(&body, "access_token")
}

/// Signs `email` up through the web form's server function, like the browser, and returns the
/// `Cookie` header value the browser would send from then on.
pub async fn browser_sign_up(client: &Client, base: &str, email: &str) -> String {
    let reply = client
        .post(format!("{base}/api/register"))
        .header(header::ACCEPT, "application/json")
        .form(&[
            ("name", "Browser User"),
            ("email", email),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    reply
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every task `token`'s user has, as `(id, title)` in the API's order (newest first), following
/// the `next` links page by page.
pub async fn all_tasks(client: &Client, base: &str, token: &str) -> Vec<(i64, String)> {
    let mut tasks = Vec::new();
    let mut next = Some("/api/v1/tasks?limit=200".to_owned());
    while let Some(path) = next {
        let reply = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let body: Value = reply.json().await.unwrap();
        for item in body["items"].as_array().unwrap() {
            tasks.push((
                item["id"].as_i64().unwrap(),
                item["title"].as_str().unwrap().to_owned(),
            ));
        }
        next = body["next"].as_str().map(str::to_owned);
    }
    tasks
}

/// A string field of a JSON body, or a panic that shows the body.
pub fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .to_owned()
}
