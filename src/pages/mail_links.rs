//! The pages mailed links lead to, each opened with the link's `?token=…`:
//!
//! - `/reset-password`: asks whether the reset link still works, then offers the form for the
//!   new password;
//! - `/verify-email`: verifies the address (opening the link again still says so);
//! - `/confirm-email`: moves the account to the new address;
//! - `/secure-account`: "This wasn't me" in a security mail: asks whether the link still works,
//!   then offers the one button that secures the account (opening the link changes nothing:
//!   mail scanners open links too).
//!
//! The server function runs while the server renders the page (a resource in `SsrMode::Async`),
//! so the answer is in the HTML without JavaScript.
//!
//! The three pages are one component, [`LinkPage`], fed with what to ask the server and what to
//! say about its answer. That is for the wasm bundle's sake: each distinct view type carries its
//! own copy of the framework's rendering and hydration code, and three separate pages weighed
//! about three times as much.

use std::{future::Future, pin::Pin};

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    app::Auth,
    components::{
        form::{Field, FormError, field_message, general_message, no_js_error},
        page_title,
    },
    error::AppError,
    fns::{
        alerts::{SecureAccount, check_secure_link},
        email::{ResetPassword, check_reset_link, confirm_email_change, verify_email},
    },
    paths,
};

/// A server function's answer to a link: the address it concerns.
type Answer = Result<String, AppError>;
/// Asks the server about a link's token.
type Check = fn(String) -> Pin<Box<dyn Future<Output = Answer> + Send>>;

/// What a page says about the server's answer.
struct Outcome {
    heading: &'static str,
    /// One sentence: `before`, the address (emphasised), `after`.
    before: String,
    address: Option<String>,
    after: &'static str,
    /// Whether to offer the new-password form (a reset link that works).
    reset_form: bool,
    /// Whether to offer the "secure my account" button (a "This wasn't me" link that works).
    secure_form: bool,
    /// Where to go from here.
    next: Option<Next>,
}

/// A sentence around a link: `lead`, the link, `trail`.
struct Next {
    lead: &'static str,
    href: &'static str,
    text: &'static str,
    trail: &'static str,
}

impl Next {
    const fn link(href: &'static str, text: &'static str) -> Option<Self> {
        Some(Self {
            lead: "",
            href,
            text,
            trail: "",
        })
    }

    /// To the account page, for a new link or another try.
    const fn account_page(lead: &'static str) -> Option<Self> {
        Some(Self {
            lead,
            href: paths::ACCOUNT,
            text: "your account page",
            trail: ".",
        })
    }
}

impl Outcome {
    /// An answer that says what went wrong, then `next`.
    fn refused(heading: &'static str, why: String, next: Option<Next>) -> Self {
        Self {
            heading,
            before: why,
            address: None,
            after: "",
            reset_form: false,
            secure_form: false,
            next,
        }
    }

    /// An answer with the address in its sentence.
    fn about(
        heading: &'static str,
        before: &'static str,
        address: String,
        after: &'static str,
    ) -> Self {
        Self {
            heading,
            before: before.to_owned(),
            address: Some(address),
            after,
            reset_form: false,
            secure_form: false,
            next: None,
        }
    }
}

/// The heading of a refusal: the link's own fault, or ours (the service failing).
fn refused_heading(err: &AppError, link_fault: &'static str) -> &'static str {
    match err {
        AppError::InvalidLink | AppError::AccountDisabled | AppError::EmailTaken => link_fault,
        _ => "This link could not be opened",
    }
}

/// `/reset-password?token=…`. The form is a plain form post, with JavaScript too: a reset ends
/// every session of the account and signs this browser in afresh, and the task list it leads
/// to is best loaded that way, with the new cookies and nothing of the signed-out app in memory
/// (as after deleting an account). A refused password comes back with the page (its `Referer`
/// keeps the token), the message in the one-time cookie of `server::form_posts`, next to its
/// field.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let form_error = no_js_error::<ResetPassword>();
    view! {
        <LinkPage
            title="Choose a new password"
            check=|token| Box::pin(check_reset_link(token))
            says=|answer, _| match answer {
                Ok(email) => {
                    Outcome {
                        reset_form: true,
                        ..Outcome::about("Choose a new password", "Choose a new password for ", email, ".")
                    }
                }
                Err(err) => {
                    // A disabled account gets no new link either: its message says whom to ask.
                    let next = matches!(err, AppError::InvalidLink)
                        .then(|| Next::link(paths::FORGOT_PASSWORD, "Ask for a new link"))
                        .flatten();
                    Outcome::refused(refused_heading(&err, "This link cannot be used"), err.to_string(), next)
                }
            }
            form_error
        />
    }
}

