//! The task list of `/tasks`, live in the browser: the island that page ships.
//!
//! The list is keyed: each row owns its signals, and a change touches only the row it is about
//! (the rest of the list is never rendered again). Ticking a task is optimistic and rolls back
//! with a message when the server refuses; a delete hides the row at once, and once the server
//! has it, Undo brings the task back for a few seconds (the server keeps deleted tasks for a
//! while, see `server::db::tasks::restore`).
//!
//! Every control is a real form, so the list works without JavaScript: ticking, deleting and
//! "Clear done" post to their server functions and come back to the same filter; Rename is a
//! `GET /tasks?edit=ID` form that opens the rename form on the server. With JavaScript the same
//! forms are handled in place.
//!
//! An island reaches nothing of the page around it: what it shows arrives as its props (the
//! first page of tasks, the filter, the refusals a form post came back with), serialised into
//! the page once, and it talks to the server only through the task server functions.

use std::time::Duration;

use leptos::{
    ev::{KeyboardEvent, SubmitEvent},
    html,
    prelude::*,
    server_fn::ServerFn,
    task::spawn_local,
};
use serde::{Deserialize, Serialize};

use crate::{
    components::page_title,
    error::{AppError, Resource as Missing},
    fns::tasks::{
        AddTask, ClearDoneTasks, DeleteTask, RenameTask, SetTaskDone, add_task, clear_done_tasks,
        delete_task, list_tasks, rename_task, restore_tasks, set_task_done,
    },
    model::{Task, TaskFilter, TaskListPage, limits::TITLE_MAX},
    paths,
};

/// How long the page offers Undo after a delete.
const UNDO_FOR: Duration = Duration::from_secs(8);

/// The refusals JavaScript-free form posts came back with, as the sentences the list shows:
/// the page reads them on the server, and the island gets only the text (the bundle then has
/// no code to decode an error from its props).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskFormErrors {
    /// "New task": the message under the title field.
    pub add_field: Option<String>,
    /// "New task": a refusal that is not about the title.
    pub add_form: Option<String>,
    /// The title a refused "New task" post had, to show again.
    pub add_title: Option<String>,
    /// The rename form of the task the page was opened to rename (`?edit=ID`).
    pub rename: Option<String>,
    /// Ticking, deleting, "Clear done": said above the list.
    pub list: Option<String>,
}

impl TaskFormErrors {
    /// The refusals as the list shows them.
    pub fn new(
        add: Option<AppError>,
        add_title: Option<String>,
        rename: Option<AppError>,
        list: Option<AppError>,
    ) -> Self {
        let (add_field, add_form) = add.as_ref().map(title_and_form_error).unwrap_or_default();
        Self {
            add_field,
            add_form,
            add_title,
            rename: rename.as_ref().map(rename_message),
            list: list.as_ref().map(ToString::to_string),
        }
    }
}

/// What a refusal says under a title field, and what it says about the form (one of the two).
fn title_and_form_error(error: &AppError) -> (Option<String>, Option<String>) {
    match error.message_for("title") {
        Some(field) => (Some(field), None),
        None => (None, Some(error.to_string())),
    }
}

/// A refusal of a rename, said under its field.
fn rename_message(error: &AppError) -> String {
    error
        .message_for("title")
        .unwrap_or_else(|| error.to_string())
}

fn is_signed_out(error: &AppError) -> bool {
    matches!(error, AppError::Unauthorized | AppError::InvalidToken)
}

/// Moves the keyboard focus to the element with this id, once the browser has drawn the
/// change that created it. Only ever called from event handlers (in the browser).
fn focus_soon(id: String) {
    request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(element) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
}

fn checkbox_id(id: i64) -> String {
    format!("task-{id}")
}

fn rename_button_id(id: i64) -> String {
    format!("rename-{id}")
}

/// The title of the page for this many open tasks.
pub fn tasks_title(open: i64) -> String {
    page_title(&format!("Your tasks ({open})"))
}

