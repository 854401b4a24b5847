//! The site header: the wordmark, where you are, who is signed in, and the way out. On phones
//! its links fold into a menu behind a "Menu" button: a `<details>` disclosure, which the
//! browser opens, closes and announces (expanded or collapsed) with no script at all; on wider
//! screens the stylesheet keeps it open with its summary hidden.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

use crate::{app::Auth, paths};

/// The logo: a check mark in a rounded square, drawn inline (no request, crisp at any size).
#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <svg viewBox="0 0 32 32" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="8" fill="#2353cf" />
            <path
                d="M9 16.5l4.5 4.5L23 11.5"
                fill="none"
                stroke="#fff"
                stroke-width="3.5"
                stroke-linecap="round"
                stroke-linejoin="round"
            />
        </svg>
    }
}

#[component]
pub fn Header() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let logout = auth.logout;
    let location = use_location();
    let menu = NodeRef::<leptos::html::Details>::new();
    // Following a link closes the menu (on a page the router changes in place; a loaded page
    // starts closed anyway).
    Effect::new(move |_| {
        location.pathname.track();
        if let Some(menu) = menu.get_untracked() {
            menu.set_open(false);
        }
    });
    let current =
        move |path: &'static str| move || (location.pathname.get() == path).then_some("page");
    // Every page under /admin is "Admin".
    let admin_current = move || {
        location.pathname.with(|page| {
            (page == paths::ADMIN || page.starts_with(&format!("{}/", paths::ADMIN)))
                .then_some("page")
        })
    };
    view! {
        <header class="site-header">
            <A href=paths::HOME attr:class="brand">
                <Logo />
                <span>"Tasks"</span>
            </A>
            <details class="site-nav" node_ref=menu>
                <summary class="menu-toggle button secondary">"Menu"</summary>
                <nav id="site-menu" class="site-menu" aria-label="Main">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.user.await {
                            Ok(Some(user)) => {
                                let admin = user.is_admin();
                                view! {
                                    <span class="whoami">
                                        "Signed in as " <strong>{user.name}</strong>
                                    </span>
                                    <a href=paths::TASKS aria-current=current(paths::TASKS)>
                                        "Tasks"
                                    </a>
                                    <a href=paths::ACCOUNT aria-current=current(paths::ACCOUNT)>
                                        "Account"
                                    </a>
                                    {admin
                                        .then(|| {
                                            view! {
                                                <a href=paths::ADMIN aria-current=admin_current>
                                                    "Admin"
                                                </a>
                                            }
                                        })}
                                    <ActionForm action=logout>
                                        <button
                                            type="submit"
                                            class="secondary"
                                            aria-disabled=move || logout.pending().get().to_string()
                                        >
                                            {move || {
                                                if logout.pending().get() { "Logging out…" } else { "Log out" }
                                            }}
                                        </button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                            _ => {
                                view! {
                                    <a href=paths::LOGIN aria-current=current(paths::LOGIN)>
                                        "Log in"
                                    </a>
                                    <a
                                        href=paths::REGISTER
                                        class="button"
                                        aria-current=current(paths::REGISTER)
                                    >
                                        "Sign up"
                                    </a>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
                </nav>
            </details>
        </header>
    }
}