/// `/verify-email?token=…`: opening it verifies the address.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    view! {
        <LinkPage
            title="Verify your email address"
            check=|token| Box::pin(verify_email(token))
            says=|answer, signed_in| match answer {
                Ok(email) => {
                    Outcome {
                        next: if signed_in {
                            Next::link(paths::TASKS, "Go to your tasks")
                        } else {
                            Next::link(paths::LOGIN, "Log in")
                        },
                        ..Outcome::about("Address verified", "Your address ", email, " is verified.")
                    }
                }
                Err(err) => {
                    Outcome::refused(
                        refused_heading(&err, "This link cannot be used"),
                        err.to_string(),
                        Next::account_page("For a new link, log in and choose “Send again” on "),
                    )
                }
            }
            refresh_user=true
        />
    }
}

/// `/confirm-email?token=…`: opening it moves the account to the new address.
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    view! {
        <LinkPage
            title="Confirm your new email address"
            check=|token| Box::pin(confirm_email_change(token))
            says=|answer, signed_in| match answer {
                Ok(email) => {
                    Outcome {
                        next: if signed_in {
                            Next::link(paths::ACCOUNT, "Go to your account")
                        } else {
                            Next::link(paths::LOGIN, "Log in")
                        },
                        ..Outcome::about(
                            "Email address changed",
                            "Your account now uses ",
                            email,
                            ". Log in with this address from now on.",
                        )
                    }
                }
                Err(err) => {
                    let why = match err {
                        // Its own text says "already registered. Log in instead", which is not
                        // what happened here.
                        AppError::EmailTaken => {
                            "Another account started using that address after you asked for \
                             the change, so your address stays as it was."
                                .to_owned()
                        }
                        err => err.to_string(),
                    };
                    Outcome::refused(
                        "Your address was not changed",
                        why,
                        Next::account_page("To try again, log in and use “Change email” on "),
                    )
                }
            }
            refresh_user=true
        />
    }
}

/// `/secure-account?token=…`: "This wasn't me". The button is a plain form post, with
/// JavaScript too: securing ends every session, this browser's included, and the page it leads
/// to (choosing a new password) is best loaded afresh.
#[component]
pub fn SecureAccountPage() -> impl IntoView {
    let form_error = no_js_error::<SecureAccount>();
    view! {
        <LinkPage
            title="Secure your account"
            check=|token| Box::pin(check_secure_link(token))
            says=|answer, _| match answer {
                Ok(email) => {
                    Outcome {
                        secure_form: true,
                        ..Outcome::about(
                            "Secure your account",
                            "Someone else may be able to sign in to ",
                            email,
                            ". Securing it signs out every device (this one too), suspends \
                             its passkeys, withdraws every browser's standing as a known \
                             device, cancels a pending email change, and then asks you to \
                             choose a new password.",
                        )
                    }
                }
                Err(err) => {
                    let heading = refused_heading(&err, "This link cannot be used");
                    let why = match err {
                        AppError::InvalidLink => {
                            "This link cannot be used: it was used already (the account was \
                             secured then), it is older than 7 days, or it is not complete. \
                             If you still think someone else is in your account, reset your \
                             password."
                                .to_owned()
                        }
                        err => err.to_string(),
                    };
                    Outcome::refused(
                        heading,
                        why,
                        Next::link(paths::FORGOT_PASSWORD, "Reset your password"),
                    )
                }
            }
            form_error
        />
    }
}