/// "New task" and the list under it.
///
/// `page` is the first page of the list the server loaded for `filter` (`before`: the cursor it
/// started at, when the person paged on without JavaScript); `edit` opens that task's rename
/// form (`?edit=ID`).
#[island]
pub fn TaskList(
    page: TaskListPage,
    filter: TaskFilter,
    edit: Option<i64>,
    before: Option<i64>,
    errors: TaskFormErrors,
) -> impl IntoView {
    // A session that ended while the page was open: off to the login page, which comes back here.
    let signed_out = RwSignal::new(false);
    Effect::new(move |_| {
        if signed_out.get() {
            let _ = window()
                .location()
                .set_href(&paths::login_then(paths::TASKS));
        }
    });
    let list = List::new(page, filter, edit, &errors, signed_out);
    // The tab's title counts the open tasks; the server wrote the first one. Browser only.
    Effect::new(move |first: Option<()>| {
        let open = list.open.get();
        if first.is_some() {
            document().set_title(&tasks_title(open));
        }
    });
    // Marks the list live (browser tests wait for it before they click).
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    // Type-erased: the list's full view type is too deep for the compiler to lay out.
    view! {
        <div class="task-island" data-ready=move || ready.get().then_some("true")>
            <AddForm list field_error=errors.add_field form_error=errors.add_form typed=errors.add_title />
            <ListView list before />
        </div>
    }
    .into_any()
}

/// "New task": adds at the top of the list, keeps the focus in the field for the next one.
#[component]
fn AddForm(
    list: List,
    field_error: Option<String>,
    form_error: Option<String>,
    typed: Option<String>,
) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let adding = RwSignal::new(false);
    // Without JavaScript a refused title comes back with the page: focus goes to the field.
    let refused = field_error.is_some() || form_error.is_some();
    let title_error = RwSignal::new(field_error);
    let general = RwSignal::new(form_error);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        // aria-disabled, not disabled: the button keeps the focus while the task is saved.
        if adding.get_untracked() {
            return;
        }
        let Some(field) = input.get_untracked() else {
            return;
        };
        let title = field.value();
        adding.set(true);
        spawn_local(async move {
            let result = add_task(title).await;
            // The person may have left the page meanwhile.
            if adding.try_set(false).is_some() {
                return;
            }
            match result {
                Ok(task) => {
                    title_error.set(None);
                    general.set(None);
                    if let Some(field) = input.get_untracked() {
                        field.set_value("");
                    }
                    list.added(task);
                }
                Err(err) => {
                    if is_signed_out(&err) {
                        list.signed_out.set(true);
                    }
                    let (field, form) = title_and_form_error(&err);
                    title_error.set(field);
                    general.set(form);
                    focus_soon("new-task".to_owned());
                }
            }
        });
    };
    view! {
        <form method="post" action=AddTask::PATH class="add-task" on:submit=on_submit>
            <label for="new-task">"New task"</label>
            <div class="add-row">
                <input
                    id="new-task"
                    name="title"
                    node_ref=input
                    value=typed
                    required
                    maxlength=TITLE_MAX
                    autocomplete="off"
                    autofocus=refused
                    aria-invalid=move || if title_error.with(Option::is_some) { "true" } else { "false" }
                    aria-describedby="new-task-error"
                />
                <button type="submit" aria-disabled=move || adding.get().to_string()>
                    {move || if adding.get() { "Adding…" } else { "Add" }}
                </button>
            </div>
            <p class="field-error" id="new-task-error" role="alert">
                {move || title_error.get()}
            </p>
            <p class="form-error" role="alert">
                {move || general.get()}
            </p>
        </form>
    }
}

/// One task on screen. Its state is one signal: a list of fifty tasks is fifty signals to create
/// (and, on the server, to render and drop on every request), not three hundred; a change
/// re-runs only this row's few bindings.
#[derive(Clone, Copy)]
struct Row {
    id: i64,
    state: RwSignal<RowState>,
}

#[derive(Clone)]
struct RowState {
    title: String,
    done: bool,
    /// A change of this row is on its way to the server.
    busy: bool,
    editing: bool,
    edit_error: Option<String>,
    /// Counts the row's toggles, so only the answer to the latest one is applied.
    toggles: u32,
}

impl Row {
    fn new(task: Task, editing: bool, edit_error: Option<String>) -> Self {
        Self {
            id: task.id,
            state: RwSignal::new(RowState {
                title: task.title,
                done: task.done,
                busy: false,
                editing,
                edit_error,
                toggles: 0,
            }),
        }
    }

