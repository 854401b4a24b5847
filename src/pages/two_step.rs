//! Two-step sign-in for the signed-in person: `/account/two-step`, which turns it on (the
//! password, then the QR code and a first code, then the recovery codes), and the account
//! page's section that shows it and offers new recovery codes or turning it off.
//!
//! Every form here is a plain form post, with JavaScript too. The server answers each with a
//! redirect to the page that shows the outcome: starting leads back to `/account/two-step`,
//! which shows the setup waiting for its first code (`pending`); confirming and new recovery
//! codes lead there too, and it shows the codes once (`fresh_codes`, a one-time cookie);
//! turning it off leads back to the account page. A refusal comes back with its page, in the
//! one-time cookie of `server::form_posts`, next to its field. That keeps the four actions out
//! of the wasm bundle (each action in place would carry its own client code and views), and
//! the pages read the same with JavaScript or without.

use leptos::{either::either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{
    components::{
        form::{Input, PostForm, no_js_error},
        page_title,
    },
    error::AppError,
    fns::two_step::{Confirm, Disable, ReplaceRecoveryCodes, Start, fresh_codes, pending, status},
    model::{TwoStepSetup, TwoStepStatus},
    paths,
};

const PASSWORD: Input = Input {
    label: "Your password",
    name: "password",
    id: "password",
    kind: "password",
    autocomplete: "current-password",
    inputmode: None,
};
const FIRST_CODE: Input = Input {
    label: "6-digit code",
    name: "code",
    id: "code",
    kind: "text",
    autocomplete: "one-time-code",
    inputmode: Some("numeric"),
};
/// The second factor of a change on the account page: either kind of code.
const ANY_CODE: Input = Input {
    label: "Code from your app, or a recovery code",
    inputmode: None,
    ..FIRST_CODE
};
const NEW_CODES: &[Input] = &[
    Input {
        label: "Password",
        id: "codes-password",
        ..PASSWORD
    },
    Input {
        id: "codes-code",
        ..ANY_CODE
    },
];
const TURN_OFF: &[Input] = &[
    Input {
        label: "Password",
        id: "off-password",
        ..PASSWORD
    },
    Input {
        id: "off-code",
        ..ANY_CODE
    },
];

/// Where the setup stands, decided once while the page renders on the server.
#[derive(Clone, Serialize, Deserialize)]
enum Step {
    /// Not started: the password first.
    Password,
    /// Started: scan the QR code, enter the first code.
    Scan(TwoStepSetup),
    /// Just finished (or new codes made from the account page): the recovery codes, once.
    Codes(Vec<String>),
    /// On already, and no codes to show.
    AlreadyOn,
}

/// # Errors
/// The person is not signed in, or the database failed.
async fn current_step() -> Result<Step, AppError> {
    // First: the codes are there only right after confirming, and then it is on.
    let codes = fresh_codes().await?;
    if !codes.is_empty() {
        return Ok(Step::Codes(codes));
    }
    if status().await?.enabled {
        return Ok(Step::AlreadyOn);
    }
    Ok(pending().await?.map_or(Step::Password, Step::Scan))
}

/// `/account/two-step`.
#[component]
pub fn TwoStepPage() -> impl IntoView {
    // Read in this order on the server and in the browser, as their shared values need.
    let start_refused = no_js_error::<Start>();
    let confirm_refused = no_js_error::<Confirm>();
    let step = OnceResource::new(current_step());
    view! {
        <Title text=page_title("Two-step sign-in") />
        <section class="card two-step">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let (start_refused, confirm_refused) = (
                        start_refused.clone(),
                        confirm_refused.clone(),
                    );
                    Suspend::new(async move {
                        either!(
                            step.await,
                            Ok(Step::Password) => view! { <PasswordStep refused=start_refused /> },
                            Ok(Step::Scan(setup)) => {
                                view! { <ScanStep setup refused=confirm_refused /> }
                            },
                            Ok(Step::Codes(codes)) => view! { <CodesStep codes /> },
                            Ok(Step::AlreadyOn) => view! {
                                <h1>"Two-step sign-in is already on"</h1>
                                <p>
                                    "To move it to another app or phone, turn it off on your \
                                     account page, then turn it on again."
                                </p>
                                <p>
                                    <a href=paths::ACCOUNT>"Back to your account"</a>
                                </p>
                            },
                            Err(err) => view! {
                                <h1>"Two-step sign-in"</h1>
                                <p class="form-error" role="alert">
                                    {err.to_string()}
                                </p>
                            },
                        )
                    })
                }}
            </Transition>
        </section>
    }
}

