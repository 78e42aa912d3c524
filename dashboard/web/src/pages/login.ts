// The sign-in page. It talks to /api/v1/session with fetch() itself (the shared api.ts sends 401s back
// here, which would loop), shows one message for every refused password, and after signing in goes to
// ?next= only when that is a path of this dashboard.
import { clear, h } from '../lib/dom.js';

/** A same-origin path to go to after sign-in, or '/': never another site, never back to /login. */
function safeNext(raw: string | null): string {
  // '//host' and '/\host' are other hosts to a browser; control characters and '\' have no place in a path.
  const unsafeChar = [...(raw ?? '')].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || unsafeChar) return '/';
  try {
    const url = new URL(raw, location.origin);
    if (url.origin !== location.origin || url.pathname === '/login') return '/';
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return '/';
  }
}

const next = safeNext(new URLSearchParams(location.search).get('next'));

function messageFor(status: number, code: string, retryAfterS: number): string {
  if (status === 401) return 'Wrong user name or password, or no dashboard role for this account.';
  if (status === 429) return `Too many sign-in attempts. Try again in ${retryAfterS} s.`;
  if (code === 'TW_ERR_DASH_LDAP_UNAVAILABLE') return 'The directory (LDAP) cannot be reached right now, so directory accounts cannot sign in. Local accounts still can.';
  if (code === 'TW_ERR_DASH_STORE_UNAVAILABLE') return 'Sign-ins cannot be recorded right now, so none are allowed. Try again in a moment.';
  if (code === 'TW_ERR_DASH_CSRF') return 'This sign-in did not come from the dashboard\'s own page. Reload the page and try again.';
  return `Sign-in failed (HTTP ${status}). Try again in a moment.`;
}

function render(root: HTMLElement): void {
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true, maxlength: 256, 'data-testid': 'username' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', maxlength: 1024, 'data-testid': 'password' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'sign-in' }, 'Sign in');
  const alert = h('div', { class: 'error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  let countdown: number | undefined;

  const show = (text: string): void => {
    alert.textContent = text;
    alert.hidden = false;
  };
  const waitOut = (seconds: number): void => {
    submit.disabled = true;
    let left = seconds;
    if (countdown !== undefined) clearInterval(countdown);
    countdown = window.setInterval(() => {
      left--;
      if (left > 0) {
        show(messageFor(429, '', left));
        return;
      }
      clearInterval(countdown);
      countdown = undefined;
      submit.disabled = false;
      alert.hidden = true;
    }, 1000);
  };

  const form = h('form', { 'aria-label': 'Sign in', novalidate: false },
    h('label', { for: 'username' }, 'User name', username),
    h('label', { for: 'password' }, 'Password', password),
    alert,
    submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    alert.hidden = true;
    void (async () => {
      let response: Response;
      try {
        response = await fetch('/api/v1/session', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ username: username.value.trim(), password: password.value }),
        });
      } catch {
        show('The dashboard cannot be reached. Check your connection and try again.');
        submit.disabled = false;
        return;
      }
      if (response.ok) {
        location.assign(next);
        return;
      }
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
      const retryAfterS = Math.max(1, Number(response.headers.get('retry-after')) || 60);
      password.value = '';
      show(messageFor(response.status, body.error?.code ?? '', retryAfterS));
      if (response.status === 429) waitOut(retryAfterS);
      else {
        submit.disabled = false;
        password.focus();
      }
    })();
  });

  clear(root);
  root.appendChild(h('div', { class: 'login-box' },
    h('h1', { class: 'login-title' }, 'Tunnelwatch'),
    h('p', { class: 'muted' }, 'Sign in with your dashboard or directory (LDAP) account.'),
    form));
}

async function start(): Promise<void> {
  const root = document.getElementById('login');
  if (!root) return;
  // Already signed in (e.g. the back button): go straight on.
  const current = await fetch('/api/v1/session', { credentials: 'same-origin', headers: { accept: 'application/json' } }).catch(() => undefined);
  if (current?.ok) {
    location.replace(next);
    return;
  }
  render(root);
}

void start();
