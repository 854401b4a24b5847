//! Passkeys on the pages: "Sign in with a passkey" and the email field's autofill on the login
//! page, "Create account with a passkey" on the sign-up page, and the account page's list
//! (add, rename, remove) with "Add a password" for an account made with a passkey only.
//!
//! The ceremonies need JavaScript: a small module, `public/passkeys.js` (served as
//! [`PASSKEYS_JS`]), not the wasm bundle. These components render what it works on, hidden
//! until it finds a browser with passkeys (`data-passkey` names each part), and a `<noscript>`
//! note says so otherwise; password sign-in works either way. Adding a passkey ends as a plain
//! form post, so the page that comes back says what happened; renaming, removing and adding a
//! password are plain form posts.

use leptos::{either::either, prelude::*, server_fn::ServerFn};

use crate::{
    components::form::{FormError, Input, PostForm, no_js_done, no_js_error},
    fns::passkeys::{AddFinish, AddPassword, Reenable, Remove, Rename, overview},
    model::{PasskeyInfo, limits::PASSKEY_NAME_MAX},
};

/// Where the passkey module is served (`server::assets`): `public/passkeys.js`.
pub const PASSKEYS_JS: &str = "/passkeys.js";

/// The module, loaded by the parts that use it (a module runs once however often it is named).
#[component]
fn PasskeysScript() -> impl IntoView {
    view! { <script type="module" src=PASSKEYS_JS></script> }
}

/// The login page's passkey sign-in: the button, and the autofill in the email field (whose
/// `autocomplete` holds `webauthn`). `next` is where to go after.
#[component]
pub fn PasskeySignIn(next: String) -> impl IntoView {
    view! {
        <div class="passkey-sign-in" data-passkey="sign-in" data-next=next>
            <button type="button" class="secondary" hidden>
                "Sign in with a passkey"
            </button>
            <noscript>
                <p class="muted">
                    "Passkeys need JavaScript, which is off in this browser. Sign in with your password."
                </p>
            </noscript>
            <p class="form-error" role="alert"></p>
            <PasskeysScript />
        </div>
    }
}

/// "Create account with a passkey" on `/register/passkey`: the name and email of the form whose
/// id is `form` (which this sits in), no password. The module also answers the form's submit
/// (Enter in a field); without it the form has no submit button, so it never posts.
#[component]
pub fn PasskeySignUp(form: &'static str) -> impl IntoView {
    view! {
        <div class="passkey-sign-up" data-passkey="sign-up" data-form=form>
            <noscript>
                <p class="muted">
                    "Creating an account with a passkey needs JavaScript, which is off in this \
                     browser. Sign up with a password instead."
                </p>
            </noscript>
            <p class="form-error" role="alert"></p>
            <button type="button" hidden>
                "Create account with a passkey"
            </button>
            <PasskeysScript />
        </div>
    }
}

const ADD_PASSWORD: &[Input] = &[
    Input {
        label: "New password",
        name: "new_password",
        id: "add-password",
        kind: "password",
        autocomplete: "new-password",
        inputmode: None,
    },
    Input {
        label: "Confirm new password",
        name: "new_password_confirm",
        id: "add-password-confirm",
        kind: "password",
        autocomplete: "new-password",
        inputmode: None,
    },
];

/// The account page's passkeys: the list (rename, remove), adding one, and adding a password
/// to an account that has none.
#[component]
pub fn PasskeysSection() -> impl IntoView {
    // Read in this order on the server and in the browser, as their shared values need.
    let rename_refused = no_js_error::<Rename>();
    let remove_refused = no_js_error::<Remove>();
    let reenable_refused = no_js_error::<Reenable>();
    let password_refused = no_js_error::<AddPassword>();
    let add_refused =
        no_js_error::<AddFinish>().map(|e| e.message_for("name").unwrap_or_else(|| e.to_string()));
    let added =
        no_js_done::<AddFinish>().map(|_| "Passkey added. Your other sessions were signed out.");
    let state = Resource::new(|| (), |()| overview());
    let reenabled = no_js_done::<Reenable>()
        .map(|_| "Passkey enabled again. Your other sessions were signed out.");
    let refused = rename_refused
        .or(remove_refused)
        .or(reenable_refused)
        .map(|e| e.message_for("password").unwrap_or_else(|| e.to_string()));
    view! {
        <section class="card" aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <p class="muted">
                "A passkey signs you in with your device's fingerprint, face or PIN instead of a \
                 password. It works only on this site, so it cannot be phished."
            </p>
            <FormError error=Signal::stored(refused) />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let password_refused = password_refused.clone();
                    let add_refused = add_refused.clone();
                    Suspend::new(async move {
                        either!(
                            state.await,
                            Ok(overview) => view! {
                                <PasskeyList passkeys=overview.passkeys has_password=overview.has_password />
                                <AddPasskey has_password=overview.has_password refused=add_refused.clone() />
                                {(!overview.has_password).then(|| view! {
                                    <h3 id="add-password-heading">"Add a password"</h3>
                                    <p class="muted">
                                        "Your account has no password: you sign in with a passkey. \
                                         A password lets you sign in where your passkeys are not."
                                    </p>
                                    <PostForm
                                        action=AddPassword::PATH
                                        inputs=ADD_PASSWORD
                                        button="Add password"
                                        labelled_by="add-password-heading"
                                        refused=password_refused
                                    />
                                })}
                            },
                            Err(err) => view! {
                                <p class="form-error" role="alert">
                                    {format!("Could not load your passkeys. {err}")}
                                </p>
                            },
                        )
                    })
                }}
            </Transition>
            <p role="status">{added.or(reenabled)}</p>
        </section>
    }
}

