//! The site header: who is signed in, and the way out.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{app::Auth, paths};

#[component]
pub fn Header() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let logout = auth.logout;
    view! {
        <header class="site-header">
            <A href=paths::HOME attr:class="brand">
                "Tasks"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) => {
                            view! {
                                <div class="session">
                                    <span class="whoami">
                                        "Signed in as " <strong>{user.name}</strong>
                                    </span>
                                    <A href=paths::TASKS>"Tasks"</A>
                                    <A href=paths::SESSIONS>"Sessions"</A>
                                    <ActionForm action=logout>
                                        <button type="submit" disabled=move || logout.pending().get()>
                                            {move || if logout.pending().get() { "Logging out…" } else { "Log out" }}
                                        </button>
                                    </ActionForm>
                                </div>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <nav class="session">
                                    <A href=paths::LOGIN>"Log in"</A>
                                    <A href=paths::REGISTER>"Sign up"</A>
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </header>
    }
}
