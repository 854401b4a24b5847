//! `/login`: email and password.

use crate::components::page_title;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    app::Auth,
    components::form::{Field, FormError, action_error, field_message, general_message},
    paths,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let login = auth.login;
    let query = use_query_map();
    // Passed through to the server, which accepts only our own pages (no open redirect).
    let next = move || query.read().get("next").unwrap_or_default();
    let error = action_error(login);
    let pending = login.pending();
    view! {
        <Title text=page_title("Log in") />
        <section class="card">
            <h1>"Log in"</h1>
            <ActionForm action=login>
                <input type="hidden" name="next" value=next />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="username"
                    required=true
                    error=field_message(error, "email")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_message(error, "password")
                />
                <FormError error=general_message(error, &["email", "password"]) />
                <button type="submit" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p>"New here? " <A href=paths::REGISTER>"Create an account"</A></p>
        </section>
    }
}
