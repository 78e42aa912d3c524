// fetch() for /api/v1: JSON in and out, the CSRF token on state-changing calls, and a sign-in redirect
// when the session has ended. Errors carry the API's code and message so pages can show them.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrfToken: string | undefined;

export interface Session {
  readonly name: string;
  readonly role: 'viewer' | 'analyst' | 'admin';
  readonly via: string;
  readonly subaccounts: '*' | string[];
  readonly csrf_token: string;
  readonly expires_at: string;
}

function toLogin(): never {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  throw new ApiError(401, 'TW_ERR_DASH_UNAUTHENTICATED', 'signed out');
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (response.status === 401 && !path.startsWith('/api/v1/session')) toLogin();
  const text = await response.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? response.statusText);
  }
  return json as T;
}

/** GET with query parameters; arrays become repeated parameters, empty values are left out. */
export function get<T>(path: string, params: Record<string, string | number | readonly string[] | undefined> = {}): Promise<T> {
  return request<T>('GET', withQuery(path, params));
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>('POST', path, body);
}

export function del<T>(path: string): Promise<T> {
  return request<T>('DELETE', path);
}

export function withQuery(path: string, params: Record<string, string | number | readonly string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const v of value as readonly string[]) q.append(key, v);
    else q.append(key, String(value));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The signed-in session (and its CSRF token, kept for later calls); redirects to /login when none. */
export async function session(): Promise<Session> {
  try {
    const s = await request<Session>('GET', '/api/v1/session');
    csrfToken = s.csrf_token;
    return s;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) toLogin();
    throw err;
  }
}
