// 合作单位 Partner: the partner's own unit's works, when each aired (as-run) and when it will
// air (stored days). Read-only: this page has no edit control at all, and the server only
// ever returns the caller's unit.

import { t } from '../i18n.js';
import { api, session } from '../api.js';
import { h, wallDateTime, wallTime } from '../util.js';
import { workLink } from './work.js';

export async function render(root) {
  root.append(h('h1', {}, t('partner_title')));
  if (session.user?.role !== 'partner') {
    root.append(h('p', { class: 'muted' }, t('partner_not_partner')));
    return;
  }
  const r = await api('GET', '/api/v1/partner/works');
  root.append(
    h('p', { class: 'lead', id: 'partner-unit' }, t('partner_unit', { name: r.unit.name })),
    h('p', { class: 'muted' }, t('partner_intro'), ' ', h('a', { href: '#/certificates' }, t('nav_certs'))),
  );
  const works = r.works ?? [];
  const section = h('section', { class: 'card', 'aria-labelledby': 'pw-heading' }, h('h2', { id: 'pw-heading' }, t('partner_works')));
  root.append(section);
  if (!works.length) {
    section.append(h('p', { class: 'muted' }, t('partner_none')));
    return;
  }
  const secs = (ms) => {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  section.append(h('table', { class: 'table', id: 'partner-works' },
    h('thead', {}, h('tr', {}, ['col_work', 'col_work_state', 'col_aired', 'col_upcoming'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, works.map((w) => h('tr', { 'data-work-id': String(w.id), 'data-testid': 'partner-work' },
      h('th', { scope: 'row' }, workLink(w.id, w.title)),
      h('td', {}, w.state_label ?? w.state),
      h('td', {}, w.aired.length
        ? h('ul', { class: 'plain' }, w.aired.map((a) => h('li', {},
          `${wallDateTime(a.first_frame_ms)}${a.last_frame_ms ? `–${wallTime(a.last_frame_ms)}` : ''}`)))
        : h('span', { class: 'muted' }, t('none'))),
      h('td', {}, w.upcoming.length
        ? h('ul', { class: 'plain' }, w.upcoming.map((u) => h('li', {},
          `${wallDateTime(u.start)} · ${u.section} · ${secs(u.duration_ms)}`)))
        : h('span', { class: 'muted' }, t('none'))),
    ))),
  ));
}