#[component]
fn PasskeyList(passkeys: Vec<PasskeyInfo>, has_password: bool) -> impl IntoView {
    if passkeys.is_empty() {
        return view! { <p>"You have no passkeys yet."</p> }.into_any();
    }
    view! {
        <ul class="passkeys" aria-label="Your passkeys">
            {passkeys
                .into_iter()
                .map(|p| view! { <PasskeyItem passkey=p has_password /> })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn PasskeyItem(passkey: PasskeyInfo, has_password: bool) -> impl IntoView {
    let input_id = format!("passkey-name-{}", passkey.id);
    let suspended = passkey.suspended.clone().map(|why| {
        view! {
            <p class="form-error">{why}</p>
            <ReenableForm id=passkey.id name=passkey.name.clone() has_password />
        }
    });
    let id = passkey.id.to_string();
    let used = passkey
        .last_used
        .map_or_else(|| "Never used".to_owned(), |at| format!("Last used {at}"));
    view! {
        <li>
            <p>
                <strong>{passkey.name.clone()}</strong>
                {passkey.backed_up.then(|| view! { " " <span class="badge">"Synced"</span> })}
                {passkey
                    .suspended
                    .is_some()
                    .then(|| view! { " " <span class="badge warning">"Suspended"</span> })}
            </p>
            <p class="muted">{format!("Added {} · {used}", passkey.added)}</p>
            {suspended}
            <div class="actions">
                <form method="post" action=Rename::PATH class="inline">
                    <input type="hidden" name="id" value=id.clone() />
                    <label class="visually-hidden" for=input_id.clone()>
                        {format!("New name for {}", passkey.name)}
                    </label>
                    <input
                        id=input_id
                        name="name"
                        type="text"
                        required=true
                        maxlength=PASSKEY_NAME_MAX
                        value=passkey.name.clone()
                    />
                    <button type="submit" class="secondary">"Rename"</button>
                </form>
                <form method="post" action=Remove::PATH class="inline">
                    <input type="hidden" name="id" value=id />
                    <button
                        type="submit"
                        class="danger"
                        aria-label=format!("Remove passkey {}", passkey.name)
                    >
                        "Remove"
                    </button>
                </form>
            </div>
        </li>
    }
}

/// "Re-enable" for a suspended passkey: the account's password (when it has one; otherwise a
/// recent sign-in is required), a plain form post.
#[component]
fn ReenableForm(id: i64, name: String, has_password: bool) -> impl IntoView {
    let field_id = format!("reenable-password-{id}");
    view! {
        <form method="post" action=Reenable::PATH class="inline">
            <input type="hidden" name="id" value=id.to_string() />
            {has_password.then(|| view! {
                <label for=field_id.clone()>{format!("Password to re-enable {name}")}</label>
                <input
                    id=field_id.clone()
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required=true
                />
            })}
            <button type="submit" class="secondary">"Re-enable"</button>
        </form>
    }
}

/// "Add a passkey": a name, the password when the account has one, then the browser's dialog
/// (`public/passkeys.js`), then a plain form post of its answer. A refusal of that post comes
/// back with the page.
#[component]
fn AddPasskey(has_password: bool, refused: Option<String>) -> impl IntoView {
    view! {
        <h3 id="add-passkey-heading">"Add a passkey"</h3>
        <noscript>
            <p class="muted">"Adding a passkey needs JavaScript, which is off in this browser."</p>
        </noscript>
        <form
            method="post"
            action=AddFinish::PATH
            aria-labelledby="add-passkey-heading"
            data-passkey="add"
            hidden
        >
            <input type="hidden" name="ticket" value="" />
            <input type="hidden" name="credential" value="" />
            <div class="field">
                <label for="field-passkey-name">"Name for the new passkey"</label>
                <input
                    id="field-passkey-name"
                    name="name"
                    type="text"
                    value="Passkey"
                    maxlength=PASSKEY_NAME_MAX
                    autocomplete="off"
                />
            </div>
            {has_password.then(|| view! {
                <div class="field">
                    <label for="field-passkey-password">"Account password"</label>
                    // No name: the password goes to the ceremony's start, never into the post.
                    <input
                        id="field-passkey-password"
                        data-passkey-password
                        type="password"
                        autocomplete="current-password"
                        required=true
                    />
                </div>
            })}
            <p class="form-error" role="alert">{refused}</p>
            <button type="submit">"Add a passkey"</button>
            <PasskeysScript />
        </form>
    }
}