    /// Reads the state, tracked (in a binding, which re-runs when the row changes).
    fn read<T>(self, f: impl FnOnce(&RowState) -> T) -> T {
        self.state.with(f)
    }

    /// Reads the state without tracking (in an event handler).
    fn peek<T>(self, f: impl FnOnce(&RowState) -> T) -> T {
        self.state.with_untracked(f)
    }

    fn update(self, f: impl FnOnce(&mut RowState)) {
        self.state.update(f);
    }
}

/// What Undo would bring back, while it is offered.
struct UndoOffer {
    /// The server's name for what was deleted.
    batch: i64,
    /// The rows that were on screen, with the index each had.
    removed: Vec<(usize, Row)>,
    timer: Option<TimeoutHandle>,
}

/// The list on screen and everything done to it.
#[derive(Clone, Copy)]
struct List {
    filter: TaskFilter,
    rows: RwSignal<Vec<Row>>,
    open: RwSignal<i64>,
    done: RwSignal<i64>,
    next: RwSignal<Option<i64>>,
    loading_more: RwSignal<bool>,
    /// The latest failure of a row action, announced above the list.
    error: RwSignal<Option<String>>,
    /// What Undo would bring back ("Deleted ‘Buy milk’."), while it can.
    undo_message: RwSignal<Option<String>>,
    offer: StoredValue<Option<UndoOffer>>,
    /// Rows created later (added, loaded) belong to the list, not to the event that made them.
    owner: StoredValue<Owner>,
    signed_out: RwSignal<bool>,
}

impl List {
    fn new(
        page: TaskListPage,
        filter: TaskFilter,
        edit: Option<i64>,
        no_js: &TaskFormErrors,
        signed_out: RwSignal<bool>,
    ) -> Self {
        let rename_error = no_js.rename.clone();
        let rows = page
            .tasks
            .into_iter()
            .map(|task| {
                let editing = edit == Some(task.id);
                let error = rename_error.clone().filter(|_| editing);
                Row::new(task, editing, error)
            })
            .collect();
        Self {
            filter,
            rows: RwSignal::new(rows),
            open: RwSignal::new(page.open),
            done: RwSignal::new(page.done),
            next: RwSignal::new(page.next),
            loading_more: RwSignal::new(false),
            error: RwSignal::new(no_js.list.clone()),
            undo_message: RwSignal::new(None),
            offer: StoredValue::new(None),
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
            signed_out,
        }
    }

    /// Whether the list is still on screen. Answers arrive after the person may have left
    /// (another filter, another page); by then its signals are gone and must not be touched.
    fn alive(self) -> bool {
        self.rows.try_with_untracked(|_| ()).is_some()
    }

    fn new_row(self, task: Task) -> Row {
        self.owner.get_value().with(|| Row::new(task, false, None))
    }

    /// Says what failed, or sends the person to log in when their session has ended.
    fn fail(self, what: String, error: &AppError) {
        if is_signed_out(error) {
            self.signed_out.try_set(true);
        }
        if self.alive() {
            self.error.set(Some(format!("{what}. {error}")));
        }
    }

    fn count(self, done: bool, by: i64) {
        if done {
            self.done.update(|n| *n += by);
        } else {
            self.open.update(|n| *n += by);
        }
    }

    fn index_of(self, id: i64) -> Option<usize> {
        self.rows
            .with_untracked(|rows| rows.iter().position(|row| row.id == id))
    }

    fn added(self, task: Task) {
        if !self.alive() {
            return;
        }
        self.error.set(None);
        self.count(task.done, 1);
        if self.filter.shows(task.done) {
            let row = self.new_row(task);
            self.rows.update(|rows| rows.insert(0, row));
        }
    }

