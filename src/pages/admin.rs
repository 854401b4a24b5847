//! `/admin` and `/admin/users/:id`: the administrators' pages (the route tree puts them under
//! the `AdminOnly` guard).
//!
//! `/admin` lists the accounts, searchable by email or name (`?q=`) and paged (`?before=`),
//! and everyone's recent security events (`?events_before=`). An account's page shows it with
//! its own events and offers what an administrator may do to it: make or remove an
//! administrator, disable or enable it (disabling signs it out everywhere at once), sign out
//! all its sessions, turn off its two-step sign-in (for someone locked out without their phone
//! and recovery codes), and delete it after typing its email. Every control is a plain link or
//! form, so the pages work without JavaScript; the server enforces the rules (nobody demotes,
//! disables or deletes themselves, the last administrator stays), and a refusal is shown next
//! to the action that was refused.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::{
    app::Auth,
    components::{activity::AuditEntry, form::no_js_error, guard::Forbidden, page_title},
    error::{AppError, Resource as Missing},
    fns::admin::{
        ChangeDisabled, ChangeRole, RemoveAccount, ResetTwoStep, SignOutAccount, get_account,
        list_accounts, list_audit_events,
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
        two_step,
        ..
    } = account;
    let status = if disabled {
        view! { <span class="badge danger-badge">"Disabled"</span> }.into_any()
    } else {
        "Enabled".into_any()
    };
    let two_step = two_step.then(|| view! { <span class="badge">"2-step"</span> });
    view! {
        <tr class:disabled=disabled>
            <th scope="row" data-label="Name">
                {user.name}
            </th>
            <td class="email" data-label="Email">
                <a href=paths::admin_account(user.id)>{user.email}</a>
            </td>
            <td data-label="Role">{role_name(user.role)}</td>
            <td data-label="Created">{created_text}</td>
            <td data-label="Last seen">{seen}</td>
            <td data-label="Live sessions">{live_sessions}</td>
            <td data-label="Status">{status} {two_step}</td>
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

/// The refusals the account page's forms came back with. The forms are plain HTML forms, with
/// JavaScript too: an action reloads the page (an admin page is rarely used, and plain forms
/// keep it out of the wasm bundle's weight), and a refusal travels in the one-time cookie of
/// `server::form_posts`, read here while the page renders.
#[derive(Clone)]
struct Refusals {
    role: Option<String>,
    disabled: Option<String>,
    sign_out: Option<String>,
    remove: Option<AppError>,
    two_step: Option<String>,
}

impl Refusals {
    /// Read in the same order on the server and in the browser, as their shared values need.
    fn read() -> Self {
        let text = |error: Option<AppError>| error.map(|e| e.to_string());
        let role = text(no_js_error::<ChangeRole>());
        let disabled = text(no_js_error::<ChangeDisabled>());
        let sign_out = text(no_js_error::<SignOutAccount>());
        let remove = no_js_error::<RemoveAccount>();
        let two_step = text(no_js_error::<ResetTwoStep>());
        Self {
            role,
            disabled,
            sign_out,
            remove,
            two_step,
        }
    }

    /// Any of them (for the own-account page, which offers none of the actions but still says
    /// why a hand-made request was refused).
    fn any(&self) -> Option<String> {
        self.role
            .clone()
            .or_else(|| self.disabled.clone())
            .or_else(|| self.sign_out.clone())
            .or_else(|| self.two_step.clone())
            .or_else(|| {
                self.remove.as_ref().map(|e| {
                    e.message_for("confirm_email")
                        .unwrap_or_else(|| e.to_string())
                })
            })
    }
}

#[component]
pub fn AdminAccountPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let refusals = Refusals::read();
    let detail = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_account(id).await,
                None => Err(AppError::NotFound(Missing::User)),
            }
        },
    );
    let signed_out = RwSignal::new(false);
    log_in_again_when(signed_out, move || {
        id.get_untracked()
            .map_or_else(|| paths::ADMIN.to_owned(), paths::admin_account)
    });

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the account…"</p> }>
            {move || {
                let refusals = refusals.clone();
                Suspend::new(async move {
                    match detail.await {
                        Ok(detail) => view! { <AccountView detail refusals /> }.into_any(),
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
                })
            }}
        </Transition>
    }
}

