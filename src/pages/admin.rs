//! `/admin` and `/admin/users/:id`: the administrators' pages (the route tree puts them under
//! the `AdminOnly` guard).
//!
//! `/admin` lists the accounts, searchable by email or name (`?q=`) and paged (`?before=`),
//! and everyone's recent security events (`?events_before=`). An account's page shows it with
//! its own events and offers what an administrator may do to it: make or remove an
//! administrator, disable or enable it (disabling signs it out everywhere at once), sign out
//! all its sessions, and delete it after typing its email. Every control is a plain link or
//! form, so the pages work without JavaScript; the server enforces the rules (nobody demotes,
//! disables or deletes themselves, the last administrator stays), and a refusal is shown next
//! to the action that was refused.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::{
    app::Auth,
    components::{
        activity::AuditEntry,
        form::{action_error, field_message, general_message},
        guard::Forbidden,
        page_title,
    },
    error::{AppError, Resource as Missing},
    fns::admin::{
        ChangeDisabled, ChangeRole, RemoveAccount, SignOutAccount, get_account, list_accounts,
        list_audit_events,
    },
    model::{Account, AccountDetail, AccountPage, AuditPage, Role, limits::EMAIL_MAX},
    paths,
};

fn is_signed_out(error: &AppError) -> bool {
    matches!(error, AppError::Unauthorized | AppError::InvalidToken)
}

/// Sends the person to the login page (and back to `page` afterwards) once `signed_out` is
/// set: their session ended while the page was open.
fn log_in_again_when(signed_out: RwSignal<bool>, page: impl Fn() -> String + 'static) {
    let auth = expect_context::<Auth>();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if signed_out.get() {
            auth.session_ended();
            navigate(&paths::login_then(&page()), Default::default());
        }
    });
}