    /// Ticks or unticks at once; the server's refusal puts it back and says why.
    fn toggle(self, row: Row) {
        let done = !row.peek(|r| r.done);
        row.update(|r| r.done = done);
        self.count(done, 1);
        self.count(!done, -1);
        let toggle = row.peek(|r| r.toggles).wrapping_add(1);
        row.update(|r| {
            r.toggles = toggle;
            r.busy = true;
        });
        spawn_local(async move {
            let result = set_task_done(row.id, done).await;
            // A later click decided this row's state (its own answer will settle it), or the
            // list is gone.
            if row.state.try_with_untracked(|r| r.toggles) != Some(toggle) || !self.alive() {
                return;
            }
            row.update(|r| r.busy = false);
            match result {
                Ok(task) => row.update(|r| r.title = task.title),
                Err(AppError::NotFound(Missing::Task)) => self.vanished(row),
                Err(err) => {
                    row.update(|r| r.done = !done);
                    self.count(!done, 1);
                    self.count(done, -1);
                    let state = if done { "done" } else { "not done" };
                    let title = row.peek(|r| r.title.clone());
                    self.fail(format!("Could not mark ‘{title}’ {state}"), &err);
                }
            }
        });
    }

    /// A task deleted elsewhere (another tab, the API): take it off this list too.
    fn vanished(self, row: Row) {
        if let Some(index) = self.index_of(row.id) {
            self.rows.update(|rows| {
                rows.remove(index);
            });
            self.count(row.peek(|r| r.done), -1);
        }
        let title = row.peek(|r| r.title.clone());
        self.error
            .set(Some(format!("‘{title}’ was deleted elsewhere.")));
    }

    fn rename(self, row: Row, title: String, saving: RwSignal<bool>) {
        if row.peek(|r| title.trim() == r.title) {
            row.update(|r| {
                r.edit_error = None;
                r.editing = false;
            });
            focus_soon(rename_button_id(row.id));
            return;
        }
        saving.set(true);
        row.update(|r| r.busy = true);
        spawn_local(async move {
            let result = rename_task(row.id, title).await;
            if !self.alive() {
                return;
            }
            row.update(|r| r.busy = false);
            saving.try_set(false);
            match result {
                Ok(task) => {
                    row.update(|r| {
                        r.title = task.title;
                        r.edit_error = None;
                        r.editing = false;
                    });
                    focus_soon(rename_button_id(row.id));
                }
                Err(AppError::NotFound(Missing::Task)) => self.vanished(row),
                Err(err) => {
                    if is_signed_out(&err) {
                        self.signed_out.set(true);
                    }
                    let message = rename_message(&err);
                    row.update(|r| r.edit_error = Some(message));
                    focus_soon(format!("rename-input-{}", row.id));
                }
            }
        });
    }

    /// Takes the row off the list at once; once the server has deleted it, offers Undo.
    fn delete(self, row: Row) {
        let Some(index) = self.index_of(row.id) else {
            return;
        };
        // The focus stays where the row was: on the next row, else the one before, else the
        // field for a new task.
        let neighbour = self.rows.with_untracked(|rows| {
            rows.get(index + 1)
                .or_else(|| index.checked_sub(1).and_then(|i| rows.get(i)))
                .map(|r| checkbox_id(r.id))
        });
        let counts = (self.open.get_untracked(), self.done.get_untracked());
        self.rows.update(|rows| {
            rows.remove(index);
        });
        self.count(row.peek(|r| r.done), -1);
        focus_soon(neighbour.unwrap_or_else(|| "new-task".to_owned()));
        let removed = vec![(index, row)];
        let title = row.peek(|r| r.title.clone());
        spawn_local(async move {
            match delete_task(row.id).await {
                Ok(deleted) => {
                    self.offer_undo(deleted.batch, removed, format!("Deleted ‘{title}’."))
                }
                // Deleted elsewhere already: it is gone, as asked.
                Err(AppError::NotFound(Missing::Task)) => {}
                Err(err) => {
                    self.put_back(&removed, counts);
                    self.fail(format!("Could not delete ‘{title}’"), &err);
                }
            }
        });
    }

    /// Takes every done task off the list and off the server; offers Undo as for a delete.
    fn clear_done(self) {
        let counts = (self.open.get_untracked(), self.done.get_untracked());
        let mut removed = Vec::new();
        self.rows.update(|rows| {
            let mut index = 0;
            rows.retain(|row| {
                let keep = !row.peek(|r| r.done);
                if !keep {
                    removed.push((index, *row));
                }
                index += 1;
                keep
            });
        });
        self.done.set(0);
        let first = self
            .rows
            .with_untracked(|rows| rows.first().map(|r| checkbox_id(r.id)));
        focus_soon(first.unwrap_or_else(|| "new-task".to_owned()));
        spawn_local(async move {
            match clear_done_tasks().await {
                Ok(deleted) => {
                    let message = match deleted.count {
                        1 => "Cleared 1 done task.".to_owned(),
                        n => format!("Cleared {n} done tasks."),
                    };
                    self.offer_undo(deleted.batch, removed, message);
                }
                Err(err) => {
                    self.put_back(&removed, counts);
                    self.fail("Could not clear the done tasks".to_owned(), &err);
                }
            }
        });
    }

