//! Who may see a group of pages, declared once by the route tree (`app.rs`):
//! [`SignedInOnly`] wraps the pages that need a signed-in person, [`AdminOnly`] the ones for
//! administrators, [`SignedOutOnly`] the ones that make no sense once signed in (landing,
//! login, sign-up).
//!
//! On the server the decision is taken from the request's context before any of the page is
//! rendered, and answered with a real `303 See Other` (the pages render in `SsrMode::Async`,
//! so the status is sent after rendering and nothing of the page has gone out yet). So the
//! rule holds without JavaScript and cannot be raced by streaming. In the browser the guards
//! just render their pages: a session that ends while a page is open sends its next server
//! call to a 401, and the page navigates to the login from there.

use leptos::{prelude::*, server::SharedValue};
use leptos_meta::Title;
use leptos_router::components::Outlet;

use crate::{components::page_title, error::AppError, paths};

/// Pages for signed-in people only: anyone else is sent to the login page, which returns
/// them here afterwards.
#[component]
pub fn SignedInOnly() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use leptos_router::hooks::use_location;
        let page = use_location().pathname.get_untracked();
        match ssr::caller_is_signed_in() {
            Ok(true) => {}
            Ok(false) => {
                ssr::see_other(&crate::paths::login_then(&page));
                return ().into_any();
            }
            Err(err) => return ssr::unavailable(&err).into_any(),
        }
    }
    view! { <Outlet /> }.into_any()
}

/// Pages for administrators only: anyone signed out is sent to the login page (which returns
/// them here), a signed-in person who is not an administrator gets a `403` page.
///
/// The server's verdict travels with the page, so hydrating renders what the server rendered.
/// In the browser after that the guard lets every page through, as [`SignedInOnly`] does: the
/// pages' own server calls answer [`AppError::AdminOnly`] to someone who is no longer an
/// administrator, and the pages show [`Forbidden`] for it.
#[component]
pub fn AdminOnly() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let verdict = ssr::admin_verdict();
    let forbidden = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            matches!(verdict, Ok(ssr::Verdict::Forbidden))
        }
        #[cfg(not(feature = "ssr"))]
        {
            false
        }
    })
    .into_inner();
    #[cfg(feature = "ssr")]
    {
        use leptos_router::hooks::use_location;
        match verdict {
            Ok(ssr::Verdict::Admin | ssr::Verdict::Forbidden) => {}
            Ok(ssr::Verdict::SignedOut) => {
                let page = use_location().pathname.get_untracked();
                ssr::see_other(&paths::login_then(&page));
                return ().into_any();
            }
            Err(err) => return ssr::unavailable(&err).into_any(),
        }
    }
    if forbidden {
        view! { <Forbidden /> }.into_any()
    } else {
        view! { <Outlet /> }.into_any()
    }
}

/// What a signed-in person who is not an administrator gets on an administrators' page: the
/// reason, and the way back. A `403` when rendered on the server.
#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text=page_title("Administrators only") />
        <section class="card">
            <h1>"Administrators only"</h1>
            <p>{AppError::AdminOnly.to_string()}</p>
            <p>
                <a href=paths::TASKS>"Back to your tasks"</a>
            </p>
        </section>
    }
}

/// Pages for signed-out visitors: a signed-in person is sent to their tasks.
#[component]
pub fn SignedOutOnly() -> impl IntoView {
    #[cfg(feature = "ssr")]
    match ssr::caller_is_signed_in() {
        Ok(false) => {}
        Ok(true) => {
            ssr::see_other(crate::paths::TASKS);
            return ().into_any();
        }
        Err(err) => return ssr::unavailable(&err).into_any(),
    }
    view! { <Outlet /> }.into_any()
}

#[cfg(feature = "ssr")]
mod ssr {
    use axum::http::{HeaderValue, StatusCode, header};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::{error::AppError, server::server_fn};

    /// Whether the request's caller is signed in. Refused credentials count as signed out
    /// (the context layer has already cleared their cookies).
    ///
    /// # Errors
    /// The caller could not be decided (the database is unavailable), or no context (a bug).
    pub fn caller_is_signed_in() -> Result<bool, AppError> {
        match server_fn::context()?.principal() {
            Ok(principal) => Ok(principal.is_some()),
            Err(AppError::InvalidToken) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// What [`super::AdminOnly`] decides for the request's caller.
    pub enum Verdict {
        Admin,
        /// Signed in, but not an administrator.
        Forbidden,
        /// Not signed in, or with refused credentials.
        SignedOut,
    }

    /// The caller's [`Verdict`].
    ///
    /// # Errors
    /// The caller could not be decided (the database is unavailable), or no context (a bug).
    pub fn admin_verdict() -> Result<Verdict, AppError> {
        match server_fn::context()?.principal() {
            Ok(Some(principal)) if principal.user.is_admin() => Ok(Verdict::Admin),
            Ok(Some(_)) => Ok(Verdict::Forbidden),
            Ok(None) | Err(AppError::InvalidToken) => Ok(Verdict::SignedOut),
            Err(err) => Err(err),
        }
    }

    /// Answers this page request with `303 See Other` to `location`.
    pub fn see_other(location: &str) {
        let Some(response) = use_context::<ResponseOptions>() else {
            return;
        };
        if let Ok(value) = HeaderValue::from_str(location) {
            response.set_status(StatusCode::SEE_OTHER);
            response.insert_header(header::LOCATION, value);
        }
    }

    /// The page a person gets when we cannot tell who they are because something on our side
    /// (usually the database) is failing: the error's status (503 + `Retry-After` for an
    /// outage) and what to do.
    pub fn unavailable(err: &AppError) -> impl IntoView + use<> {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(err.status_code());
            if let Some(value) = err.retry_after() {
                response.insert_header(header::RETRY_AFTER, value);
            }
        }
        let message = err.to_string();
        view! {
            <leptos_meta::Title text=crate::components::page_title("Unavailable") />
            <section class="card">
                <h1>"Tasks is unavailable right now"</h1>
                <p>{message}</p>
                <p>
                    <a href="">"Try again"</a>
                </p>
            </section>
        }
    }
}
