// 登录 Login: username and password; the server's message on failure.

import { t } from '../i18n.js';
import { login } from '../api.js';
import { h } from '../util.js';

export function render(root) {
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, t('login_submit'));
  const form = h('form', { class: 'login-form card', 'aria-labelledby': 'login-title', novalidate: true },
    h('h1', { id: 'login-title' }, t('login_title')),
    h('p', { class: 'muted' }, t('login_intro')),
    h('label', { for: 'login-username' }, t('username')), user,
    h('label', { for: 'login-password' }, t('password')), pass,
    err, submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    submit.textContent = t('login_busy');
    try {
      await login(user.value.trim(), pass.value);
      const { loggedIn } = await import('../main.js');
      loggedIn();
    } catch (x) {
      err.textContent = t('login_failed', { message: x.message });
      submit.disabled = false;
      submit.textContent = t('login_submit');
      pass.select();
    }
  });
  root.append(h('div', { class: 'login-wrap' }, form));
  user.focus();
}
