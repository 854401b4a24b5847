//! Passkeys on the pages: "Sign in with a passkey" and the email field's autofill on the login
//! page, "Create account with a passkey" on the sign-up page, and the account page's list
//! (add, rename, remove) with "Add a password" for an account made with a passkey only.
//!
//! The ceremonies need JavaScript (`crate::passkey`): their buttons appear once the page is
//! live in a browser that has passkeys, and a `<noscript>` note says so otherwise; password
//! sign-in works either way. Renaming, removing and adding a password are plain form posts.

use std::time::Duration;

use leptos::{either::either, prelude::*, server_fn::ServerFn, task::spawn_local};

use crate::{
    components::form::{FormError, Input, PostForm, no_js_error},
    error::AppError,
    fns::passkeys::{
        AddPassword, Remove, Rename, add_finish, add_start, overview, sign_in_finish,
        sign_in_start, sign_up_finish, sign_up_start,
    },
    model::{PasskeyInfo, limits::PASSKEY_NAME_MAX},
    passkey::{self, Failure},
};

/// Leaves the page for `path` with a full load: the new session's cookies are in place, and
/// every part of the app starts from them.
fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Shows `err` in `error` when it has something to say.
fn report(error: RwSignal<Option<String>>, failure: &Failure) {
    if let Some(message) = failure.message() {
        error.set(Some(message));
    }
}

/// A server error as one sentence: field messages joined (a passkey sign-up's name or email).
fn sentence(err: &AppError) -> String {
    match err {
        AppError::Validation(errors) => errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// True once the page is live in a browser that has passkeys.
fn passkeys_ready() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(passkey::supported()));
    ready
}

/// How one passkey sign-in ended.
enum Outcome {
    /// Signed in: the page is leaving.
    SignedIn,
    /// The person picked a passkey and the server refused it (the reason is shown).
    Refused,
    /// No answer to send: the browser gave none, or no ceremony could start.
    Stopped(Option<Failure>),
}

/// One passkey sign-in: a new ceremony, the browser's answer (from the dialog, or from the
/// email field's autofill when `abort` is given), the server's check.
async fn sign_in_once(
    next: String,
    abort: Option<passkey::Abort>,
    error: RwSignal<Option<String>>,
) -> Outcome {
    let ceremony = match sign_in_start().await {
        Ok(ceremony) => ceremony,
        Err(err) => {
            error.set(Some(sentence(&err)));
            return Outcome::Stopped(None);
        }
    };
    let conditional = abort.is_some();
    let answer = match passkey::sign_in(&ceremony.options, conditional, abort.as_ref()).await {
        Ok(answer) => answer,
        Err(failure) => return Outcome::Stopped(Some(failure)),
    };
    match sign_in_finish(ceremony.ticket, answer, Some(next)).await {
        Ok(path) => {
            go_to(&path);
            Outcome::SignedIn
        }
        Err(err) => {
            error.set(Some(sentence(&err)));
            Outcome::Refused
        }
    }
}

/// The wait before the page offers a passkey in the email field's autofill again after the
/// server refused one; it doubles with each refusal in a row.
const AUTOFILL_RETRY_AFTER: Duration = Duration::from_secs(3);

/// Refusals in a row after which the page stops offering autofill by itself (3 + 6 + 12 + 24 s of
/// waits): a person clicking "Sign in with a passkey" starts again. A copied passkey, or a
/// device that keeps answering with a passkey the server refuses, cannot make the page hammer
/// the server.
const AUTOFILL_RETRIES: u32 = 4;

/// What the login page's passkey sign-in keeps between its attempts.
#[derive(Clone, Copy)]
struct SignInState {
    next: Signal<String>,
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    /// The waiting autofill request's abort handle. The browser's handle is not `Send`: local
    /// storage in the browser; on the server (where it is `()`) the thread-safe kind, since a
    /// page may be dropped on another thread.
    #[cfg(feature = "hydrate")]
    autofill: StoredValue<Option<passkey::Abort>, LocalStorage>,
    #[cfg(not(feature = "hydrate"))]
    autofill: StoredValue<Option<passkey::Abort>>,
}

