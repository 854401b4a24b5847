import { expect, test, type Page } from '@playwright/test';
import { hydrated, onTaskListAs, watchConsole } from './helpers';

// The task list as a person uses it, with JavaScript: runs on the desktop and the phone
// projects (playwright.config.ts).

let consoleProblems: string[] = [];
test.beforeEach(async ({ page }) => {
  consoleProblems = watchConsole(page);
});
test.afterEach(async () => {
  expect(consoleProblems, 'console errors').toEqual([]);
});

/** Adds tasks through the server function the page uses, with the page's own session. */
async function addTasks(page: Page, titles: string[]): Promise<void> {
  for (const title of titles) {
    const response = await page.request.post('/api/tasks/add', { form: { title } });
    expect(response.status(), await response.text()).toBe(200);
  }
}

async function addThroughForm(page: Page, title: string): Promise<void> {
  await page.getByLabel('New task').fill(title);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('checkbox', { name: title, exact: true })).toBeVisible();
}

test('ticking is instant and stays; a refusal puts it back and says why', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Ticker');
  await addThroughForm(page, 'Buy milk');
  await addThroughForm(page, 'Walk the dog');
  const milk = page.getByRole('checkbox', { name: 'Buy milk', exact: true });

  // The focus stays on the checkbox: the row is updated in place, not rendered again.
  await milk.focus();
  await page.keyboard.press('Space');
  await expect(milk).toBeChecked();
  await expect(milk).toBeFocused();
  await expect(page).toHaveTitle('Your tasks (1) · Tasks');

  // The server refuses the next change: the tick goes back and the reason is announced.
  await page.route('**/api/tasks/set_done', (route) =>
    route.fulfill({
      status: 429,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'rate_limited', detail: { retry_after_secs: 30 } }),
    }),
  );
  const dog = page.getByRole('checkbox', { name: 'Walk the dog', exact: true });
  await dog.click();
  await expect(page.getByRole('alert').filter({ hasText: 'Could not mark ‘Walk the dog’ done.' })).toBeVisible();
  await expect(dog).not.toBeChecked();
  await expect(page).toHaveTitle('Your tasks (1) · Tasks');
  await page.unroute('**/api/tasks/set_done');

  await page.reload();
  await hydrated(page);
  await expect(milk).toBeChecked();
  await expect(dog).not.toBeChecked();
});

test('rename in place: Enter saves, Escape cancels, and the focus comes back to Rename', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Renamer');
  await addThroughForm(page, 'Write report');
  const rename = page.getByRole('button', { name: 'Rename ‘Write report’' });
  await rename.click();
  const field = page.getByLabel('New title for ‘Write report’');
  await expect(field).toBeFocused();
  // In rename mode the checkbox keeps its name.
  await expect(page.getByRole('checkbox', { name: 'Write report', exact: true })).toBeVisible();
  await field.fill('Something else');
  await page.keyboard.press('Escape');
  await expect(field).toHaveCount(0);
  await expect(rename).toBeFocused();

  // Clicking the title edits it too.
  await page.getByText('Write report', { exact: true }).click();
  await expect(field).toBeFocused();
  await field.fill('Write the quarterly report');
  await page.keyboard.press('Enter');
  const renamed = page.getByRole('button', { name: 'Rename ‘Write the quarterly report’' });
  await expect(renamed).toBeFocused();

  // An empty title is refused on the form, and the focus goes back to the field.
  await renamed.click();
  const again = page.getByLabel('New title for ‘Write the quarterly report’');
  await again.fill('   ');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('alert').filter({ hasText: 'Enter a title for the task.' })).toBeVisible();
  await expect(again).toBeFocused();
  await expect(again).toHaveAttribute('aria-invalid', 'true');

  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('checkbox', { name: 'Write the quarterly report', exact: true })).toBeVisible();
});

/** The titles the server has for this session's account, newest first. */
async function serverTitles(page: Page): Promise<string[]> {
  const list = await (await page.request.post('/api/tasks/list', { form: {} })).json();
  return list.tasks.map((t: { title: string }) => t.title);
}