/// Step 1: the password, so a session left open cannot add a second factor of its own.
#[component]
fn PasswordStep(refused: Option<AppError>) -> impl IntoView {
    view! {
        <h1>"Turn on two-step sign-in"</h1>
        <p>
            "Each time you sign in, Tasks will ask for your password and then for a 6-digit code \
             from an authenticator app on your phone (such as Google Authenticator, Microsoft \
             Authenticator, 2FAS or Aegis). Someone who learns your password cannot sign in \
             without your phone. Turning it on signs out your other sessions."
        </p>
        <PostForm action=Start::PATH inputs=&[PASSWORD] button="Continue" refused />
        <p>
            <a href=paths::ACCOUNT>"Cancel"</a>
        </p>
    }
}

/// `items` as HTML, each between `open` and `close`, for a list the page shows as it came:
/// markup rather than a list of views, which would weigh more in the wasm bundle. Only ASCII
/// letters, digits and hyphens are kept (all that a base32 key and a recovery code are made
/// of), so nothing in an item can be read as markup.
fn markup<'a>(items: impl Iterator<Item = &'a str>, open: &str, close: &str) -> String {
    let mut html = String::new();
    for item in items {
        html.push_str(open);
        html.extend(
            item.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-'),
        );
        html.push_str(close);
    }
    html
}

/// Step 2: the secret as a QR code and as text, and the first code made with it.
#[component]
fn ScanStep(setup: TwoStepSetup, refused: Option<AppError>) -> impl IntoView {
    let TwoStepSetup {
        secret,
        otpauth_uri,
        qr_svg,
    } = setup;
    view! {
        <h1>"Turn on two-step sign-in"</h1>
        <h2>"1. Add Tasks to your authenticator app"</h2>
        <p>"Scan this QR code with the app:"</p>
        // Drawn on the server (dark on white with its quiet zone, whatever the theme), so the
        // secret never goes to a QR service.
        <div
            class="qr"
            role="img"
            aria-label="QR code for your authenticator app (its key is written below)"
            inner_html=qr_svg
        ></div>
        <p>
            "On the phone itself, "
            <a href=otpauth_uri rel="external">
                "open Tasks in your authenticator app"
            </a> "."
        </p>
        <p>"Cannot scan? Enter this key in the app instead (time-based):"</p>
        <p>
            <code
                class="secret"
                data-testid="totp-secret"
                // In groups of four for reading and typing, each an element of its own spaced by
                // the stylesheet, so a copy of it is the exact secret.
                inner_html=markup(
                    secret.as_bytes().chunks(4).filter_map(|group| std::str::from_utf8(group).ok()),
                    "<span>",
                    "</span>",
                )
            ></code>
        </p>
        <h2>"2. Enter the code it shows"</h2>
        <PostForm
            action=Confirm::PATH
            inputs=&[FIRST_CODE]
            button="Turn on two-step sign-in"
            refused
        />
        <p>
            <a href=paths::ACCOUNT>"Cancel"</a>
        </p>
    }
}

/// A `data:` URI of the codes as a text file, so "Download" works without JavaScript.
fn codes_file(codes: &[String]) -> String {
    let mut text = String::from(
        "Recovery codes for Tasks. Each works once, instead of a code from your authenticator \
         app.\n\n",
    );
    for code in codes {
        text.push_str(code);
        text.push('\n');
    }
    format!(
        "data:text/plain;charset=utf-8,{}",
        paths::percent_encode(&text)
    )
}