    /// Puts rows back where they were (a refused delete), with the counts from before.
    fn put_back(self, removed: &[(usize, Row)], counts: (i64, i64)) {
        if self.rows.try_get_untracked().is_none() {
            return; // the list is gone (another page)
        }
        self.rows.update(|rows| {
            for (index, row) in removed {
                rows.insert((*index).min(rows.len()), *row);
            }
        });
        self.open.set(counts.0);
        self.done.set(counts.1);
    }

    fn offer_undo(self, batch: i64, removed: Vec<(usize, Row)>, message: String) {
        if self.rows.try_get_untracked().is_none() {
            return;
        }
        self.withdraw_undo();
        let timer = set_timeout_with_handle(
            move || {
                self.withdraw_undo();
            },
            UNDO_FOR,
        )
        .ok();
        self.offer.set_value(Some(UndoOffer {
            batch,
            removed,
            timer,
        }));
        self.error.set(None);
        self.undo_message.set(Some(message));
    }

    fn withdraw_undo(self) -> Option<UndoOffer> {
        let offer = self.offer.try_update_value(Option::take).flatten()?;
        if let Some(timer) = offer.timer {
            timer.clear();
        }
        self.undo_message.try_set(None);
        Some(offer)
    }

    /// Brings back what the last delete removed: the rows that were on screen go back to
    /// their places, the counts include any that were not loaded.
    fn undo(self) {
        let Some(offer) = self.withdraw_undo() else {
            return;
        };
        let first = offer.removed.first().map(|(_, row)| checkbox_id(row.id));
        spawn_local(async move {
            match restore_tasks(offer.batch).await {
                Ok(_) if !self.alive() => {}
                Ok(tasks) => {
                    let back: Vec<(usize, Row)> = offer
                        .removed
                        .into_iter()
                        .filter(|(_, row)| tasks.iter().any(|t| t.id == row.id))
                        .collect();
                    self.rows.update(|rows| {
                        for (index, row) in &back {
                            rows.insert((*index).min(rows.len()), *row);
                        }
                    });
                    for task in &tasks {
                        self.count(task.done, 1);
                    }
                    focus_soon(first.unwrap_or_else(|| "new-task".to_owned()));
                }
                Err(err) => self.fail("Could not bring the tasks back".to_owned(), &err),
            }
        });
    }

    fn load_more(self) {
        let Some(before) = self.next.get_untracked() else {
            return;
        };
        if self.loading_more.get_untracked() {
            return;
        }
        self.loading_more.set(true);
        let show = self.filter.query_value().map(str::to_owned);
        spawn_local(async move {
            let result = list_tasks(show, Some(before)).await;
            if !self.alive() {
                return;
            }
            self.loading_more.set(false);
            match result {
                Ok(page) => {
                    let first = page.tasks.first().map(|t| checkbox_id(t.id));
                    let known: Vec<i64> = self
                        .rows
                        .with_untracked(|rows| rows.iter().map(|r| r.id).collect());
                    let new: Vec<Row> = page
                        .tasks
                        .into_iter()
                        .filter(|task| !known.contains(&task.id))
                        .map(|task| self.new_row(task))
                        .collect();
                    self.rows.update(|rows| rows.extend(new));
                    self.next.set(page.next);
                    self.open.set(page.open);
                    self.done.set(page.done);
                    if let Some(first) = first {
                        focus_soon(first);
                    }
                }
                Err(err) => self.fail("Could not load more tasks".to_owned(), &err),
            }
        });
    }
}

fn empty_message(filter: TaskFilter) -> &'static str {
    match filter {
        TaskFilter::All => "No tasks yet. Add your first one above.",
        TaskFilter::Open => "Nothing left to do.",
        TaskFilter::Done => "No done tasks yet.",
    }
}

