// Tasks and posts with their comments, and the meeting panel.
import { expect, openTab, screenshot, test, twoInASpace } from './fixtures.js';

test('a task is created, assigned and completed; posts, comments and the meeting panel', async ({ open }) => {
  const { ann, bob, b } = await twoInASpace(open, 'tasks');
  await openTab(ann, 'Tasks');
  await openTab(bob, 'Tasks');
  const form = ann.getByRole('form', { name: 'New task' });
  await form.getByLabel('Task title').fill('Write the release notes');
  await form.getByLabel('Details').fill('Cover the web client');
  await form.getByLabel('Due date').fill('2031-03-15');
  await form.getByLabel(b.name).check();
  await form.getByRole('button', { name: 'Add task' }).click();
  const task = bob.locator('li.thread', { hasText: 'Write the release notes' });
  await task.getByText(`Assigned to ${b.name}`).waitFor();
  await task.getByText('Pending').waitFor();
  // Bob comments and completes it; Ann sees both.
  await task.getByRole('button', { name: /Comments/ }).click();
  await task.getByRole('textbox', { name: 'Comment' }).fill('On it');
  await task.getByRole('textbox', { name: 'Comment' }).press('Enter');
  await ann.locator('li.thread', { hasText: 'Write the release notes' }).getByRole('button', { name: 'Comments (1)' }).waitFor();
  // Bob, the assignee, ticks it off; Ann (the author) sees it live.
  expect(await task.getByRole('checkbox').isDisabled(), 'the assignee may tick the task').toBe(false);
  await task.getByRole('checkbox').click();
  await ann.locator('li.thread[data-status=completed]', { hasText: 'Write the release notes' }).waitFor();
  await ann.locator('li.thread', { hasText: 'Write the release notes' }).getByText('Completed').waitFor();
  await screenshot(ann, 'tasks');
  // A post, with a comment from the other side.
  await openTab(ann, 'Posts');
  await openTab(bob, 'Posts');
  const postForm = ann.getByRole('form', { name: 'New post' });
  await postForm.getByLabel('Post title').fill('Release plan');
  await postForm.getByLabel('Text').fill('We ship on Friday.');
  await postForm.getByRole('button', { name: 'Publish post' }).click();
  const post = bob.locator('li.thread', { hasText: 'Release plan' });
  await post.getByText('We ship on Friday.').waitFor();
  await post.getByRole('button', { name: 'Comments (0)' }).click();
  await post.getByRole('textbox', { name: 'Comment' }).fill('Sounds good');
  await post.getByRole('textbox', { name: 'Comment' }).press('Enter');
  await post.locator('.comment', { hasText: 'Sounds good' }).waitFor();
  await ann.locator('li.thread', { hasText: 'Release plan' }).getByRole('button', { name: 'Comments (1)' }).waitFor();
  // The meeting panel: Ann starts, Bob joins and raises a hand, Ann sees it and records.
  await openTab(ann, 'Meeting');
  await openTab(bob, 'Meeting');
  await ann.getByRole('button', { name: 'Start meeting' }).click();
  await ann.getByRole('button', { name: 'Join now' }).click();
  await bob.getByText('Meeting in progress').waitFor();
  await bob.getByRole('button', { name: 'Join meeting' }).click();
  await bob.getByRole('button', { name: 'Join audio only' }).click();
  await ann.getByRole('heading', { name: 'Attendees (2)' }).waitFor();
  await bob.getByRole('button', { name: 'Raise hand' }).click();
  await ann.getByLabel('Hand raised').waitFor();
  await ann.getByRole('button', { name: 'Start recording' }).click();
  await bob.getByLabel('Recording').waitFor();
  await screenshot(ann, 'meeting');
  await ann.getByRole('button', { name: 'End meeting' }).click();
  await bob.getByText('No meeting is running').waitFor();
});
