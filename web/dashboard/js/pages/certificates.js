// 证明 Certificates: aired works with links to their broadcast certificates
// (`/api/v1/certificates/{code}.html` / `.pdf`, `/verify/{code}`), when the certificate
// service has them; shown gracefully when it is not there.

import { t } from '../i18n.js';
import { api, session } from '../api.js';
import { h, clear, wallDate, wallDateTime } from '../util.js';

/// Aired works: {id, title, count, last_ms}.
async function airedWorks() {
  if (session.user?.role === 'partner') {
    const r = await api('GET', '/api/v1/partner/works');
    return (r.works ?? []).filter((w) => w.aired.length).map((w) => ({
      id: w.id, title: w.title, count: w.aired.length,
      first_ms: Math.min(...w.aired.map((a) => a.first_frame_ms)),
      last_ms: Math.max(...w.aired.map((a) => a.first_frame_ms)),
    }));
  }
  const rows = await api('GET', '/api/v1/asrun');
  const list = Array.isArray(rows) ? rows : rows?.airings ?? [];
  const by = new Map();
  for (const a of list) {
    if (a.work_id == null) continue;
    const w = by.get(a.work_id) ?? { id: a.work_id, title: a.title, count: 0, last_ms: 0 };
    w.count += 1;
    w.last_ms = Math.max(w.last_ms, a.first_frame_ms);
    by.set(a.work_id, w);
  }
  return [...by.values()].sort((a, b) => b.last_ms - a.last_ms);
}

function codesOf(body) {
  const list = Array.isArray(body) ? body : body?.certificates ?? (body?.code ? [body] : []);
  return list.map((c) => c?.code).filter((c) => typeof c === 'string' && /^[A-Za-z0-9_-]+$/.test(c));
}

export async function render(root) {
  root.append(h('h1', {}, t('certs_title')), h('p', { class: 'muted' }, t('certs_intro')));
  const note = h('p', { class: 'banner', role: 'status', id: 'certs-note', hidden: true });
  const card = h('section', { class: 'card', 'aria-label': t('certs_title') });
  root.append(note, card);
  const works = await airedWorks();
  if (!works.length) {
    card.append(h('p', { class: 'muted' }, t('certs_none')));
    return;
  }
  // A partner's end-of-month summary of 数据反馈 over the days its works aired, beside its
  // certificates (PDF, and the same figures as the report's XLSX).
  if (session.user?.role === 'partner') {
    const from = wallDate(Math.min(...works.map((w) => w.first_ms)));
    const to = wallDate(Math.max(...works.map((w) => w.last_ms)));
    const q = `from=${from}&to=${to}`;
    root.insertBefore(h('section', { class: 'card', id: 'summary-links', 'aria-label': t('summary_title') },
      h('h2', {}, t('summary_title')),
      h('p', { class: 'muted' }, t('summary_period', { from, to })),
      h('p', {},
        h('a', { href: `/api/v1/feedback/summary.pdf?${q}`, 'data-testid': 'summary-pdf', download: '' }, t('summary_pdf')),
        ' · ',
        h('a', { href: `/api/v1/feedback/report.xlsx?${q}`, 'data-testid': 'summary-xlsx', download: '' }, t('summary_xlsx')))), card);
  }
  const tbody = h('tbody');
  card.append(h('table', { class: 'table', id: 'certs-table' },
    h('thead', {}, h('tr', {}, ['col_work', 'col_aired_count', 'col_last_aired', 'col_certificate'].map((k) => h('th', { scope: 'col' }, t(k))))),
    tbody));
  let unavailable = false;
  for (const w of works) {
    const cell = h('td', {}, t('certs_loading'));
    tbody.append(h('tr', {}, h('th', { scope: 'row' }, w.title), h('td', { class: 'num' }, String(w.count)),
      h('td', { class: 'nowrap' }, wallDateTime(w.last_ms)), cell));
    if (unavailable) {
      clear(cell).append(h('span', { class: 'muted' }, t('cert_not_yet')));
      continue;
    }
    try {
      const codes = codesOf(await api('GET', `/api/v1/certificates?work=${w.id}`));
      clear(cell);
      if (!codes.length) cell.append(h('span', { class: 'muted' }, t('cert_not_yet')));
      for (const c of codes) {
        cell.append(h('span', { class: 'cert-links' },
          h('a', { href: `/api/v1/certificates/${c}.html`, target: '_blank', rel: 'noopener' }, t('cert_html')), ' · ',
          h('a', { href: `/api/v1/certificates/${c}.pdf`, target: '_blank', rel: 'noopener' }, t('cert_pdf')), ' · ',
          h('a', { href: `/verify/${c}`, target: '_blank', rel: 'noopener' }, t('cert_verify'))));
      }
    } catch (e) {
      clear(cell).append(h('span', { class: 'muted' }, t('cert_not_yet')));
      if (e.status === 404 || e.status === 403 || e.status >= 500) {
        unavailable = true;
        note.hidden = false;
        note.textContent = t('certs_unavailable');
      }
    }
  }
}