impl SignInState {
    /// Offers the passkeys in the email field's autofill: the request waits in the background
    /// for the person to pick one. It says nothing when the browser gives up on it (no passkey
    /// here, an address passkeys cannot use): nobody asked. After `refusals` refusals in a row
    /// it is offered again only after a growing wait, and at most [`AUTOFILL_RETRIES`] times.
    fn offer_autofill(self, refusals: u32) {
        spawn_local(async move {
            if self.busy.get_untracked() || !passkey::autofill_available().await {
                return;
            }
            let Some(handle) = passkey::abort_handle() else {
                return;
            };
            self.autofill.set_value(Some(handle.clone()));
            let outcome = sign_in_once(self.next.get_untracked(), Some(handle), self.error).await;
            if matches!(outcome, Outcome::Refused) {
                self.offer_autofill_later(refusals + 1);
            }
        });
    }

    /// [`Self::offer_autofill`] after the wait that `refusals` refusals in a row call for.
    fn offer_autofill_later(self, refusals: u32) {
        if refusals > AUTOFILL_RETRIES {
            return;
        }
        let wait = AUTOFILL_RETRY_AFTER * 2u32.pow(refusals.saturating_sub(1));
        set_timeout(move || self.offer_autofill(refusals), wait);
    }
}

/// The login page's passkey sign-in: the button, and the autofill in the email field (whose
/// `autocomplete` holds `webauthn`). `next` is where to go after.
#[component]
pub fn PasskeySignIn(#[prop(into)] next: Signal<String>) -> impl IntoView {
    let ready = passkeys_ready();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let state = SignInState {
        next,
        error,
        busy,
        #[cfg(feature = "hydrate")]
        autofill: StoredValue::new_local(None),
        #[cfg(not(feature = "hydrate"))]
        autofill: StoredValue::new(None),
    };
    Effect::new(move |_| {
        if ready.get() {
            state.offer_autofill(0);
        }
    });
    let on_click = move |_| {
        if busy.get_untracked() {
            return;
        }
        // One request at a time: the autofill one steps aside for the dialog.
        state.autofill.update_value(|handle| {
            if let Some(handle) = handle.take() {
                passkey::abort(&handle);
            }
        });
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let outcome = sign_in_once(next.get_untracked(), None, error).await;
            // Signed in: the page is leaving, and the button keeps saying it is busy.
            if matches!(outcome, Outcome::SignedIn) {
                return;
            }
            busy.set(false);
            match outcome {
                // The person acted: autofill is offered again, after the first wait.
                Outcome::Refused => state.offer_autofill_later(1),
                Outcome::Stopped(failure) => {
                    if let Some(failure) = failure {
                        report(error, &failure);
                    }
                    state.offer_autofill(0);
                }
                Outcome::SignedIn => {}
            }
        });
    };
    view! {
        <div class="passkey-sign-in">
            <button
                type="button"
                class="secondary"
                hidden=move || !ready.get()
                aria-busy=move || busy.get().to_string()
                on:click=on_click
            >
                {move || if busy.get() { "Waiting for your passkey…" } else { "Sign in with a passkey" }}
            </button>
            <noscript>
                <p class="muted">
                    "Passkeys need JavaScript, which is off in this browser. Sign in with your password."
                </p>
            </noscript>
            <FormError error=error />
        </div>
    }
}

