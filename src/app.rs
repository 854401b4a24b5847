//! The HTML shell, the root component, routes, and the auth state every page shares.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use crate::{
    components::{
        guard::{AdminOnly, SignedInOnly, SignedOutOnly},
        header::Header,
        verify_banner::VerifyBanner,
    },
    error::AppError,
    fns::auth::{Login, Logout, Register, current_user},
    model::User,
    pages::{
        account::AccountPage,
        admin::{AdminAccountPage, AdminPage},
        forgot_password::ForgotPasswordPage,
        landing::Landing,
        login::LoginPage,
        login_code::LoginCodePage,
        mail_links::{ConfirmEmailPage, ResetPasswordPage, SecureAccountPage, VerifyEmailPage},
        not_found::NotFound,
        register::{RegisterPage, RegisterPasskeyPage},
        tasks::TasksPage,
        two_step::TwoStepPage,
    },
};

/// The pages with an island ([`crate::islands`]): only they load the wasm bundle. Every other
/// page is HTML and forms, with no script at all (or only the passkey module, which its
/// parts load themselves).
#[cfg(feature = "ssr")]
const PAGES_WITH_ISLANDS: &[&str] = &[crate::paths::TASKS];

/// Whether this request's page has an island.
fn has_islands() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .is_some_and(|parts| PAGES_WITH_ISLANDS.contains(&parts.uri.path()))
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// The document around every server-rendered page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The CSP names this response's nonce, which Leptos puts on its inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = http::HeaderValue::from_str(
        &crate::server::headers::content_security_policy(Some(&nonce)),
    ) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
    // A page without islands hydrates nothing: its resources are not serialised into it (the
    // islands' own `HydrationScripts` turns this off for the rest of their pages too).
    let islands = has_islands();
    if !islands && let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta
                    name="description"
                    content="Tasks: a private task list with real accounts, for the browser, the phone and scripts."
                />
                <meta name="theme-color" content="#2353cf" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // The stylesheet's hashed name (a release build) comes from the server's options.
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                {islands.then(|| view! { <HydrationScripts options islands=true /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Who is signed in, shared by the header and the pages.
///
/// The cookie is HttpOnly, so the browser cannot read it: the user comes from the
/// `current_user` server function, refetched whenever login, sign-up or logout completes, and
/// when a page finds its session has ended.
#[derive(Clone, Copy)]
pub struct Auth {
    pub login: ServerAction<Login>,
    pub register: ServerAction<Register>,
    pub logout: ServerAction<Logout>,
    pub user: Resource<Result<Option<User>, AppError>>,
}

impl Auth {
    /// A page's server call found the session over (revoked, expired, the account disabled):
    /// asks the server again who is signed in, so the header stops naming the person.
    pub fn session_ended(&self) {
        self.user.refetch();
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Layout />
        </Router>
    }
}

/// Everything inside the router: the auth context, the header and the routed page.
#[component]
fn Layout() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let register = ServerAction::<Register>::new();
    let logout = ServerAction::<Logout>::new();
    let user = Resource::new(
        move || {
            (
                login.version().get(),
                register.version().get(),
                logout.version().get(),
            )
        },
        |_| current_user(),
    );
    provide_context(Auth {
        login,
        register,
        logout,
        user,
    });

    // Who may see which page is declared here, once: the guards wrap their group of routes.
    // `SsrMode::Async`: the server waits for every resource and sends complete HTML. Out-of-order
    // streaming would deliver <Suspense> content as templates that only JavaScript swaps in, so
    // with JavaScript off the header and the task list would never appear; and the guards'
    // redirects are sent as real statuses. Our resources read the request's context or run one
    // indexed query, so waiting costs little.
    view! {
        // The first stop of the keyboard: past the header straight to the page's content.
        // rel="external": the browser's own in-page jump, which also moves the focus (the
        // router would only scroll).
        <a class="skip-link" href="#main" rel="external">
            "Skip to content"
        </a>
        <Header />
        <main id="main" tabindex="-1">
            // Until a signed-in person's address is verified: first in the content, where the
            // skip link lands.
            <VerifyBanner />
            <Routes fallback=NotFound>
                <ParentRoute path=path!("") view=SignedOutOnly ssr=SsrMode::Async>
                    <Route path=path!("/") view=Landing ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    // The second step: signed out until the code is right.
                    <Route path=path!("/login/code") view=LoginCodePage ssr=SsrMode::Async />
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/register/passkey")
                        view=RegisterPasskeyPage
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
                <ParentRoute path=path!("") view=SignedInOnly ssr=SsrMode::Async>
                    <Route path=path!("/tasks") view=TasksPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/account/two-step") view=TwoStepPage ssr=SsrMode::Async />
                </ParentRoute>
                // Where mailed links lead, and asking for one: for anyone, signed in or not (a
                // link may be opened in any browser).
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async />
                <Route path=path!("/confirm-email") view=ConfirmEmailPage ssr=SsrMode::Async />
                <Route path=path!("/secure-account") view=SecureAccountPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=AdminOnly ssr=SsrMode::Async>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                    <Route
                        path=path!("/admin/users/:id")
                        view=AdminAccountPage
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
            </Routes>
        </main>
    }
}
