//! The site header: who is signed in, and the way out.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::app::Auth;

#[component]
pub fn Header() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let logout = auth.logout;
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
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
                                    <A href="/tasks">"Tasks"</A>
                                    <A href="/sessions">"Sessions"</A>
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
                                    <A href="/login">"Log in"</A>
                                    <A href="/register">"Sign up"</A>
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