/// A refusal or failure where the page's content would be: the `403` page for someone who is
/// no longer an administrator, else the error's sentence.
fn load_error(what: &str, err: &AppError, signed_out: RwSignal<bool>) -> AnyView {
    if is_signed_out(err) {
        signed_out.set(true);
    }
    match err {
        AppError::AdminOnly => view! { <Forbidden /> }.into_any(),
        err => {
            let message = format!("Could not load {what}. {err}");
            view! {
                <section class="card">
                    <p class="form-error" role="alert">
                        {message}
                    </p>
                </section>
            }
            .into_any()
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "Administrator",
        Role::User => "User",
    }
}

/// "2 hours ago" with the exact UTC time on hover, or "never".
fn last_seen(account: &Account) -> AnyView {
    match (&account.last_seen_iso, &account.last_seen_ago) {
        (Some(iso), Some(ago)) => view! {
            <time datetime=iso.clone() title=account.last_seen_text.clone()>
                {ago.clone()}
            </time>
        }
        .into_any(),
        _ => "never".into_any(),
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let number = move |name: &'static str| {
        Memo::new(move |_| query.read().get(name).and_then(|v| v.parse::<i64>().ok()))
    };
    let before = number("before");
    let events_before = number("events_before");
    let accounts = Resource::new(
        move || (q.get(), before.get()),
        |(q, before)| list_accounts(Some(q), before),
    );
    let events = Resource::new(move || events_before.get(), list_audit_events);
    let signed_out = RwSignal::new(false);
    log_in_again_when(signed_out, || paths::ADMIN.to_owned());

    view! {
        <Title text=page_title("Administration") />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (accounts, events) = (accounts.await, events.await);
                match (accounts, events) {
                    (Err(err), _) | (_, Err(err)) => load_error("the administration", &err, signed_out),
                    (Ok(accounts), Ok(events)) => {
                        view! {
                            <h1 class="page-heading">"Administration"</h1>
                            <Accounts
                                page=accounts
                                q=q.get_untracked()
                                before=before.get_untracked()
                            />
                            <Events page=events newest=events_before.get_untracked().is_none() />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The search form, the account table and its paging links.
#[component]
fn Accounts(page: AccountPage, q: String, before: Option<i64>) -> impl IntoView {
    let searching = !q.trim().is_empty();
    let summary = match (searching, page.accounts.is_empty()) {
        (true, true) => Some(format!(
            "No account’s email or name contains ‘{}’.",
            q.trim()
        )),
        (true, false) => Some(format!(
            "Accounts whose email or name contains ‘{}’.",
            q.trim()
        )),
        (false, true) => Some("No accounts yet.".to_owned()),
        (false, false) => None,
    };
    let next = page
        .next
        .map(|next| view! { <a class="button secondary" href=paths::admin_list(&q, Some(next))>"Next page"</a> });
    let newest = before.map(|_| {
        view! { <a href=paths::admin_list(&q, None)>"Back to the newest accounts"</a> }
    });
    let clear = searching.then(|| view! { <a href=paths::ADMIN>"Show all accounts"</a> });
    let rows = page
        .accounts
        .into_iter()
        .map(|account| view! { <AccountRow account /> })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="accounts-heading">
            <h2 id="accounts-heading">"Accounts"</h2>
            <form method="get" action=paths::ADMIN class="search" role="search">
                <label for="account-search">"Search by email or name"</label>
                <div class="add-row">
                    <input
                        id="account-search"
                        type="search"
                        name="q"
                        value=q.clone()
                        maxlength=EMAIL_MAX
                        autocomplete="off"
                    />
                    <button type="submit">"Search"</button>
                </div>
            </form>
            <p class="muted" role="status">{summary}</p>
            <table class="accounts" aria-labelledby="accounts-heading">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"Live sessions"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="list-footer">{next} {newest} {clear}</div>
        </section>
    }
}

/// One account in the table; on a phone each row stacks into a card, every cell labelled.
#[component]
fn AccountRow(account: Account) -> impl IntoView {
    let seen = last_seen(&account);
    let Account {
        user,
        disabled,
        live_sessions,
        created_text,
        ..
    } = account;
    let status = if disabled {
        view! { <span class="badge danger-badge">"Disabled"</span> }.into_any()
    } else {
        "Enabled".into_any()
    };
    view! {
        <tr class:disabled=disabled>
            <th scope="row" data-label="Name">
                {user.name}
            </th>
            <td data-label="Email">
                <a href=paths::admin_account(user.id)>{user.email}</a>
            </td>
            <td data-label="Role">{role_name(user.role)}</td>
            <td data-label="Created">{created_text}</td>
            <td data-label="Last seen">{seen}</td>
            <td data-label="Live sessions">{live_sessions}</td>
            <td data-label="Status">{status}</td>
        </tr>
    }
}

/// Everyone's recent security events, with older ones a link away.
#[component]
fn Events(page: AuditPage, newest: bool) -> impl IntoView {
    let older = page.next.map(|next| {
        view! { <a class="button secondary" href=paths::admin_events(next)>"Older events"</a> }
    });
    let back =
        (!newest).then(|| view! { <a href=format!("{}#events", paths::ADMIN)>"Newest events"</a> });
    let list = if page.items.is_empty() {
        view! { <p class="muted">"No events."</p> }.into_any()
    } else {
        view! {
            <ul class="activity-list" aria-labelledby="events-heading">
                {page
                    .items
                    .into_iter()
                    .map(|item| view! { <AuditEntry item /> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card" id="events" aria-labelledby="events-heading">
            <h2 id="events-heading">"Security events"</h2>
            <p class="muted">
                "Sign-ins, failed attempts, sessions ended and changes to accounts, everyone’s, \
                 newest first."
            </p>
            {list}
            <div class="list-footer">{older} {back}</div>
        </section>
    }
}

/// The actions of an account's page, and their errors.
#[derive(Clone, Copy)]
struct Actions {
    role: ServerAction<ChangeRole>,
    disabled: ServerAction<ChangeDisabled>,
    sign_out: ServerAction<SignOutAccount>,
    remove: ServerAction<RemoveAccount>,
    role_error: Signal<Option<AppError>>,
    disabled_error: Signal<Option<AppError>>,
    sign_out_error: Signal<Option<AppError>>,
    remove_error: Signal<Option<AppError>>,
}

impl Actions {
    fn new() -> Self {
        let role = ServerAction::<ChangeRole>::new();
        let disabled = ServerAction::<ChangeDisabled>::new();
        let sign_out = ServerAction::<SignOutAccount>::new();
        let remove = ServerAction::<RemoveAccount>::new();
        Self {
            role,
            disabled,
            sign_out,
            remove,
            role_error: action_error(role),
            disabled_error: action_error(disabled),
            sign_out_error: action_error(sign_out),
            remove_error: action_error(remove),
        }
    }

    /// Any of their errors, newest action first (for the own-account page, which offers none
    /// of them but still says why a hand-made request was refused).
    fn any_error(self) -> Signal<Option<String>> {
        Signal::derive(move || {
            self.role_error
                .get()
                .or_else(|| self.disabled_error.get())
                .or_else(|| self.sign_out_error.get())
                .or_else(|| self.remove_error.get())
                .map(|e| {
                    e.message_for("confirm_email")
                        .unwrap_or_else(|| e.to_string())
                })
        })
    }

    fn signed_out(self) -> bool {
        [
            self.role_error,
            self.disabled_error,
            self.sign_out_error,
            self.remove_error,
        ]
        .iter()
        .any(|error| error.with(|e| e.as_ref().is_some_and(is_signed_out)))
    }
}

/// The error of one action as a sentence, for the line under its button.
fn message(error: Signal<Option<AppError>>) -> Signal<Option<String>> {
    Signal::derive(move || error.get().map(|e| e.to_string()))
}

#[component]
pub fn AdminAccountPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let actions = Actions::new();
    let detail = Resource::new(
        move || {
            (
                id.get(),
                actions.role.version().get(),
                actions.disabled.version().get(),
                actions.sign_out.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_account(id).await,
                None => Err(AppError::NotFound(Missing::User)),
            }
        },
    );
    let signed_out = RwSignal::new(false);
    Effect::new(move |_| {
        if actions.signed_out() {
            signed_out.set(true);
        }
    });
    log_in_again_when(signed_out, move || {
        id.get_untracked()
            .map_or_else(|| paths::ADMIN.to_owned(), paths::admin_account)
    });

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the account…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <AccountView detail actions /> }.into_any(),
                    Err(AppError::NotFound(Missing::User)) => {
                        #[cfg(feature = "ssr")]
                        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                            response.set_status(axum::http::StatusCode::NOT_FOUND);
                        }
                        view! {
                            <Title text=page_title("No such account") />
                            <section class="card">
                                <h1>"No such account"</h1>
                                <p>{AppError::NotFound(Missing::User).to_string()}</p>
                                <p>
                                    <a href=paths::ADMIN>"All accounts"</a>
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                    Err(err) => load_error("the account", &err, signed_out),
                }
            })}
        </Transition>
    }
}

/// An account's page: what it is, what may be done to it, and what happened to it.
#[component]
fn AccountView(detail: AccountDetail, actions: Actions) -> impl IntoView {
    let AccountDetail {
        account,
        activity,
        is_you,
    } = detail;
    let seen = last_seen(&account);
    let user = account.user.clone();
    let created = account.created_text.clone();
    let live_sessions = account.live_sessions;
    let title = page_title(&format!("{} · Administration", user.name));
    let status = if account.disabled {
        "Disabled: cannot sign in"
    } else {
        "Enabled"
    };
    let events = if activity.is_empty() {
        view! { <p class="muted">"No events."</p> }.into_any()
    } else {
        view! {
            <ul class="activity-list" aria-labelledby="account-events-heading">
                {activity
                    .into_iter()
                    .map(|item| view! { <AuditEntry item without_subject=true /> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    let controls = if is_you {
        let refused = actions.any_error();
        view! {
            <section class="card" aria-labelledby="actions-heading">
                <h2 id="actions-heading">"Actions"</h2>
                <p class="form-error" role="alert">
                    {move || refused.get()}
                </p>
                <p>
                    "This is your own account. Another administrator can change its role or \
                     disable it; you can sign out your sessions or delete it on "
                    <a href=paths::ACCOUNT>"your account page"</a> "."
                </p>
            </section>
        }
        .into_any()
    } else {
        view! {
            <Controls account=account.clone() actions />
            <DeleteForm account actions />
        }
        .into_any()
    };
    view! {
        <Title text=title />
        <p class="back">
            <a href=paths::ADMIN>"All accounts"</a>
        </p>
        <section class="card" aria-labelledby="account-heading">
            <h1 id="account-heading">{user.name.clone()}</h1>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd>{user.email.clone()}</dd>
                <dt>"Role"</dt>
                <dd>{role_name(user.role)}</dd>
                <dt>"Status"</dt>
                <dd>{status}</dd>
                <dt>"Created"</dt>
                <dd>{created}</dd>
                <dt>"Last seen"</dt>
                <dd>{seen}</dd>
                <dt>"Live sessions"</dt>
                <dd>{live_sessions}</dd>
            </dl>
        </section>
        {controls}
        <section class="card" aria-labelledby="account-events-heading">
            <h2 id="account-events-heading">"Activity"</h2>
            {events}
        </section>
    }
}

/// Role, disabled and sign out: one small form each, its refusal right under it.
#[component]
fn Controls(account: Account, actions: Actions) -> impl IntoView {
    let id = account.user.id;
    let (next_role, role_label, role_hint) = match account.user.role {
        Role::Admin => (
            Role::User,
            "Remove admin",
            "They keep their account and tasks, but can no longer manage others.",
        ),
        Role::User => (
            Role::Admin,
            "Make admin",
            "Administrators see every account and the security events, and can change, sign \
             out and delete accounts.",
        ),
    };
    let (disable, disable_label, disable_hint) = if account.disabled {
        (false, "Enable account", "They can sign in again.")
    } else {
        (
            true,
            "Disable account",
            "Signs them out everywhere at once; they cannot sign in until enabled again.",
        )
    };
    let role_done = move || {
        actions.role.value().get().and_then(Result::ok).map(|a| {
            format!(
                "{} is now {}.",
                a.user.email,
                match a.user.role {
                    Role::Admin => "an administrator",
                    Role::User => "an ordinary user",
                }
            )
        })
    };
    let disabled_done = move || {
        actions
            .disabled
            .value()
            .get()
            .and_then(Result::ok)
            .map(|a| {
                if a.disabled {
                    format!("{} is disabled; all its sessions have ended.", a.user.email)
                } else {
                    format!("{} is enabled again.", a.user.email)
                }
            })
    };
    let sign_out_done = move || {
        actions
            .sign_out
            .value()
            .get()
            .and_then(Result::ok)
            .map(|ended| match ended {
                1 => "1 session was signed out.".to_owned(),
                n => format!("{n} sessions were signed out."),
            })
    };
    let pending = |pending: Memo<bool>| move || pending.get().to_string();
    view! {
        <section class="card admin-actions" aria-labelledby="actions-heading">
            <h2 id="actions-heading">"Actions"</h2>
            <ActionForm action=actions.role>
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="role" value=next_role.as_str() />
                <button
                    type="submit"
                    class="secondary"
                    aria-disabled=pending(actions.role.pending())
                >
                    {role_label}
                </button>
                <p class="muted">{role_hint}</p>
                <p class="form-error" role="alert">
                    {message(actions.role_error)}
                </p>
                <p class="notice" role="status">
                    {role_done}
                </p>
            </ActionForm>
            <ActionForm action=actions.disabled>
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="disabled" value=disable.to_string() />
                <button
                    type="submit"
                    class=if disable { "danger" } else { "secondary" }
                    aria-disabled=pending(actions.disabled.pending())
                >
                    {disable_label}
                </button>
                <p class="muted">{disable_hint}</p>
                <p class="form-error" role="alert">
                    {message(actions.disabled_error)}
                </p>
                <p class="notice" role="status">
                    {disabled_done}
                </p>
            </ActionForm>
            <ActionForm action=actions.sign_out>
                <input type="hidden" name="id" value=id />
                <button
                    type="submit"
                    class="secondary"
                    aria-disabled=pending(actions.sign_out.pending())
                >
                    "Sign out all their sessions"
                </button>
                <p class="muted">"Every device they are signed in on has to sign in again."</p>
                <p class="form-error" role="alert">
                    {message(actions.sign_out_error)}
                </p>
                <p class="notice" role="status">
                    {sign_out_done}
                </p>
            </ActionForm>
        </section>
    }
}

/// Deleting the account: enabled once the administrator has typed its email (the server
/// checks it again).
#[component]
fn DeleteForm(account: Account, actions: Actions) -> impl IntoView {
    let id = account.user.id;
    let email = account.user.email;
    let typed = RwSignal::new(String::new());
    // The button is disabled until the email matches only once the page is live: without
    // JavaScript nothing could enable it, and the server's check stands alone.
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let expected = email.to_lowercase();
    let matches = move || typed.with(|t| t.trim().to_lowercase() == expected);
    let error = actions.remove_error;
    let field_error = field_message(error, "confirm_email");
    let general = general_message(error, &["confirm_email"]);
    let deleting = actions.remove.pending();
    // Without JavaScript a refused confirmation comes back with the page: focus on the field.
    let came_back_refused = error.get_untracked().is_some();
    let label = format!("Type {email} to confirm");
    view! {
        <section class="card danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <p>
                "Deletes " <strong>{email.clone()}</strong>
                " with all its tasks, and ends every session of it at once. It cannot be undone."
            </p>
            <ActionForm action=actions.remove>
                <input type="hidden" name="id" value=id />
                <div class="field">
                    <label for="field-confirm_email">{label}</label>
                    <input
                        id="field-confirm_email"
                        name="confirm_email"
                        type="text"
                        required
                        autocomplete="off"
                        autocapitalize="none"
                        spellcheck="false"
                        maxlength=EMAIL_MAX
                        autofocus=came_back_refused
                        aria-invalid=move || if field_error.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby="field-confirm_email-error delete-hint"
                        on:input=move |ev| typed.set(event_target_value(&ev))
                    />
                    <p class="field-error" id="field-confirm_email-error" role="alert">
                        {move || field_error.get()}
                    </p>
                    <p class="muted" id="delete-hint">
                        "The button deletes the account once the email matches."
                    </p>
                </div>
                <p class="form-error" role="alert">
                    {move || general.get()}
                </p>
                <button
                    type="submit"
                    class="danger"
                    disabled=move || live.get() && !matches()
                    aria-busy=move || deleting.get().to_string()
                >
                    {move || if deleting.get() { "Deleting…" } else { "Delete this account" }}
                </button>
            </ActionForm>
        </section>
    }
}
