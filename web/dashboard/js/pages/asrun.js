// 播出记录 As-run: a broadcast day's airings (#/asrun/YYYY-MM-DD, default today in Beijing)
// from `GET /api/v1/asrun?day=`: start and end, title, source (keys masked), why it ended,
// the fallback intervals, and for a recorded live airing its recording — the window's name,
// segments and size — linked to its entry in the 直播源 page's recordings
// (#/feeds/rec/NAME), where an operator registers it as a 回放 work. The day's CSV
// (`/api/v1/asrun.csv?day=`) is a link.

import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, clear, wallDate, wallTime } from '../util.js';

const REASONS = ['complete', 'cut', 'skipped', 'failed', 'missed', 'shutdown', 'interrupted', 'engine_failed'];

function reasonText(r) {
  if (r == null) return t('asrun_reason_open');
  return REASONS.includes(r) ? t(`asrun_reason_${r}`) : r;
}

export async function render(root, params = []) {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(params[0] ?? '') ? params[0] : wallDate(Date.now());
  const dayInput = h('input', { type: 'date', id: 'asrun-day', value: day, 'aria-label': t('asrun_day') });
  dayInput.addEventListener('change', () => {
    if (dayInput.value) location.hash = `#/asrun/${dayInput.value}`;
  });
  const csv = h('a', { href: `/api/v1/asrun.csv?day=${day}`, id: 'asrun-csv', download: '' }, t('asrun_csv'));
  const body = h('div', { id: 'asrun-rows' }, h('p', { class: 'muted' }, t('loading')));
  root.append(
    h('h1', {}, t('asrun_title')),
    h('p', { class: 'inline-form' }, h('label', { for: 'asrun-day' }, t('asrun_day')), dayInput, ' ', csv),
    h('section', { class: 'card', 'aria-label': t('asrun_title') }, body));
  const rows = await api('GET', `/api/v1/asrun?day=${encodeURIComponent(day)}`);
  clear(body);
  if (!rows.length) {
    body.append(h('p', { class: 'muted', id: 'asrun-none' }, t('asrun_none')));
    return;
  }
  const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
  body.append(h('table', { class: 'table', id: 'asrun-table' },
    h('thead', {}, h('tr', {}, ['asrun_start', 'asrun_end', 'col_work', 'asrun_source', 'asrun_reason', 'asrun_fallbacks', 'asrun_recording']
      .map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows.map((a) => h('tr', { 'data-airing': a.airing_key, 'data-testid': 'airing' },
      h('td', { class: 'nowrap' }, wallTime(a.first_frame_ms)),
      h('td', { class: 'nowrap' }, a.last_frame_ms ? wallTime(a.last_frame_ms) : '—'),
      h('th', { scope: 'row' }, a.title),
      h('td', { class: 'url' }, a.source),
      h('td', {}, reasonText(a.end_reason)),
      h('td', {}, a.fallbacks.map((f) => h('div', {}, `${wallTime(f.from_ms)}–${wallTime(f.to_ms)} ${f.reason}`))),
      h('td', { 'data-testid': 'airing-recording' }, a.recording
        ? h('a', { href: `#/feeds/rec/${encodeURIComponent(a.recording.name)}`, 'data-recording': a.recording.name },
          `${a.recording.name}（${t('asrun_rec_size', { n: a.recording.segments, size: mib(a.recording.bytes) })}）`)
        : '—'))))));
}
