// The dashboard's shell: session, navigation by hash (#/onair, #/editor/2026-09-01, …),
// language toggle, and the live connection. Pages are modules exporting
// `render(root, params)`, which may return a clean-up function.

import { t, getLang, setLang, translateStatic } from './i18n.js';
import { session, restore, logout, onUnauthenticated, isOperator } from './api.js';
import { h, clear, toast } from './util.js';
import { startLive, stopLive } from './live.js';
import * as loginPage from './pages/login.js';
import * as onairPage from './pages/onair.js';
import * as editorPage from './pages/editor.js';
import * as healthPage from './pages/health.js';
import * as partnerPage from './pages/partner.js';
import * as certsPage from './pages/certificates.js';
import * as feedbackPage from './pages/feedback.js';
import * as feedsPage from './pages/feeds.js';
import * as submitPage from './pages/submit.js';
import * as intakePage from './pages/intake.js';
import * as workPage from './pages/work.js';
import * as asrunPage from './pages/asrun.js';

const ROUTES = {
  login: { page: loginPage, roles: null },
  onair: { page: onairPage, roles: ['admin', 'operator'], nav: 'nav_onair' },
  editor: { page: editorPage, roles: ['admin', 'operator'], nav: 'nav_editor' },
  health: { page: healthPage, roles: ['admin', 'operator'], nav: 'nav_health' },
  feeds: { page: feedsPage, roles: ['admin', 'operator'], nav: 'nav_feeds' },
  partner: { page: partnerPage, roles: ['partner'], nav: 'nav_partner' },
  submit: { page: submitPage, roles: ['partner'], nav: 'nav_submit' },
  intake: { page: intakePage, roles: ['admin', 'operator'], nav: 'nav_intake' },
  feedback: { page: feedbackPage, roles: ['admin', 'operator', 'partner'], nav: 'nav_feedback' },
  certificates: { page: certsPage, roles: ['admin', 'operator', 'partner'], nav: 'nav_certs' },
  work: { page: workPage, roles: ['admin', 'operator', 'partner'] },
  asrun: { page: asrunPage, roles: ['admin', 'operator'], nav: 'nav_asrun' },
};

let cleanup = null;
let restored = false;
let generation = 0;

function home() {
  return isOperator() ? '#/onair' : '#/partner';
}

function renderChrome(current) {
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav'));
  clear(nav);
  const role = session.user?.role;
  nav.hidden = !role;
  if (role) {
    for (const [name, r] of Object.entries(ROUTES)) {
      if (!r.nav || !r.roles.includes(role)) continue;
      nav.append(
        h('a', {
          href: `#/${name}`,
          class: name === current ? 'active' : '',
          'aria-current': name === current ? 'page' : undefined,
          'data-testid': `nav-${name}`,
        }, t(r.nav)),
      );
    }
  }
  const who = document.getElementById('who');
  who.textContent = session.user ? `${session.user.username} · ${t(`role_${role}`)}` : '';
  document.getElementById('logout').hidden = !session.user;
  const lt = document.getElementById('lang-toggle');
  lt.textContent = getLang() === 'zh' ? 'EN' : '中';
  lt.setAttribute('aria-label', t('lang_switch'));
  translateStatic();
  document.title = `${t('brand')}`;
}

async function route() {
  if (!restored) {
    restored = true;
    try {
      await restore();
    } catch {
      session.user = null;
    }
  }
  const [name, ...params] = location.hash.replace(/^#\/?/, '').split('/');
  if (!session.user && name !== 'login') {
    location.hash = '#/login';
    return;
  }
  if (session.user && (name === 'login' || !ROUTES[name])) {
    location.hash = home();
    return;
  }
  const r = ROUTES[name];
  if (r.roles && !r.roles.includes(session.user.role)) {
    location.hash = home();
    return;
  }
  // Live updates are the operators' (a partner may not read the air state).
  if (isOperator()) startLive();
  else stopLive();
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  renderChrome(name);
  const view = document.getElementById('view');
  view.dataset.page = name;
  // A page renders into its own container: a slower render of a route left meanwhile
  // removes itself instead of adding to the new page.
  const gen = ++generation;
  const container = h('div', { class: `page page-${name}` });
  view.replaceChildren(container);
  try {
    const done = await r.page.render(container, params.map(decodeURIComponent));
    if (gen !== generation) {
      if (typeof done === 'function') done();
      container.remove();
      return;
    }
    cleanup = done;
  } catch (e) {
    if (gen === generation) {
      container.append(h('p', { class: 'error', role: 'alert' }, t('error', { message: e.message })));
    }
  }
}

document.getElementById('lang-toggle').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  route();
});

document.getElementById('logout').addEventListener('click', async () => {
  stopLive();
  await logout().catch(() => {});
  location.hash = '#/login';
  route();
});

onUnauthenticated(() => {
  if (!session.user) return;
  session.user = null;
  stopLive();
  toast(t('session_expired'), 'error');
  location.hash = '#/login';
});

export function loggedIn() {
  if (location.hash === home()) route();
  else location.hash = home();
}

setLang(getLang());
window.addEventListener('hashchange', route);
route();