/// Step 3 (and new codes from the account page): the recovery codes, shown this once.
#[component]
fn CodesStep(codes: Vec<String>) -> impl IntoView {
    let file = codes_file(&codes);
    view! {
        <h1>"Save your recovery codes"</h1>
        <p>
            "Two-step sign-in is on. If you lose your phone, sign in with one of these codes \
             instead of a code from the app. "
            <strong>"Each code works once."</strong>
        </p>
        <p>
            "Keep them somewhere safe, such as a password manager or on paper: this is the only \
             time they are shown."
        </p>
        <ol
            class="recovery-codes"
            aria-label="Recovery codes"
            inner_html=markup(codes.iter().map(String::as_str), "<li><code>", "</code></li>")
        ></ol>
        <div class="actions">
            <a class="button secondary" href=file download="tasks-recovery-codes.txt" rel="external">
                "Download"
            </a>
            <a class="button" href=paths::ACCOUNT>
                "Done"
            </a>
        </div>
    }
}

/// The account page's section: off (and the way to turn it on), or on with the recovery codes
/// left, new codes, and turning it off.
#[component]
pub fn TwoStepSection() -> impl IntoView {
    // Read in this order on the server and in the browser, as their shared values need.
    let codes_refused = no_js_error::<ReplaceRecoveryCodes>();
    let off_refused = no_js_error::<Disable>();
    let state = OnceResource::new(status());
    view! {
        <section class="card" aria-labelledby="two-step-heading">
            <h2 id="two-step-heading">"Two-step sign-in"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let (codes_refused, off_refused) = (codes_refused.clone(), off_refused.clone());
                    Suspend::new(async move {
                        either!(
                            state.await,
                            Ok(TwoStepStatus { enabled: true, recovery_codes_left }) => {
                                let few = recovery_codes_left <= 2;
                                let left = match recovery_codes_left {
                                    1 => "1 recovery code left.".to_owned(),
                                    n => format!("{n} recovery codes left."),
                                };
                                view! {
                                    <p class="address">
                                        <span class="badge">"On"</span>
                                        "Signing in asks for a code from your authenticator app."
                                    </p>
                                    <p class:warning=few>
                                        {left}
                                        {few
                                            .then_some(
                                                " Make new ones: they are your way in if you lose your phone.",
                                            )}
                                    </p>
                                    <CheckForm
                                        heading="Make new recovery codes"
                                        hint="Your old codes stop working, and your other sessions are signed out."
                                        action=ReplaceRecoveryCodes::PATH
                                        id="codes-heading"
                                        inputs=NEW_CODES
                                        danger=false
                                        refused=codes_refused
                                    />
                                    <CheckForm
                                        heading="Turn off two-step sign-in"
                                        hint="Signing in will ask for your password only. Your other sessions are signed out."
                                        action=Disable::PATH
                                        id="off-heading"
                                        inputs=TURN_OFF
                                        danger=true
                                        refused=off_refused
                                    />
                                }
                            },
                            Ok(_) => {
                                view! {
                                    <p>
                                        "Off. With two-step sign-in, signing in also asks for a \
                                         code from an authenticator app on your phone, so your \
                                         password alone is not enough."
                                    </p>
                                    <a class="button" href=paths::TWO_STEP_SETUP>
                                        "Turn on two-step sign-in"
                                    </a>
                                }
                            },
                            Err(err) => {
                                view! {
                                    <p class="form-error" role="alert">
                                        {format!("Could not load your two-step sign-in. {err}")}
                                    </p>
                                }
                            },
                        )
                    })
                }}
            </Transition>
        </section>
    }
}

/// A change that needs the password and a second factor: a plain form post to `action`,
/// named by its heading.
#[component]
fn CheckForm(
    heading: &'static str,
    hint: &'static str,
    /// The server function's path.
    action: &'static str,
    /// The heading's id.
    id: &'static str,
    inputs: &'static [Input],
    danger: bool,
    refused: Option<AppError>,
) -> impl IntoView {
    view! {
        <h3 id=id>{heading}</h3>
        <p class="muted">{hint}</p>
        <PostForm
            action
            inputs
            button=heading
            button_class=if danger { "danger" } else { "secondary" }
            labelled_by=id
            refused
        />
    }
}
