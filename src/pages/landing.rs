//! `/`: what the product is, for people who are not signed in.

use crate::components::page_title;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{app::Auth, paths};

#[component]
pub fn Landing() -> impl IntoView {
    let auth = expect_context::<Auth>();
    // The server redirects signed-in visitors; this covers client-side navigation.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(Some(_))) = auth.user.get() {
            navigate(paths::TASKS, Default::default());
        }
    });
    view! {
        <Title text=page_title("Your own task list") />
        <section class="card landing">
            <h1>"Your tasks, and nobody else's"</h1>
            <p>"Sign up to keep a private task list you can reach from any browser or script."</p>
            <p class="actions">
                <A href=paths::REGISTER attr:class="button">"Sign up"</A>
                <A href=paths::LOGIN attr:class="button secondary">"Log in"</A>
            </p>
        </section>
    }
}