/// The sign-up page's "Create account with a passkey": the name and email of `form`, no
/// password.
#[component]
pub fn PasskeySignUp(form: NodeRef<leptos::html::Form>) -> impl IntoView {
    let ready = passkeys_ready();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let on_click = move |_| {
        if busy.get_untracked() {
            return;
        }
        let Some((name, email)) = form.get_untracked().and_then(|form| name_and_email(&form))
        else {
            return;
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let done = async {
                let ceremony = sign_up_start(name, email).await.map_err(|e| sentence(&e))?;
                let answer = passkey::create(&ceremony.options)
                    .await
                    .map_err(|f| f.message().unwrap_or_default())?;
                sign_up_finish(ceremony.ticket, answer, None)
                    .await
                    .map_err(|e| sentence(&e))
            }
            .await;
            match done {
                Ok(path) => go_to(&path),
                Err(message) => {
                    error.set((!message.is_empty()).then_some(message));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <div class="passkey-sign-up">
            <p class="muted" hidden=move || !ready.get()>
                "Or skip the password: your device's passkey (fingerprint, face or PIN) signs you in."
            </p>
            <button
                type="button"
                class="secondary"
                hidden=move || !ready.get()
                aria-busy=move || busy.get().to_string()
                on:click=on_click
            >
                {move || {
                    if busy.get() { "Waiting for your passkey…" } else { "Create account with a passkey" }
                }}
            </button>
            <noscript>
                <p class="muted">"Creating an account with a passkey needs JavaScript."</p>
            </noscript>
            <FormError error=error />
        </div>
    }
}

/// The `name` and `email` fields of a form.
fn name_and_email(form: &leptos::web_sys::HtmlFormElement) -> Option<(String, String)> {
    #[cfg(feature = "hydrate")]
    {
        let data = web_sys::FormData::new_with_form(form).ok()?;
        Some((
            data.get("name").as_string()?,
            data.get("email").as_string()?,
        ))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = form;
        None
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
    let password_refused = no_js_error::<AddPassword>();
    let version = RwSignal::new(0u32);
    // Outside the list's `Transition`: the list is drawn again after an addition, and the
    // message must outlive that.
    let done = RwSignal::new(None::<String>);
    let state = Resource::new(move || version.get(), |_| overview());
    let refused = rename_refused.or(remove_refused).map(|e| e.to_string());
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
                    Suspend::new(async move {
                        either!(
                            state.await,
                            Ok(overview) => view! {
                                <PasskeyList passkeys=overview.passkeys />
                                <AddPasskey has_password=overview.has_password version done />
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
            <p role="status">{move || done.get()}</p>
        </section>
    }
}

#[component]
fn PasskeyList(passkeys: Vec<PasskeyInfo>) -> impl IntoView {
    if passkeys.is_empty() {
        return view! { <p>"You have no passkeys yet."</p> }.into_any();
    }
    view! {
        <ul class="passkeys" aria-label="Your passkeys">
            {passkeys.into_iter().map(|p| view! { <PasskeyItem passkey=p /> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn PasskeyItem(passkey: PasskeyInfo) -> impl IntoView {
    let input_id = format!("passkey-name-{}", passkey.id);
    let id = passkey.id.to_string();
    let used = passkey
        .last_used
        .map_or_else(|| "Never used".to_owned(), |at| format!("Last used {at}"));
    view! {
        <li>
            <p>
                <strong>{passkey.name.clone()}</strong>
                {passkey.backed_up.then(|| view! { " " <span class="badge">"Synced"</span> })}
            </p>
            <p class="muted">{format!("Added {} · {used}", passkey.added)}</p>
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

/// "Add a passkey": a name, the password when the account has one, then the browser's dialog.
#[component]
fn AddPasskey(
    has_password: bool,
    version: RwSignal<u32>,
    done: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();
    let ready = passkeys_ready();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let passkey_name = name.get_untracked().map(|i| i.value()).unwrap_or_default();
        let typed = password.get_untracked().map(|i| i.value());
        busy.set(true);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            let outcome = async {
                let ceremony = add_start(typed).await.map_err(|e| sentence(&e))?;
                let answer = passkey::create(&ceremony.options)
                    .await
                    .map_err(|f| f.message().unwrap_or_default())?;
                add_finish(ceremony.ticket, answer, passkey_name)
                    .await
                    .map_err(|e| sentence(&e))
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(_) => {
                    done.set(Some(
                        "Passkey added. Your other sessions were signed out.".into(),
                    ));
                    version.update(|v| *v += 1);
                }
                Err(message) => error.set((!message.is_empty()).then_some(message)),
            }
        });
    };
    view! {
        <h3 id="add-passkey-heading">"Add a passkey"</h3>
        <noscript>
            <p class="muted">"Adding a passkey needs JavaScript, which is off in this browser."</p>
        </noscript>
        <form aria-labelledby="add-passkey-heading" on:submit=on_submit hidden=move || !ready.get()>
            <div class="field">
                <label for="field-passkey-name">"Name for the new passkey"</label>
                <input
                    id="field-passkey-name"
                    node_ref=name
                    type="text"
                    value="Passkey"
                    maxlength=PASSKEY_NAME_MAX
                    autocomplete="off"
                />
            </div>
            {has_password.then(|| view! {
                <div class="field">
                    <label for="field-passkey-password">"Account password"</label>
                    <input
                        id="field-passkey-password"
                        node_ref=password
                        type="password"
                        autocomplete="current-password"
                        required=true
                    />
                </div>
            })}
            <FormError error=error />
            <button type="submit" aria-busy=move || busy.get().to_string()>
                {move || if busy.get() { "Waiting for your passkey…" } else { "Add a passkey" }}
            </button>
        </form>
    }
}
