//! `/forgot-password`: asks for the address a password-reset link goes to. The answer is the
//! same whether or not an account has that address, so the page cannot tell anyone which
//! addresses have accounts.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{
        form::{
            Field, FormError, action_done, action_error, field_message, focus_first_invalid,
            general_message,
        },
        page_title,
    },
    fns::email::RequestPasswordReset,
    paths,
};

/// What the page says once the request went through (the link works for 30 minutes:
/// `server::email::RESET_VALID_FOR`).
const SENT: &str =
    "If an account exists for that address, we sent a link to it. It works for 30 minutes.";

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let forgot = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(forgot);
    let pending = forgot.pending();
    let form = NodeRef::<leptos::html::Form>::new();
    focus_first_invalid(form, error);
    let came_back_refused = error.get_untracked().is_some();
    let done = action_done(forgot);
    let sent = move || done.get().map(|()| SENT);
    view! {
        <Title text=page_title("Forgot your password") />
        <section class="card">
            <h1>"Forgot your password?"</h1>
            <p>
                "Enter the email address of your account. We will send you a link to choose a new password."
            </p>
            <ActionForm action=forgot node_ref=form>
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    required=true
                    error=field_message(error, "email")
                    autofocus=came_back_refused
                />
                <FormError error=general_message(error, &["email"]) />
                <p class="notice" role="status">{sent}</p>
                <button type="submit" aria-disabled=move || pending.get().to_string() aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Sending…" } else { "Send me a link" }}
                </button>
            </ActionForm>
            <p>
                "Remembered it? " <a href=paths::LOGIN>"Log in"</a>
            </p>
        </section>
    }
}
