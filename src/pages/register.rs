//! `/register`: create an account with a password (a page with no script), and
//! `/register/passkey`: with a passkey instead (the page that loads the passkey module).

use crate::components::page_title;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    app::Auth,
    components::form::{
        Field, FormError, action_error_or, field_message, focus_first_invalid, general_message,
        no_js_refusal,
    },
    fns::auth::Register,
    model::limits::NAME_MAX,
    pages::passkeys::PasskeySignUp,
    paths,
};

const FIELDS: &[&str] = &["name", "email", "password", "password_confirm"];

#[component]
pub fn RegisterPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let register = auth.register;
    // Without JavaScript a refused form comes back with its name and email filled in again.
    let refusal = no_js_refusal::<Register>();
    let typed = |field: &str| refusal.as_ref().and_then(|r| r.value(field));
    let (name, email) = (typed("name"), typed("email"));
    let error = action_error_or(register, refusal.map(|r| r.error));
    let pending = register.pending();
    let form = NodeRef::<leptos::html::Form>::new();
    focus_first_invalid(form, error);
    // Without JavaScript the refused form comes back: the focus starts on its first bad field.
    let first_bad = error
        .get_untracked()
        .and_then(|e| FIELDS.iter().copied().find(|f| e.message_for(f).is_some()));
    view! {
        <Title text=page_title("Sign up") />
        <section class="card">
            <h1>"Sign up"</h1>
            <ActionForm action=register node_ref=form>
                <Field
                    label="Name"
                    name="name"
                    autocomplete="name"
                    maxlength=NAME_MAX
                    required=true
                    error=field_message(error, "name")
                    autofocus=first_bad == Some("name")
                    value=name
                />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    required=true
                    error=field_message(error, "email")
                    autofocus=first_bad == Some("email")
                    value=email
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    error=field_message(error, "password")
                    autofocus=first_bad == Some("password")
                />
                <Field
                    label="Confirm password"
                    name="password_confirm"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    error=field_message(error, "password_confirm")
                    autofocus=first_bad == Some("password_confirm")
                />
                <FormError error=general_message(error, FIELDS) />
                <button type="submit" aria-disabled=move || pending.get().to_string() aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Signing up…" } else { "Sign up" }}
                </button>
            </ActionForm>
            <p>
                "Or skip the password: "
                <A href=paths::REGISTER_PASSKEY>"create an account with a passkey"</A>
            </p>
            <p>"Already have an account? " <A href=paths::LOGIN>"Log in"</A></p>
        </section>
    }
}

/// `/register/passkey`: a name and an email, then the device's passkey (fingerprint, face or
/// PIN) instead of a password. The ceremony is the passkey module's (`public/passkeys.js`);
/// without JavaScript the page says so and points to the password sign-up.
#[component]
pub fn RegisterPasskeyPage() -> impl IntoView {
    view! {
        <Title text=page_title("Sign up with a passkey") />
        <section class="card">
            <h1>"Sign up with a passkey"</h1>
            <p class="muted">
                "Your device's passkey (fingerprint, face or PIN) signs you in: no password to \
                 choose or remember. You can add a password later on your account page."
            </p>
            <form id="passkey-sign-up-form">
                <Field
                    label="Name"
                    name="name"
                    autocomplete="name"
                    maxlength=NAME_MAX
                    required=true
                    error=Signal::stored(None::<String>)
                />
                <Field
                    label="Email"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    required=true
                    error=Signal::stored(None::<String>)
                />
                <PasskeySignUp form="passkey-sign-up-form" />
            </form>
            <p>
                "Rather use a password? " <A href=paths::REGISTER>"Sign up with a password"</A>
            </p>
            <p>"Already have an account? " <A href=paths::LOGIN>"Log in"</A></p>
        </section>
    }
}