test('delete is immediate, keeps the focus on the next task, and Undo brings the task back', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Deleter');
  await addTasks(page, ['First', 'Second', 'Third']);
  await page.reload();
  await hydrated(page);
  const items = page.getByRole('listitem');
  await expect(items).toHaveCount(3); // Third, Second, First

  await page.getByRole('button', { name: 'Delete ‘Second’' }).click();
  await expect(items).toHaveCount(2);
  await expect(page.getByRole('checkbox', { name: 'First', exact: true })).toBeFocused();
  await expect(page.getByRole('status').filter({ hasText: 'Deleted ‘Second’.' })).toBeVisible();
  // The server has it already: a reload now would not bring it back.
  expect(await serverTitles(page)).toEqual(['Third', 'First']);

  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(items).toHaveCount(3);
  await expect(items.nth(1)).toContainText('Second');
  await expect(page.getByRole('checkbox', { name: 'Second', exact: true })).toBeFocused();
  await expect(async () => expect(await serverTitles(page)).toEqual(['Third', 'Second', 'First'])).toPass();

  // The offer ends by itself after a few seconds.
  await page.getByRole('button', { name: 'Delete ‘Third’' }).click();
  await expect(page.getByRole('checkbox', { name: 'Second', exact: true })).toBeFocused();
  await expect(page.getByRole('button', { name: 'Undo' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Undo' })).toBeHidden({ timeout: 15_000 });
  await page.reload();
  await hydrated(page);
  await expect(items).toHaveCount(2);

  // Deleting the last task leaves the focus in the field for a new one.
  for (const title of ['Second', 'First']) {
    await page.getByRole('button', { name: `Delete ‘${title}’` }).click();
  }
  await expect(page.getByLabel('New task')).toBeFocused();
  await expect(page.getByText('No tasks yet.')).toBeVisible();
});

test('filters count open and done tasks, and Clear done removes the done ones', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Filterer');
  await addTasks(page, ['One', 'Two', 'Three', 'Four']);
  await page.reload();
  await hydrated(page);
  for (const title of ['One', 'Three']) {
    await page.getByRole('checkbox', { name: title, exact: true }).click();
    await expect(page.getByRole('checkbox', { name: title, exact: true })).toBeChecked();
  }
  const filters = page.getByRole('navigation', { name: 'Which tasks' });
  await expect(filters.getByRole('link', { name: 'All 4' })).toHaveAttribute('aria-current', 'page');
  await filters.getByRole('link', { name: 'Done 2' }).click();
  await expect(page).toHaveURL(/\/tasks\?show=done$/);
  await expect(filters.getByRole('link', { name: 'Done 2' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await filters.getByRole('link', { name: 'Open 2' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await expect(page.getByRole('checkbox', { name: 'Two', exact: true })).toBeVisible();

  await filters.getByRole('link', { name: 'All 4' }).click();
  await page.getByRole('button', { name: 'Clear done (2)' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(2);
  await expect(page.getByRole('status').filter({ hasText: 'Cleared 2 done tasks.' })).toBeVisible();
  await expect(filters.getByRole('link', { name: 'Done 0' })).toBeVisible();
  await expect(async () => expect((await serverTitles(page)).sort()).toEqual(['Four', 'Two'])).toPass();
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(4);
  await expect(filters.getByRole('link', { name: 'Done 2' })).toBeVisible();
  await expect(page.getByRole('checkbox', { name: 'One', exact: true })).toBeChecked();
  await expect(async () => expect(await serverTitles(page)).toHaveLength(4)).toPass();
});

test('a long list shows its first 50 tasks and loads more on request', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Long list');
  const titles = Array.from({ length: 60 }, (_, i) => `Task number ${i + 1}`);
  await addTasks(page, titles);
  await page.reload();
  await hydrated(page);
  const items = page.getByRole('listitem');
  await expect(items).toHaveCount(50);
  await expect(items.first()).toContainText('Task number 60');
  await expect(page).toHaveTitle('Your tasks (60) · Tasks');
  await page.getByRole('button', { name: 'Load more' }).click();
  await expect(items).toHaveCount(60);
  await expect(items.last()).toContainText('Task number 1');
  // The focus moves to the first task loaded, so the keyboard carries on where the list grew.
  await expect(page.getByRole('checkbox', { name: 'Task number 10', exact: true })).toBeFocused();
  await expect(page.getByRole('button', { name: 'Load more' })).toHaveCount(0);
});

test('a failed add keeps the text and puts the focus on the field', async ({ page, baseURL }) => {
  await onTaskListAs(page, baseURL!, 'Adder');
  const field = page.getByLabel('New task');
  await field.fill('x'.repeat(10));
  await page.route('**/api/tasks/add', (route) =>
    route.fulfill({
      status: 422,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'validation', detail: [{ field: 'title', message: 'Too long for this test.' }] }),
    }),
  );
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.locator('#new-task-error')).toHaveText('Too long for this test.');
  await expect(field).toBeFocused();
  await expect(field).toHaveValue('x'.repeat(10));
  await expect(field).toHaveAttribute('aria-invalid', 'true');
});
