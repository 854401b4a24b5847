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
            <p class="lead">
                "A private task list you can reach from any browser, on your phone, or from a script."
            </p>
            <p class="actions">
                <A href=paths::REGISTER attr:class="button">"Sign up free"</A>
                <A href=paths::LOGIN attr:class="button secondary">"Log in"</A>
            </p>
            <figure class="preview">
                // A picture of the list, not a list: it is not interactive.
                <div class="rows" role="img" aria-label="A task list with three tasks, one of them done">
                    <div class="row done">
                        <span class="box"></span>
                        <span>"Book the dentist"</span>
                    </div>
                    <div class="row">
                        <span class="box"></span>
                        <span>"Send the quarterly report"</span>
                    </div>
                    <div class="row">
                        <span class="box"></span>
                        <span>"Buy milk"</span>
                    </div>
                </div>
                <figcaption>"Tick, rename, undo: changes save as you make them."</figcaption>
            </figure>
            <h2>"What you get"</h2>
            <ul class="features">
                <li>"Only you see your tasks: every account is private."</li>
                <li>"Works on a phone, with a keyboard or a screen reader, and without JavaScript."</li>
                <li>"See where you are signed in and sign out any device."</li>
                <li>"A JSON API with OAuth2 tokens for your scripts, documented at /api/v1/docs."</li>
            </ul>
        </section>
    }
}
