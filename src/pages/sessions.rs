//! `/sessions`: where the person is signed in, signing any of those out, and changing the
//! password (which signs out every other session).

use crate::components::page_title;
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::{
    components::form::{
        Field, FormError, action_error, field_message, focus_first_invalid, general_message,
    },
    error::AppError,
    fns::auth::{ChangePassword, RevokeOtherSessions, RevokeSession, list_sessions},
    model::SessionInfo,
    paths,
};

const PASSWORD_FIELDS: &[&str] = &["current_password", "new_password", "new_password_confirm"];

#[component]
pub fn SessionsPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_others = ServerAction::<RevokeOtherSessions>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let sessions = Resource::new(
        move || {
            (
                revoke.version().get(),
                revoke_others.version().get(),
                change_password.version().get(),
            )
        },
        |_| list_sessions(),
    );

    let revoke_error = action_error(revoke);
    let others_error = action_error(revoke_others);
    let password_error = action_error(change_password);

    // A session revoked from elsewhere while this page was open: log in again.
    let navigate = use_navigate();
    Effect::new(move |_| {
        let signed_out =
            |e: &AppError| matches!(e, AppError::Unauthorized | AppError::InvalidToken);
        let expired = matches!(sessions.get(), Some(Err(ref e)) if signed_out(e))
            || revoke_error.get().as_ref().is_some_and(signed_out)
            || others_error.get().as_ref().is_some_and(signed_out)
            || password_error.get().as_ref().is_some_and(signed_out);
        if expired {
            navigate(&paths::login_then(paths::SESSIONS), Default::default());
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
    let password_done = move || {
        change_password
            .value()
            .get()
            .and_then(Result::ok)
            .map(|ended| match ended {
                0 => "Password changed.".to_owned(),
                1 => "Password changed. 1 other session was signed out.".to_owned(),
                n => format!("Password changed. {n} other sessions were signed out."),
            })
    };
    let others_done = move || {
        revoke_others
            .value()
            .get()
            .and_then(Result::ok)
            .map(|ended| match ended {
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
        <Title text=page_title("Sessions") />
        <section class="card sessions">
            <h1>"Sessions"</h1>
            <p class="muted">"Where you are signed in. Sign out any device you do not recognise."</p>
            <FormError error=list_error />
            <p class="notice" role="status">{others_done}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading your sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => {
                            let others = list.iter().filter(|s| !s.current).count();
                            view! {
                                <ul class="session-list">
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
        <section class="card">
            <h2>"Change password"</h2>
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