/// A page for a mailed link: asks `check` about the link's token, and shows what `says` makes
/// of the answer (`says` also learns whether someone is signed in here).
#[component]
fn LinkPage(
    /// The page's title (static text: a title must not read signals).
    title: &'static str,
    check: Check,
    says: fn(Answer, bool) -> Outcome,
    /// The link may have verified or changed the address: once it worked, the browser asks
    /// again who is signed in, so the verification banner and the account page follow.
    #[prop(optional)]
    refresh_user: bool,
    /// The form's error (reset or secure), after a refused plain form post.
    #[prop(default = None)]
    form_error: Option<AppError>,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let query = use_query_map();
    // Without a token the server answers as for any unknown link.
    let token = Memo::new(move |_| query.read().get("token").unwrap_or_default());
    let answer = Resource::new(move || token.get(), check);
    if refresh_user {
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| {
            if let Some(Ok(_)) = answer.get() {
                auth.user.refetch();
            }
        });
    }
    view! {
        <Title text=page_title(title) />
        <section class="card">
            <Transition fallback=|| view! { <p class="muted">"Checking the link…"</p> }>
                {move || {
                    let token = token.get();
                    let form_error = form_error.clone();
                    Suspend::new(async move {
                        let signed_in = matches!(auth.user.await, Ok(Some(_)));
                        let outcome = says(answer.await, signed_in);
                        view! {
                            <h1>{outcome.heading}</h1>
                            <p>
                                {outcome.before}
                                {outcome.address.map(|address| view! { <strong>{address}</strong> })}
                                {outcome.after}
                            </p>
                            {outcome
                                .secure_form
                                .then(|| view! { <SecureForm token=token.clone() error=form_error.clone() /> })}
                            {outcome
                                .reset_form
                                .then(|| view! { <ResetForm token error=form_error /> })}
                            {outcome
                                .next
                                .map(|next| {
                                    view! {
                                        <p>
                                            {next.lead} <a href=next.href>{next.text}</a> {next.trail}
                                        </p>
                                    }
                                })}
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

const RESET_FIELDS: &[&str] = &["new_password", "new_password_confirm"];

/// The new password, twice, with the link's token: a plain form post (see
/// [`ResetPasswordPage`]).
#[component]
fn ResetForm(token: String, error: Option<AppError>) -> impl IntoView {
    // The focus starts on the first field the server refused.
    let first_bad = error.as_ref().and_then(|e| {
        RESET_FIELDS
            .iter()
            .copied()
            .find(|f| e.message_for(f).is_some())
    });
    let error = Signal::stored(error);
    view! {
        <p class="muted">"This signs your account out on every device, then signs you in here."</p>
        <form method="post" action=ResetPassword::PATH>
            <input type="hidden" name="token" value=token />
            <Field
                label="New password"
                name="new_password"
                kind="password"
                autocomplete="new-password"
                required=true
                error=field_message(error, "new_password")
                autofocus=first_bad == Some("new_password")
            />
            <Field
                label="Confirm new password"
                name="new_password_confirm"
                kind="password"
                autocomplete="new-password"
                required=true
                error=field_message(error, "new_password_confirm")
                autofocus=first_bad == Some("new_password_confirm")
            />
            <FormError error=general_message(error, RESET_FIELDS) />
            <button type="submit">"Set new password"</button>
        </form>
    }
}

/// The one button of "This wasn't me", with the link's token: a plain form post (see
/// [`SecureAccountPage`]).
#[component]
fn SecureForm(token: String, error: Option<AppError>) -> impl IntoView {
    view! {
        <form method="post" action=SecureAccount::PATH>
            <input type="hidden" name="token" value=token />
            <FormError error=Signal::stored(error.map(|e| e.to_string())) />
            <button type="submit" class="danger">"Sign out everywhere and secure my account"</button>
        </form>
    }
}