/// The hidden field that keeps the filter in a GET form's address.
fn filter_field(filter: TaskFilter) -> impl IntoView {
    filter
        .query_value()
        .map(|show| view! { <input type="hidden" name="show" value=show /> })
}

#[component]
fn ListView(list: List, before: Option<i64>) -> impl IntoView {
    let filter = list.filter;
    let tab = move |show: TaskFilter, label: &'static str, count: Signal<i64>| {
        view! {
            <a
                href=paths::task_list(show, None)
                class="tab"
                aria-current=(show == filter).then_some("page")
            >
                {label}
                " "
                <span class="count">{count}</span>
            </a>
        }
    };
    let all = Signal::derive(move || list.open.get() + list.done.get());
    let open = Signal::from(list.open);
    let done = Signal::from(list.done);
    view! {
        <nav class="filters" aria-label="Which tasks">
            {tab(TaskFilter::All, "All", all)}
            {tab(TaskFilter::Open, "Open", open)}
            {tab(TaskFilter::Done, "Done", done)}
        </nav>
        <p class="form-error" role="alert">
            {move || list.error.get()}
        </p>
        <div class="undo" role="status">
            {move || {
                list.undo_message
                    .get()
                    .map(|message| {
                        view! {
                            <span>{message}</span>
                            <button type="button" class="secondary" on:click=move |_| list.undo()>
                                "Undo"
                            </button>
                        }
                    })
            }}
        </div>
        {move || {
            list.rows
                .with(Vec::is_empty)
                .then(|| view! { <p class="muted empty">{empty_message(filter)}</p> })
        }}
        <ul class="task-list">
            <For each=move || list.rows.get() key=|row| row.id let:row>
                <TaskRow row list />
            </For>
        </ul>
        <div class="list-footer">
            {move || {
                list.next
                    .get()
                    .map(|next| {
                        view! {
                            <form
                                method="get"
                                action=paths::TASKS
                                on:submit=move |ev: SubmitEvent| {
                                    ev.prevent_default();
                                    list.load_more();
                                }
                            >
                                {filter_field(filter)}
                                <input type="hidden" name="before" value=next />
                                <button
                                    type="submit"
                                    class="secondary"
                                    aria-disabled=move || list.loading_more.get().to_string()
                                >
                                    {move || {
                                        if list.loading_more.get() { "Loading…" } else { "Load more" }
                                    }}
                                </button>
                            </form>
                        }
                    })
            }}
            {before
                .map(|_| {
                    view! {
                        <a href=paths::task_list(filter, None) class="newest">
                            "Back to the newest tasks"
                        </a>
                    }
                })}
            {move || {
                (list.done.get() > 0)
                    .then(|| {
                        view! {
                            <form
                                method="post"
                                action=ClearDoneTasks::PATH
                                on:submit=move |ev: SubmitEvent| {
                                    ev.prevent_default();
                                    list.clear_done();
                                }
                            >
                                <button type="submit" class="secondary">
                                    "Clear done (" {move || list.done.get()} ")"
                                </button>
                            </form>
                        }
                    })
            }}
        </div>
    }
}

/// A check mark drawn in the checkbox of a done task.
fn check_icon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M5 12.5l4.5 4.5L19 7.5" />
        </svg>
    }
}

fn pencil_icon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M4 20h4L19 9l-4-4L4 16v4z M13.5 6.5l4 4" />
        </svg>
    }
}

fn trash_icon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M4 7h16 M9 7V4h6v3 M6 7l1 13h10l1-13 M10 11v6 M14 11v6" />
        </svg>
    }
}