/// An account's page: what it is, what may be done to it, and what happened to it.
#[component]
fn AccountView(detail: AccountDetail, refusals: Refusals) -> impl IntoView {
    let AccountDetail {
        account,
        activity,
        is_you,
    } = detail;
    let seen = last_seen(&account);
    let user = account.user.clone();
    let two_step = account.two_step;
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
        view! {
            <section class="card" aria-labelledby="actions-heading">
                <h2 id="actions-heading">"Actions"</h2>
                <p class="form-error" role="alert">
                    {refusals.any()}
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
        let remove = refusals.remove.clone();
        view! {
            <Controls account=account.clone() refusals />
            <DeleteForm account refused=remove />
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
                <dt>"Two-step sign-in"</dt>
                <dd>{if two_step { "On" } else { "Off" }}</dd>
            </dl>
        </section>
        {controls}
        <section class="card" aria-labelledby="account-events-heading">
            <h2 id="account-events-heading">"Activity"</h2>
            {events}
        </section>
    }
}

/// One action: a plain form posting `fields` to `action`, what it does, and the server's
/// refusal of it (when the page came back with one) right under the button.
fn action_form(
    action: &'static str,
    fields: Vec<(&'static str, String)>,
    label: &'static str,
    danger: bool,
    hint: &'static str,
    refused: Option<String>,
) -> impl IntoView {
    view! {
        <form method="post" action=action>
            {fields
                .into_iter()
                .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
                .collect_view()}
            <button type="submit" class=if danger { "danger" } else { "secondary" }>
                {label}
            </button>
            <p class="muted">{hint}</p>
            <p class="form-error" role="alert">
                {refused}
            </p>
        </form>
    }
}

/// Role, disabled and sign out: one small form each, its refusal right under it.
#[component]
fn Controls(account: Account, refusals: Refusals) -> impl IntoView {
    let id = account.user.id.to_string();
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
    view! {
        <section class="card admin-actions" aria-labelledby="actions-heading">
            <h2 id="actions-heading">"Actions"</h2>
            {action_form(
                ChangeRole::PATH,
                vec![("id", id.clone()), ("role", next_role.as_str().to_owned())],
                role_label,
                false,
                role_hint,
                refusals.role,
            )}
            {action_form(
                ChangeDisabled::PATH,
                vec![("id", id.clone()), ("disabled", disable.to_string())],
                disable_label,
                disable,
                disable_hint,
                refusals.disabled,
            )}
            {action_form(
                SignOutAccount::PATH,
                vec![("id", id.clone())],
                "Sign out all their sessions",
                false,
                "Every device they are signed in on has to sign in again.",
                refusals.sign_out,
            )}
            // Only while it is on; a refusal (it was turned off meanwhile) still shows.
            {(account.two_step || refusals.two_step.is_some())
                .then(|| {
                    action_form(
                        ResetTwoStep::PATH,
                        vec![("id", id)],
                        "Turn off two-step sign-in",
                        true,
                        "For someone locked out without their phone and recovery codes: they \
                         sign in with their password alone, and are mailed about it. Every \
                         session of theirs ends. Make sure it is really them first.",
                        refusals.two_step,
                    )
                })}
        </section>
    }
}

/// `text` as an HTML `pattern` that matches exactly it: the characters regular expressions give
/// a meaning are escaped, nothing else (browsers compile `pattern` with the `v` flag, where
/// escaping any other character is a syntax error that turns the check off).
fn exact_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if "^$\\.*+?()[]{}|/".contains(c) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

/// Deleting the account, after typing its email: the browser holds the form back until the
/// field matches it (`pattern`, no script needed), and the server checks it again.
#[component]
fn DeleteForm(account: Account, refused: Option<AppError>) -> impl IntoView {
    let id = account.user.id;
    let email = account.user.email;
    let pattern = exact_pattern(&email);
    // A refused confirmation comes back with the page: the focus goes to the field.
    let field_error = refused
        .as_ref()
        .and_then(|e| e.message_for("confirm_email"));
    let general = refused
        .as_ref()
        .filter(|e| e.message_for("confirm_email").is_none())
        .map(ToString::to_string);
    let invalid = if field_error.is_some() {
        "true"
    } else {
        "false"
    };
    let label = format!("Type {email} to confirm");
    view! {
        <section class="card danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <p>
                "Deletes " <strong>{email.clone()}</strong>
                " with all its tasks, and ends every session of it at once. It cannot be undone."
            </p>
            <form method="post" action=RemoveAccount::PATH>
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
                        pattern=pattern
                        title="The account's email address, exactly as shown"
                        autofocus=refused.is_some()
                        aria-invalid=invalid
                        aria-describedby="field-confirm_email-error delete-hint"
                    />
                    <p class="field-error" id="field-confirm_email-error" role="alert">
                        {field_error}
                    </p>
                    <p class="muted" id="delete-hint">
                        "The account is deleted only when the email matches."
                    </p>
                </div>
                <p class="form-error" role="alert">
                    {general}
                </p>
                <button type="submit" class="danger">
                    "Delete this account"
                </button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::exact_pattern;

    #[test]
    fn the_delete_pattern_matches_the_email_and_nothing_else() {
        assert_eq!(exact_pattern("ada@example.com"), "ada@example\\.com");
        assert_eq!(
            exact_pattern("a+b(c)|d$^*?[x]{2}/\\@x.org"),
            "a\\+b\\(c\\)\\|d\\$\\^\\*\\?\\[x\\]\\{2\\}\\/\\\\@x\\.org"
        );
        // `-`, `_`, `'`, `@` and the rest are literal without escaping in the `v` mode.
        assert_eq!(exact_pattern("o'neil-x_y@b.c"), "o'neil-x_y@b\\.c");
    }
}
