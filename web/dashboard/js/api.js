// The API client: same-origin fetch with the session cookie; every change carries the
// session's CSRF token (X-CSRF-Token). Errors become ApiError with the server's message.

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.body = body;
    this.problems = e.problems ?? [];
  }
}

export const session = { user: null, csrf: null };
const listeners = new Set();

/// Called with no arguments when a request answers 401 (the session is gone).
export function onUnauthenticated(f) {
  listeners.add(f);
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['x-csrf-token'] = session.csrf;
  const r = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const text = await r.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: { message: text.slice(0, 200) } };
    }
  }
  if (!r.ok) {
    if (r.status === 401 && path !== '/api/v1/session') {
      for (const f of listeners) f();
    }
    throw new ApiError(r.status, data);
  }
  return data;
}

export async function login(username, password) {
  const r = await api('POST', '/api/v1/session', { username, password });
  session.user = r.user;
  session.csrf = r.csrf_token;
  return r.user;
}

export async function restore() {
  const me = await api('GET', '/api/v1/me');
  session.csrf = me.csrf_token ?? null;
  const { csrf_token: _, ...user } = me;
  session.user = user;
  return user;
}

export async function logout() {
  try {
    await api('DELETE', '/api/v1/session');
  } finally {
    session.user = null;
    session.csrf = null;
  }
}

export function isOperator() {
  return session.user?.role === 'operator' || session.user?.role === 'admin';
}