/// One task: its checkbox, its title (click to rename), Rename and Delete.
#[component]
fn TaskRow(row: Row, list: List) -> impl IntoView {
    let id = row.id;
    let filter = list.filter;
    // The title or its rename form: switched only when `editing` changes, not on every change
    // of the row (a save in progress must not rebuild the form it came from).
    let editing = Memo::new(move |_| row.read(|r| r.editing));
    view! {
        <li
            class="task"
            class:done=move || row.read(|r| r.done)
            class:editing=move || editing.get()
            aria-busy=move || row.read(|r| r.busy).to_string()
        >
            <form
                method="post"
                action=SetTaskDone::PATH
                class="toggle"
                on:submit=move |ev: SubmitEvent| {
                    ev.prevent_default();
                    list.toggle(row);
                }
            >
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="done" value=move || (!row.read(|r| r.done)).to_string() />
                // A button, so that ticking works as a plain form post without JavaScript; to
                // assistive technology it is the checkbox it looks like.
                <button
                    type="submit"
                    class="check"
                    id=checkbox_id(id)
                    role="checkbox"
                    aria-checked=move || row.read(|r| r.done).to_string()
                    aria-label=move || row.read(|r| r.title.clone())
                >
                    {check_icon()}
                </button>
            </form>
            {move || {
                if editing.get() {
                    view! { <RenameForm row list /> }.into_any()
                } else {
                    view! {
                        <span class="title" on:click=move |_| row.update(|r| r.editing = true)>
                            {move || row.read(|r| r.title.clone())}
                        </span>
                        <form
                            method="get"
                            action=paths::TASKS
                            class="row-action"
                            on:submit=move |ev: SubmitEvent| {
                                ev.prevent_default();
                                row.update(|r| r.editing = true);
                            }
                        >
                            {filter_field(filter)}
                            <input type="hidden" name="edit" value=id />
                            <button
                                type="submit"
                                class="icon"
                                id=rename_button_id(id)
                                aria-label=move || row.read(|r| format!("Rename ‘{}’", r.title))
                                title="Rename"
                            >
                                {pencil_icon()}
                            </button>
                        </form>
                    }
                        .into_any()
                }
            }}
            <form
                method="post"
                action=DeleteTask::PATH
                class="row-action"
                on:submit=move |ev: SubmitEvent| {
                    ev.prevent_default();
                    list.delete(row);
                }
            >
                <input type="hidden" name="id" value=id />
                <button
                    type="submit"
                    class="icon danger"
                    aria-label=move || row.read(|r| format!("Delete ‘{}’", r.title))
                    title="Delete"
                >
                    {trash_icon()}
                </button>
            </form>
        </li>
    }
}

/// The title, editable in place: Enter saves, Esc cancels, the focus returns to Rename.
#[component]
fn RenameForm(row: Row, list: List) -> impl IntoView {
    let id = row.id;
    let input = NodeRef::<html::Input>::new();
    let saving = RwSignal::new(false);
    let input_id = format!("rename-input-{id}");
    let error_id = format!("rename-error-{id}");
    // Opened in the browser: the field takes the focus with its text selected.
    Effect::new(move |_| {
        if let Some(field) = input.get() {
            let _ = field.focus();
            field.select();
        }
    });
    let cancel = move || {
        row.update(|r| {
            r.edit_error = None;
            r.editing = false;
        });
        focus_soon(rename_button_id(id));
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let title = input
            .get_untracked()
            .map(|field| field.value())
            .unwrap_or_default();
        list.rename(row, title, saving);
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            cancel();
        }
    };
    let original = row.peek(|r| r.title.clone());
    view! {
        <form
            method="post"
            action=RenameTask::PATH
            class="rename"
            on:submit=on_submit
            on:keydown=on_keydown
        >
            <input type="hidden" name="id" value=id />
            <label for=input_id.clone() class="visually-hidden">
                {format!("New title for ‘{original}’")}
            </label>
            <input
                id=input_id
                node_ref=input
                name="title"
                value=original.clone()
                required
                maxlength=TITLE_MAX
                autocomplete="off"
                autofocus
                aria-invalid=move || if row.read(|r| r.edit_error.is_some()) { "true" } else { "false" }
                aria-describedby=error_id.clone()
            />
            <button type="submit" aria-disabled=move || saving.get().to_string()>
                {move || if saving.get() { "Saving…" } else { "Save" }}
            </button>
            // A link, so that Cancel works without JavaScript too; rel="external" keeps the
            // router out of it when the click handler takes it.
            <a
                href=paths::task_list(list.filter, None)
                rel="external"
                class="button secondary"
                on:click=move |ev| {
                    ev.prevent_default();
                    cancel();
                }
            >
                "Cancel"
            </a>
            <p class="field-error" id=error_id role="alert">
                {move || row.read(|r| r.edit_error.clone())}
            </p>
        </form>
    }
}
