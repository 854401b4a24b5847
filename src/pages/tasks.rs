//! `/tasks`: the signed-in person's own task list.
//!
//! The page itself is rendered on the server: it loads the first page of the list for the
//! filter in the address and reads the refusals a JavaScript-free form post came back with.
//! The list and its forms are the [`TaskList`] island, the only code of this page that runs in
//! the browser.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{
        form::{no_js_error, no_js_refusal},
        page_title,
    },
    fns::tasks::{AddTask, ClearDoneTasks, DeleteTask, RenameTask, SetTaskDone, list_tasks},
    islands::task_list::{TaskFormErrors, TaskList, tasks_title},
    model::TaskFilter,
};

/// The refusals JavaScript-free form posts came back with, read while the page renders (in the
/// same order on the server and in the browser, as their shared values require).
fn form_errors() -> TaskFormErrors {
    let add = no_js_refusal::<AddTask>();
    let rename = no_js_error::<RenameTask>();
    let toggle = no_js_error::<SetTaskDone>();
    let delete = no_js_error::<DeleteTask>();
    let clear = no_js_error::<ClearDoneTasks>();
    TaskFormErrors::new(
        add.as_ref().map(|r| r.error.clone()),
        add.as_ref().and_then(|r| r.value("title")),
        rename,
        toggle.or(delete).or(clear),
    )
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| TaskFilter::parse(query.read().get("show").as_deref()));
    let before = Memo::new(move |_| {
        query
            .read()
            .get("before")
            .and_then(|v| v.parse::<i64>().ok())
    });
    let edit = Memo::new(move |_| query.read().get("edit").and_then(|v| v.parse::<i64>().ok()));
    let page = Resource::new(
        move || (filter.get(), before.get()),
        |(filter, before)| list_tasks(filter.query_value().map(str::to_owned), before),
    );
    let errors = form_errors();

    view! {
        <Title text=page_title("Your tasks") />
        <section class="card tasks">
            <h1>"Your tasks"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading your tasks…"</p> }>
                {move || {
                    let errors = errors.clone();
                    Suspend::new(async move {
                        match page.await {
                            Ok(page) => {
                                view! {
                                    <Title text=tasks_title(page.open) />
                                    <TaskList
                                        page
                                        filter=filter.get_untracked()
                                        edit=edit.get_untracked()
                                        before=before.get_untracked()
                                        errors
                                    />
                                }
                                    .into_any()
                            }
                            // The guard around this page sends a signed-out person to log in; a
                            // session that ends between the guard and this load lands here.
                            Err(err) => {
                                view! {
                                    <p class="form-error" role="alert">
                                        {format!("Could not load your tasks. {err}")}
                                    </p>
                                }
                                    .into_any()
                            }
                        }
                    })
                }}
            </Transition>
        </section>
    }
}
