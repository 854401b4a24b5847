//! `/login/code`: a sign-in's second step, for accounts with two-step sign-in. The password was
//! right; now the 6-digit code from the authenticator app, or (`?method=recovery`) one of the
//! recovery codes.
//!
//! A plain form post, with JavaScript too (as the password reset): once the code is right the
//! server signs this browser in and redirects to the page asked for, which loads afresh with the
//! new session; a refused code comes back with the page, its message (with the tries left) in
//! the one-time cookie of `server::form_posts`, next to the field. So the page holds no action
//! and adds little to the wasm bundle.

use leptos::{either::either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{
        form::{Input, PostForm, no_js_error},
        page_title,
    },
    error::AppError,
    fns::two_step::{SubmitCode, code_pending},
    paths,
};

const CODE: &[Input] = &[Input {
    label: "6-digit code",
    name: "code",
    id: "code",
    kind: "text",
    autocomplete: "one-time-code",
    inputmode: Some("numeric"),
}];
const RECOVERY_CODE: &[Input] = &[Input {
    label: "Recovery code",
    name: "recovery_code",
    id: "recovery_code",
    kind: "text",
    autocomplete: "off",
    inputmode: None,
}];

#[component]
pub fn LoginCodePage() -> impl IntoView {
    let query = use_query_map();
    // Passed through to the server, which accepts only our own pages (no open redirect).
    let next = move || query.read().get("next").unwrap_or_default();
    let recovery = move || query.read().get("method").as_deref() == Some("recovery");
    let refused = no_js_error::<SubmitCode>();
    // The sign-in this browser's (HttpOnly) cookie holds: still waiting for its code, or not.
    let waiting = OnceResource::new(code_pending());
    view! {
        <Title text=page_title("Two-step sign-in") />
        <section class="card">
            <h1>"Two-step sign-in"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    // Read here, not in the future: a click on the other method's link changes
                    // only the query, and this closure runs again for it.
                    let (next, recovery, refused) = (next(), recovery(), refused.clone());
                    Suspend::new(async move {
                        either!(
                            waiting.await,
                            Ok(true) => view! { <CodeForm next recovery refused /> },
                            Ok(false) => view! {
                                <p role="alert">{AppError::SignInExpired.to_string()}</p>
                                <p>
                                    <a class="button" href=paths::login_again(&next)>
                                        "Sign in again"
                                    </a>
                                </p>
                            },
                            Err(err) => view! {
                                <p class="form-error" role="alert">
                                    {err.to_string()}
                                </p>
                            },
                        )
                    })
                }}
            </Transition>
        </section>
    }
}

/// The code field (or the recovery code field), and the way to the other one: a plain link,
/// which works without JavaScript.
#[component]
fn CodeForm(next: String, recovery: bool, refused: Option<AppError>) -> impl IntoView {
    let (hint, inputs, other, other_href) = if recovery {
        (
            "Enter one of the recovery codes you saved when you turned on two-step sign-in. \
             Each code works once.",
            RECOVERY_CODE,
            "Use a code from your authenticator app instead",
            paths::login_code_then(&next),
        )
    } else {
        (
            "Enter the 6-digit code from your authenticator app.",
            CODE,
            "Use a recovery code instead",
            paths::login_recovery_then(&next),
        )
    };
    view! {
        <p id="code-hint">{hint}</p>
        <PostForm
            action=SubmitCode::PATH
            inputs
            button="Continue"
            hidden=("next", next)
            described_by="code-hint"
            // The page is there for this one field.
            focus=true
            refused
        />
        <p>
            <a href=other_href>{other}</a>
        </p>
    }
}
