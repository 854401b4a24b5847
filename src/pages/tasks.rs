//! `/tasks`: the signed-in person's own task list.

use crate::components::page_title;
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::{
    components::form::{FormError, action_error},
    error::AppError,
    fns::tasks::{AddTask, DeleteTask, RenameTask, SetTaskDone, list_tasks},
    model::{Task, limits::TITLE_MAX},
    paths,
};

/// The actions a list item can trigger, and which task each is working on right now (one
/// memo per action for the whole list, rather than every row watching every action).
#[derive(Clone, Copy)]
struct TaskActions {
    toggle: ServerAction<SetTaskDone>,
    rename: ServerAction<RenameTask>,
    delete: ServerAction<DeleteTask>,
    toggling: Memo<Option<i64>>,
    renaming: Memo<Option<i64>>,
    deleting: Memo<Option<i64>>,
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let add = ServerAction::<AddTask>::new();
    let toggle = ServerAction::<SetTaskDone>::new();
    let rename = ServerAction::<RenameTask>::new();
    let delete = ServerAction::<DeleteTask>::new();
    let actions = TaskActions {
        toggle,
        rename,
        delete,
        toggling: Memo::new(move |_| toggle.input().with(|i| i.as_ref().map(|i| i.id))),
        renaming: Memo::new(move |_| rename.input().with(|i| i.as_ref().map(|i| i.id))),
        deleting: Memo::new(move |_| delete.input().with(|i| i.as_ref().map(|i| i.id))),
    };
    // Refetch the list whenever any change completes: the server is the source of truth.
    let tasks = Resource::new(
        move || {
            (
                add.version().get(),
                actions.toggle.version().get(),
                actions.rename.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| list_tasks(),
    );

    let add_error = action_error(add);
    let item_errors = [
        action_error(actions.toggle),
        action_error(actions.rename),
        action_error(actions.delete),
    ];
    let list_error = Signal::derive(move || item_errors.iter().find_map(|error| error.get()));

    // A session that expired while the page was open: go and log in again.
    let navigate = use_navigate();
    Effect::new(move |_| {
        let signed_out =
            |e: &AppError| matches!(e, AppError::Unauthorized | AppError::InvalidToken);
        let expired = matches!(tasks.get(), Some(Err(ref e)) if signed_out(e))
            || list_error.get().as_ref().is_some_and(signed_out)
            || add_error.get().as_ref().is_some_and(signed_out);
        if expired {
            navigate(&paths::login_then(paths::TASKS), Default::default());
        }
    });

    // Clear the input after a successful add.
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get()
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });

    let title_error = Signal::derive(move || add_error.get().and_then(|e| e.message_for("title")));
    let add_general = Signal::derive(move || {
        add_error
            .get()
            .filter(|e| e.message_for("title").is_none())
            .map(|e| e.to_string())
    });
    let adding = add.pending();

    view! {
        <Title text=page_title("Your tasks") />
        <section class="card tasks">
            <h1>"Your tasks"</h1>
            <ActionForm action=add node_ref=form>
                <div class="field inline">
                    <label for="new-task">"New task"</label>
                    <input
                        id="new-task"
                        name="title"
                        required
                        maxlength=TITLE_MAX
                        autocomplete="off"
                        aria-invalid=move || if title_error.get().is_some() { "true" } else { "false" }
                        aria-describedby="new-task-error"
                    />
                    <button type="submit" disabled=move || adding.get() aria-busy=move || adding.get().to_string()>
                        {move || if adding.get() { "Adding…" } else { "Add" }}
                    </button>
                </div>
                <p class="field-error" id="new-task-error" role="alert">
                    {move || title_error.get()}
                </p>
                <FormError error=add_general />
            </ActionForm>
            <FormError error=Signal::derive(move || list_error.get().map(|e| e.to_string())) />
            <Transition fallback=|| view! { <p class="muted">"Loading your tasks…"</p> }>
                {move || Suspend::new(async move {
                    match tasks.await {
                        Ok(list) if list.is_empty() => {
                            view! {
                                <Title text=page_title("Your tasks (0)") />
                                <p class="muted">"No tasks yet. Add your first one above."</p>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            // Open tasks: what is left to do, as mail apps count unread mail.
                            let open = list.iter().filter(|task| !task.done).count();
                            view! {
                                <Title text=page_title(&format!("Your tasks ({open})")) />
                                <ul class="task-list">
                                    {list
                                        .into_iter()
                                        .map(|task| view! { <TaskItem task actions /> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <p class="form-error" role="alert">
                                    {format!("Could not load your tasks. {err}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// One task: a checkbox labelled by its title, and Rename / Delete.
#[component]
fn TaskItem(task: Task, actions: TaskActions) -> impl IntoView {
    let Task {
        id, title, done, ..
    } = task;
    let TaskActions {
        toggle,
        rename,
        delete,
        toggling,
        renaming,
        deleting,
    } = actions;
    let editing = RwSignal::new(false);
    let checkbox_id = format!("task-{id}");
    let this = Some(id);
    let deleting = move || deleting.get() == this;
    let busy = move || toggling.get() == this || renaming.get() == this || deleting();

    view! {
        <li class="task" class:done=done aria-busy=move || busy().to_string()>
            <input
                type="checkbox"
                id=checkbox_id.clone()
                checked=done
                disabled=busy
                on:change=move |ev| {
                    toggle.dispatch(SetTaskDone { id, done: event_target_checked(&ev) });
                }
            />
            {move || {
                if editing.get() {
                    view! { <RenameForm id title=title.clone() rename editing /> }.into_any()
                } else {
                    view! {
                        <label class="title" for=checkbox_id.clone()>{title.clone()}</label>
                        <button type="button" class="secondary" on:click=move |_| editing.set(true)>
                            "Rename"
                        </button>
                    }
                        .into_any()
                }
            }}
            <ActionForm action=delete attr:class="delete">
                <input type="hidden" name="id" value=id />
                <button type="submit" class="danger" disabled=deleting>
                    {move || if deleting() { "Deleting…" } else { "Delete" }}
                </button>
            </ActionForm>
        </li>
    }
}

/// The inline editor that replaces a task's title while renaming.
#[component]
fn RenameForm(
    id: i64,
    title: String,
    rename: ServerAction<RenameTask>,
    editing: RwSignal<bool>,
) -> impl IntoView {
    let saving = move || {
        rename
            .input()
            .with(|i| i.as_ref().is_some_and(|i| i.id == id))
    };
    let input_id = format!("rename-{id}");
    view! {
        <ActionForm action=rename attr:class="rename">
            <input type="hidden" name="id" value=id />
            <label for=input_id.clone()>"New title"</label>
            <input
                id=input_id
                name="title"
                value=title
                required
                maxlength=TITLE_MAX
                autocomplete="off"
                autofocus
            />
            <button type="submit" disabled=saving>
                {move || if saving() { "Saving…" } else { "Save" }}
            </button>
            <button type="button" class="secondary" on:click=move |_| editing.set(false)>
                "Cancel"
            </button>
        </ActionForm>
    }
}
