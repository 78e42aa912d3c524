// What every signed-in page does first: load the session (redirects to /login when there is none) and
// wire the sign-out button. Pages then render into #content.
import { del, session, type Session } from './api.js';
import { content, errorBox } from './dom.js';

export async function startPage(render: (s: Session, root: HTMLElement) => Promise<void> | void): Promise<void> {
  const s = await session();
  document.getElementById('sign-out')?.addEventListener('click', () => {
    void del('/api/v1/session').finally(() => location.assign('/login'));
  });
  const root = content();
  try {
    await render(s, root);
  } catch (err) {
    root.appendChild(errorBox(err));
  }
}
