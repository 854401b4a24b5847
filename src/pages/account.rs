//! `/account`: the signed-in person's own account. Their email address (verified or not, and
//! changing it), where they are signed in (signing any of those out), changing the password
//! (which signs out every other session), two-step sign-in (`pages::two_step`), their recent
//! security activity, downloading their data, and deleting the account.

use crate::components::page_title;
use leptos::{html, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::{
    app::Auth,
    components::{
        activity::ActivityEntry,
        form::{
            Field, FormError, action_done, action_error, action_error_or, field_message,
            focus_first_invalid, general_message, no_js_done, no_js_error, no_js_refusal,
        },
    },
    error::AppError,
    fns::{
        account::{DeleteMyAccount, my_activity},
        alerts::{SetNewDeviceMail, new_device_mail},
        auth::{ChangePassword, RevokeOtherSessions, RevokeSession, list_sessions},
        email::RequestEmailChange,
    },
    model::{SessionInfo, limits::EMAIL_MAX},
    pages::{passkeys::PasskeysSection, two_step::TwoStepSection},
    paths,
};

const PASSWORD_FIELDS: &[&str] = &["current_password", "new_password", "new_password_confirm"];
const EMAIL_FIELDS: &[&str] = &["new_email", "password"];

fn is_signed_out(error: &AppError) -> bool {
    matches!(error, AppError::Unauthorized | AppError::InvalidToken)
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_others = ServerAction::<RevokeOtherSessions>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let changes = move || {
        (
            revoke.version().get(),
            revoke_others.version().get(),
            change_password.version().get(),
        )
    };
    let sessions = Resource::new(changes, |_| list_sessions());
    // What those changes did shows up in the activity too.
    let activity = Resource::new(changes, |_| my_activity());

    let revoke_error = action_error(revoke);
    let others_error = action_error(revoke_others);
    let password_error = action_error(change_password);
    let delete_error = no_js_error::<DeleteMyAccount>();

    // A session revoked from elsewhere while this page was open: log in again.
    let navigate = use_navigate();
    Effect::new(move |_| {
        let expired = matches!(sessions.get(), Some(Err(ref e)) if is_signed_out(e))
            || matches!(activity.get(), Some(Err(ref e)) if is_signed_out(e))
            || revoke_error.get().as_ref().is_some_and(is_signed_out)
            || others_error.get().as_ref().is_some_and(is_signed_out)
            || password_error.get().as_ref().is_some_and(is_signed_out);
        if expired {
            auth.session_ended();
            navigate(&paths::login_then(paths::ACCOUNT), Default::default());
        }
    });

    let password_form = NodeRef::<html::Form>::new();
    focus_first_invalid(password_form, password_error);
    Effect::new(move |_| {
        if let Some(Ok(_)) = change_password.value().get()
            && let Some(form) = password_form.get()
        {
            form.reset();
        }
    });
    // With JavaScript or without (a plain post's answer comes back with the page).
    let password_changed = action_done(change_password);
    let others_ended = action_done(revoke_others);
    let password_done = move || {
        password_changed.get().map(|ended| match ended {
            0 => "Password changed.".to_owned(),
            1 => "Password changed. 1 other session was signed out.".to_owned(),
            n => format!("Password changed. {n} other sessions were signed out."),
        })
    };
    let others_done = move || {
        others_ended.get().map(|ended| match ended {
            1 => "1 other session was signed out.".to_owned(),
            n => format!("{n} other sessions were signed out."),
        })
    };
    let list_error = Signal::derive(move || {
        revoke_error
            .get()
            .or_else(|| others_error.get())
            .map(|e| e.to_string())
    });
    let changing = change_password.pending();

    view! {
        <Title text=page_title("Account") />
        <h1 class="page-heading">"Your account"</h1>
        <EmailSection auth />
        <section class="card sessions" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p class="muted">"Where you are signed in. Sign out any device you do not recognise."</p>
            <FormError error=list_error />
            <p class="notice" role="status">{others_done}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading your sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => {
                            let others = list.iter().filter(|s| !s.current).count();
                            view! {
                                <ul class="session-list" aria-label="Your sessions">
                                    {list
                                        .into_iter()
                                        .map(|session| view! { <SessionItem session revoke /> })
                                        .collect_view()}
                                </ul>
                                <ActionForm action=revoke_others>
                                    <button
                                        type="submit"
                                        class="danger"
                                        disabled=move || others == 0 || revoke_others.pending().get()
                                    >
                                        "Sign out everywhere else"
                                    </button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <p class="form-error" role="alert">
                                    {format!("Could not load your sessions. {err}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <p class="muted">"Changing your password signs out all your other sessions."</p>
            <ActionForm action=change_password node_ref=password_form>
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_message(password_error, "current_password")
                />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    error=field_message(password_error, "new_password")
                />
                <Field
                    label="Confirm new password"
                    name="new_password_confirm"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    error=field_message(password_error, "new_password_confirm")
                />
                <FormError error=general_message(password_error, PASSWORD_FIELDS) />
                <p class="notice" role="status">{password_done}</p>
                <button type="submit" aria-disabled=move || changing.get().to_string() aria-busy=move || changing.get().to_string()>
                    {move || if changing.get() { "Changing…" } else { "Change password" }}
                </button>
            </ActionForm>
        </section>
        <SignInAlerts />
        <PasskeysSection />
        <TwoStepSection />
        <section class="card" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Recent activity"</h2>
            <p class="muted">
                "Sign-ins, failed attempts and changes to your account, newest first. \
                 Something you do not recognise? Change your password."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading your activity…"</p> }>
                {move || Suspend::new(async move {
                    match activity.await {
                        Ok(items) if items.is_empty() => {
                            view! { <p class="muted">"Nothing yet."</p> }.into_any()
                        }
                        Ok(items) => {
                            view! {
                                <ul class="activity-list" aria-labelledby="activity-heading">
                                    {items
                                        .into_iter()
                                        .map(|item| view! { <ActivityEntry item /> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <p class="form-error" role="alert">
                                    {format!("Could not load your activity. {err}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
        <section class="card" aria-labelledby="export-heading">
            <h2 id="export-heading">"Download my data"</h2>
            <p class="muted">
                "Everything Tasks keeps about you (your profile, every task, your sessions and \
                 your activity) as one JSON file."
            </p>
            // A plain download from the REST API, which takes the browser's cookie: it works
            // without JavaScript, and rel="external" keeps the router out of it.
            <a
                class="button secondary"
                href=paths::MY_DATA_EXPORT
                download="tasks-export.json"
                rel="external"
            >
                "Download my data"
            </a>
        </section>
        <DeleteAccount error=delete_error />
    }
}

/// Sign-in alerts: whether a sign-in from a new browser is mailed (security-change mails always
/// go). A plain form post, with JavaScript or without.
#[component]
fn SignInAlerts() -> impl IntoView {
    let refused = no_js_error::<SetNewDeviceMail>().map(|e| e.to_string());
    let saved = no_js_done::<SetNewDeviceMail>().map(|(on, _)| {
        if on {
            "Saved: we will email you about sign-ins from new devices."
        } else {
            "Saved: no more emails about sign-ins from new devices."
        }
    });
    let current = Resource::new(|| (), |()| new_device_mail());
    view! {
        <section class="card" aria-labelledby="alerts-heading">
            <h2 id="alerts-heading">"Sign-in alerts"</h2>
            <p class="muted">
                "We email you when your account is signed in to from a browser or app it has not \
                 used before, and always when your password, email address, two-step sign-in or \
                 passkeys change. Each of those emails has a “This wasn't me” link: it signs out \
                 every device, suspends your passkeys and lets you choose a new password."
            </p>
            <FormError error=Signal::stored(refused) />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(on) => {
                            view! {
                                <form method="post" action=SetNewDeviceMail::PATH aria-labelledby="alerts-heading">
                                    <div class="choice">
                                        <input type="checkbox" id="new-device-mail" name="on" value="on" checked=on />
                                        <label for="new-device-mail">"Email me about sign-ins from new devices"</label>
                                    </div>
                                    <button type="submit" class="secondary">"Save"</button>
                                </form>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <p class="form-error" role="alert">
                                    {format!("Could not load your alert settings. {err}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <p class="notice" role="status">{saved}</p>
        </section>
    }
}

/// The account's address: whether it is verified, and changing it (the password is required;
/// the change happens when the link mailed to the new address is opened).
#[component]
fn EmailSection(auth: Auth) -> impl IntoView {
    let change = ServerAction::<RequestEmailChange>::new();
    // A refused plain post comes back with the address that was typed, to correct.
    let refusal = no_js_refusal::<RequestEmailChange>();
    let typed = refusal.as_ref().and_then(|r| r.value("new_email"));
    let error = action_error_or(change, refusal.map(|r| r.error));
    let form = NodeRef::<html::Form>::new();
    focus_first_invalid(form, error);
    // Without JavaScript the refused form comes back: the focus starts on its first bad field.
    let first_bad = error.get_untracked().and_then(|e| {
        EMAIL_FIELDS
            .iter()
            .copied()
            .find(|f| e.message_for(f).is_some())
    });
    // The address asked for, for the message once the mail is out (the action forgets its
    // input when it completes; a plain form post keeps it beside the answer).
    let asked_for = RwSignal::new(String::new());
    let from_post = no_js_done::<RequestEmailChange>().map(|((), fields)| {
        fields
            .into_iter()
            .find_map(|(name, value)| (name == "new_email").then_some(value))
            .unwrap_or_default()
    });
    let posted = from_post.is_some();
    if let Some(address) = from_post {
        asked_for.set(address);
    }
    Effect::new(move |_| {
        if let Some(input) = change.input().get() {
            asked_for.set(input.new_email);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get()
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    let changing = change.pending();
    // What went out: in place with JavaScript, with the page after a plain form post.
    let sent = move || {
        let done = match change.value().get() {
            Some(result) => result.is_ok(),
            None => posted,
        };
        done.then(|| {
            format!(
                "We sent a confirmation link to {}; your address changes when you open it.",
                asked_for.get()
            )
        })
    };
    view! {
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email address"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    auth.user
                        .await
                        .ok()
                        .flatten()
                        .map(|user| {
                            let verified = user.email_verified;
                            view! {
                                <p class="address">
                                    <strong>{user.email}</strong>
                                    <span class="badge" class:unverified=!verified>
                                        {if verified { "Verified" } else { "Not verified yet" }}
                                    </span>
                                </p>
                                {(!verified)
                                    .then(|| {
                                        view! {
                                            <p class="muted">
                                                "Open the link we mailed you, or have it sent again with “Send again” above."
                                            </p>
                                        }
                                    })}
                            }
                        })
                })}
            </Transition>
            <p class="notice" role="status">{sent}</p>
            <h3>"Change email"</h3>
            <p class="muted">
                "We mail a link to the new address; your address changes when you open it."
            </p>
            <ActionForm action=change node_ref=form>
                <Field
                    label="New email address"
                    name="new_email"
                    kind="email"
                    autocomplete="email"
                    maxlength=EMAIL_MAX
                    required=true
                    error=field_message(error, "new_email")
                    autofocus=first_bad == Some("new_email")
                    value=typed
                />
                <Field
                    label="Password"
                    name="password"
                    id="email-password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_message(error, "password")
                    autofocus=first_bad == Some("password")
                />
                <FormError error=general_message(error, EMAIL_FIELDS) />
                <button type="submit" aria-disabled=move || changing.get().to_string() aria-busy=move || changing.get().to_string()>
                    {move || if changing.get() { "Sending…" } else { "Change email" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// The danger zone: deleting the account, with the password as confirmation.
///
/// A plain form, with JavaScript too: once the account is gone the server sends the browser to
/// a freshly loaded start page (nothing of the account stays in the app's memory), and a wrong
/// password comes back with the page, in the one-time cookie of `server::form_posts`, with the
/// focus on the field.
#[component]
fn DeleteAccount(error: Option<AppError>) -> impl IntoView {
    let came_back_refused = error.is_some();
    let error = Signal::stored(error);
    view! {
        <section class="card danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <p>
                "Deleting your account erases it and all your tasks, and signs you out on every \
                 device at once. It cannot be undone: download your data first if you want to \
                 keep a copy."
            </p>
            <form method="post" action=DeleteMyAccount::PATH>
                <Field
                    label="Your password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_message(error, "password")
                    autofocus=came_back_refused
                />
                <FormError error=general_message(error, &["password"]) />
                <button type="submit" class="danger">
                    "Delete my account"
                </button>
            </form>
        </section>
    }
}

/// One session: device, address, last use, and a way to sign it out.
#[component]
fn SessionItem(session: SessionInfo, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let SessionInfo {
        id,
        user_agent,
        device,
        ip,
        last_used,
        last_used_ago,
        last_used_iso,
        current,
        ..
    } = session;
    // Every button reads "Sign out"; its name says which session ("Sign out Chrome on Linux").
    let which = if current {
        " here".to_owned()
    } else {
        format!(" {device}")
    };
    view! {
        <li class="session-item" class:current=current>
            <div>
                <strong title=user_agent>{device.clone()}</strong>
                {current.then(|| view! { <span class="badge">"This device"</span> })}
                <p class="muted">
                    {format!("{ip} · ")}
                    {if current {
                        view! { "active now" }.into_any()
                    } else {
                        view! {
                            "last used "
                            <time datetime=last_used_iso title=last_used>
                                {last_used_ago}
                            </time>
                        }
                            .into_any()
                    }}
                </p>
            </div>
            <ActionForm action=revoke>
                <input type="hidden" name="id" value=id />
                <button type="submit" class="secondary">
                    "Sign out"
                    <span class="visually-hidden">{which}</span>
                </button>
            </ActionForm>
        </li>
    }
}
