//! `/dev/mailbox`: the mail a development server would have sent, readable in the browser with
//! its links clickable, the way Phoenix's and Rails' mail previews work. Routed only when mail
//! is kept for it (development without `SMTP_URL`); anywhere else the paths are unknown (404).

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use super::templates::escape;
use crate::{
    error::{AppError, Resource},
    server::{db, headers::mailbox_content_security_policy, sessions::utc_text, state::AppState},
};

/// The newest messages the list shows.
const SHOWN: i64 = 100;

/// The pages' one stylesheet (allowed by its hash in their CSP).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;\
     padding:0 1rem;line-height:1.5}table{border-collapse:collapse;width:100%}\
     th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ccc}\
     pre{white-space:pre-wrap;background:#f4f4f4;padding:1rem;border-radius:6px}\
     .note{color:#555}";

/// The mailbox's routes, for the router to merge when mail is kept for it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/mailbox", get(list))
        .route("/dev/mailbox/{id}", get(show))
        .route("/dev/mailbox/{id}/html", get(show_html))
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Development mailbox · Tasks</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        title = escape(title),
    );
    let mut response = Html(html).into_response();
    if let Ok(csp) = HeaderValue::from_str(&mailbox_content_security_policy(STYLE)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

async fn list(State(state): State<AppState>) -> Result<Response, AppError> {
    let messages = db::mail::newest(&state.db, SHOWN).await?;
    let mut body = String::from(
        "<h1>Development mailbox</h1><p class=\"note\">Mail this development server would \
         have sent, newest first. Set <code>SMTP_URL</code> to send it for real; in \
         production this page does not exist.</p>",
    );
    if messages.is_empty() {
        body.push_str("<p>No mail yet.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th scope=\"col\">Sent</th><th scope=\"col\">To</th>\
             <th scope=\"col\">Subject</th></tr></thead><tbody>",
        );
        for m in &messages {
            body.push_str(&format!(
                "<tr><td>{at}</td><td>{to}</td><td><a href=\"/dev/mailbox/{id}\">{subject}</a>\
                 </td></tr>",
                at = utc_text(m.created_at),
                to = escape(&m.recipient),
                id = m.id,
                subject = escape(&m.subject),
            ));
        }
        body.push_str("</tbody></table>");
    }
    Ok(page("Messages", &body))
}

async fn find(state: &AppState, id: &str) -> Result<db::mail::QueuedMail, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound(Resource::Mail))?;
    db::mail::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound(Resource::Mail))
}

/// Text with every `http://` and `https://` address made a link.
fn linkify(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = [rest.find("http://"), rest.find("https://")]
        .into_iter()
        .flatten()
        .min()
    {
        out.push_str(&escape(&rest[..start]));
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |e| start + e);
        let url = &rest[start..end];
        out.push_str(&format!(
            "<a href=\"{href}\">{href}</a>",
            href = escape(url)
        ));
        rest = &rest[end..];
    }
    out.push_str(&escape(rest));
    out
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let m = find(&state, &id).await?;
    let body = format!(
        "<p><a href=\"/dev/mailbox\">All messages</a></p><h1>{subject}</h1>\
         <dl><dt>To</dt><dd>{to}</dd><dt>Queued</dt><dd>{at}</dd></dl>\
         <h2>Plain-text part</h2><pre>{text}</pre>\
         <p><a href=\"/dev/mailbox/{id}/html\">The HTML part</a></p>",
        subject = escape(&m.subject),
        to = escape(&m.recipient),
        at = utc_text(m.created_at),
        text = linkify(&m.text_body),
        id = m.id,
    );
    Ok(page(&m.subject, &body))
}

/// The HTML part as the mail has it, in a sandbox: no script, no request anywhere, its inline
/// styles allowed.
async fn show_html(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let m = find(&state, &id).await?;
    let mut response = (StatusCode::OK, Html(m.html_body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox allow-top-navigation-by-user-activation; default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:; form-action 'none'; \
             frame-ancestors 'none'",
        ),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_text_become_links_and_the_rest_is_escaped() {
        assert_eq!(
            linkify("Open <this>:\nhttp://127.0.0.1:3000/verify-email?token=a&b=1\nbye"),
            "Open &lt;this&gt;:\n<a href=\"http://127.0.0.1:3000/verify-email?token=a&amp;b=1\">\
             http://127.0.0.1:3000/verify-email?token=a&amp;b=1</a>\nbye"
        );
        assert_eq!(
            linkify("a https://x.example/1 b http://y.example/2"),
            "a <a href=\"https://x.example/1\">https://x.example/1</a> b \
             <a href=\"http://y.example/2\">http://y.example/2</a>"
        );
    }
}
