//! `/login`: email and password.

use crate::components::page_title;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    app::Auth,
    components::form::{
        Field, FormError, action_error_or, field_message, focus_first_invalid, general_message,
        no_js_refusal,
    },
    fns::auth::Login,
    pages::passkeys::PasskeySignIn,
    paths,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let login = auth.login;
    let query = use_query_map();
    // Passed through to the server, which accepts only our own pages (no open redirect).
    let next = move || query.read().get("next").unwrap_or_default();
    // Without JavaScript a refused login comes back with its email filled in again.
    let refusal = no_js_refusal::<Login>();
    let email = refusal.as_ref().and_then(|r| r.value("email"));
    let error = action_error_or(login, refusal.map(|r| r.error));
    let pending = login.pending();
    // "Incorrect email or password." is about both fields: both are marked and name it.
    let general = general_message(error, &["email", "password"]);
    let refused = Signal::derive(move || general.get().is_some());
    let form = NodeRef::<leptos::html::Form>::new();
    focus_first_invalid(form, error);
    let came_back_refused = error.get_untracked().is_some();
    view! {
        <Title text=page_title("Log in") />
        <section class="card">
            <h1>"Log in"</h1>
            <ActionForm action=login node_ref=form>
                <input type="hidden" name="next" value=next />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="username webauthn"
                    required=true
                    error=field_message(error, "email")
                    invalid=refused
                    described_by=Some("login-error")
                    autofocus=came_back_refused
                    value=email
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_message(error, "password")
                    invalid=refused
                    described_by=Some("login-error")
                />
                <FormError error=general id="login-error" />
                // aria-disabled, not disabled: a disabled button would drop the focus.
                <button type="submit" aria-disabled=move || pending.get().to_string() aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <PasskeySignIn next=next() />
            <p>
                <A href=paths::FORGOT_PASSWORD>"Forgot your password?"</A>
            </p>
            <p>"New here? " <A href=paths::REGISTER>"Create an account"</A></p>
        </section>
    }
}
