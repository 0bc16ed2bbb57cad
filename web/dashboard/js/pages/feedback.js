// 数据反馈 Feedback: the live audience curve (ECharts, vendored; per platform and in total,
// the programmes on air marked), relay channels, figures by hand and by upload (templates in
// Chinese, GBK or UTF-8 CSV and XLSX), attribution per programme and the units' ranking, and
// the report as XLSX / CSV. A partner sees and sends only its own unit's; the server
// enforces it anyway. The curve is pushed (server-sent events on /api/v1/feedback/events:
// after every write, at least every 5 s); while the stream is down the page polls once a
// second.

import { t } from '../i18n.js';
import { api, session, isOperator, ApiError } from '../api.js';
import { h, clear, toast, wallDate, wallTime, wallDateTime } from '../util.js';
import { workLink } from './work.js';
import { loadEcharts, platformName, audienceOption } from '../chart.js';

const KINDS = ['viewers', 'views', 'likes', 'comments', 'shares', 'topic_reads', 'topic_discussions'];
const PLATFORMS = ['bilibili', 'douyin', 'kuaishou', 'weibo', 'wechat_channels', 'cctv_video', 'kepu_app', 'other'];

/// Beijing "YYYY-MM-DDTHH:MM" of now, for a datetime-local input.
function localNow() {
  return `${wallDate(Date.now())}T${wallTime(Date.now()).slice(0, 5)}`;
}

/// A datetime-local value read as Beijing time, to UTC ms.
function beijingMs(v) {
  return Date.parse(`${v}:00+08:00`);
}

export async function render(root) {
  const partner = session.user?.role === 'partner';
  root.append(h('h1', {}, t('fb_title')));
  if (partner) root.append(h('p', { class: 'muted' }, t('fb_partner_intro')));

  // Live chart.
  const chartBox = h('div', { class: 'fb-chart', id: 'fb-chart', role: 'img', 'aria-label': t('fb_live') });
  const liveInfo = h('p', { class: 'muted', id: 'fb-live-info' });
  root.append(h('section', { class: 'card', 'aria-labelledby': 'fb-live-h' },
    h('h2', { id: 'fb-live-h' }, t('fb_live')), liveInfo, chartBox));

  // Channels.
  const chanList = h('div', { id: 'fb-channels' }, h('p', { class: 'muted' }, t('loading')));
  const tokenBox = h('p', { class: 'token-once', id: 'fb-token', hidden: true });
  const platform = h('select', { id: 'fb-platform', 'aria-label': t('fb_platform') },
    PLATFORMS.map((p) => h('option', { value: p }, t(`platform_${p}`))));
  const account = h('input', { id: 'fb-account', required: true, maxlength: '100', placeholder: t('fb_account') });
  const room = h('input', { id: 'fb-room', type: 'url', placeholder: t('fb_room') });
  const unitIn = h('input', { id: 'fb-unit', type: 'number', min: '1', placeholder: t('fb_unit_id'), hidden: partner });
  const addForm = h('form', { class: 'inline-form', id: 'fb-add-channel' },
    platform, account, room, unitIn, h('button', { type: 'submit', class: 'btn' }, t('fb_add_channel')));
  root.append(h('section', { class: 'card', 'aria-labelledby': 'fb-ch-h' },
    h('h2', { id: 'fb-ch-h' }, t('fb_channels')), chanList, addForm, tokenBox));

  // Figures in: a form and an upload.
  const chanSel = h('select', { id: 'fb-fig-channel', 'aria-label': t('fb_channel') });
  const when = h('input', { id: 'fb-fig-at', type: 'datetime-local', value: localNow(), 'aria-label': t('fb_time') });
  const kind = h('select', { id: 'fb-fig-kind', 'aria-label': t('fb_kind') }, KINDS.map((k) => h('option', { value: k }, t(`kind_${k}`))));
  const value = h('input', { id: 'fb-fig-value', type: 'number', min: '0', step: '1', required: true, placeholder: t('fb_value') });
  const figForm = h('form', { class: 'inline-form', id: 'fb-figure-form' },
    chanSel, when, kind, value, h('button', { type: 'submit', class: 'btn' }, t('fb_send')));
  const file = h('input', { id: 'fb-file', type: 'file', accept: '.csv,.xlsx,.xls', 'aria-label': t('fb_upload') });
  const uploadResult = h('div', { id: 'fb-upload-result', 'aria-live': 'polite' });
  const upForm = h('form', { class: 'inline-form', id: 'fb-upload-form' },
    file, h('button', { type: 'submit', class: 'btn' }, t('fb_upload')),
    h('a', { href: '/api/v1/feedback/template.xlsx', download: '' }, t('fb_tpl_xlsx')),
    h('a', { href: '/api/v1/feedback/template.csv', download: '' }, t('fb_tpl_csv')),
    h('a', { href: '/api/v1/feedback/template.csv?encoding=gbk', download: '' }, t('fb_tpl_gbk')));
  root.append(h('section', { class: 'card', 'aria-labelledby': 'fb-in-h' },
    h('h2', { id: 'fb-in-h' }, t('fb_figures_in')), figForm, upForm, uploadResult));

  // Attribution and reports.
  const today = wallDate(Date.now());
  const from = h('input', { id: 'fb-from', type: 'date', value: today, 'aria-label': t('fb_from') });
  const to = h('input', { id: 'fb-to', type: 'date', value: today, 'aria-label': t('fb_to') });
  const xlsx = h('a', { id: 'fb-report-xlsx', download: '' }, t('fb_report_xlsx'));
  const csv = h('a', { id: 'fb-report-csv', download: '' }, t('fb_report_csv'));
  const attr = h('div', { id: 'fb-attribution' });
  const periodForm = h('form', { class: 'inline-form', id: 'fb-period' },
    from, to, h('button', { type: 'submit', class: 'btn' }, t('fb_show')), xlsx, csv);
  root.append(h('section', { class: 'card', 'aria-labelledby': 'fb-attr-h' },
    h('h2', { id: 'fb-attr-h' }, t('fb_attribution')), periodForm, attr));

  let channels = [];
  async function loadChannels() {
    channels = await api('GET', '/api/v1/feedback/channels');
    clear(chanList);
    clear(chanSel);
    if (!channels.length) chanList.append(h('p', { class: 'muted' }, t('fb_no_channels')));
    else {
      chanList.append(h('table', { class: 'table', id: 'fb-channel-table' },
        h('thead', {}, h('tr', {}, ['fb_id', 'fb_platform', 'fb_account', 'fb_room', 'fb_token'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, channels.map((c) => h('tr', { 'data-channel-id': String(c.id) },
          h('td', { class: 'num' }, String(c.id)),
          h('td', {}, platformName(c.platform)),
          h('th', { scope: 'row' }, c.account_name),
          h('td', { class: 'url' }, c.room_url ?? '—'),
          h('td', { class: 'mono' }, c.token_display))))));
    }
    for (const c of channels) chanSel.append(h('option', { value: String(c.id) }, `${c.id} · ${c.account_name}`));
  }

  addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { platform: platform.value, account_name: account.value.trim() };
    if (room.value.trim()) body.room_url = room.value.trim();
    if (!partner && unitIn.value) body.unit_id = Number(unitIn.value);
    try {
      const r = await api('POST', '/api/v1/feedback/channels', body);
      tokenBox.hidden = false;
      tokenBox.textContent = t('fb_token_once', { token: r.token });
      account.value = '';
      room.value = '';
      await loadChannels();
    } catch (e) {
      toast(e.message, 'error');
    }
  });

  figForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const at = beijingMs(when.value);
    if (!chanSel.value || Number.isNaN(at)) {
      toast(t('fb_pick_channel'), 'error');
      return;
    }
    try {
      const r = await api('POST', '/api/v1/feedback/figures', {
        source: 'manual',
        figures: [{ channel_id: Number(chanSel.value), at_ms: at, kind: kind.value, value: Number(value.value) }],
      });
      toast(t('fb_sent', r), 'info');
      value.value = '';
      poll();
    } catch (e) {
      toast(e.message, 'error');
    }
  });

  upForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    clear(uploadResult);
    const r = await fetch(`/api/v1/feedback/uploads?name=${encodeURIComponent(f.name)}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'x-csrf-token': session.csrf ?? '', 'content-type': 'application/octet-stream' },
      body: f,
    });
    const body = await r.json().catch(() => ({}));
    if (r.ok) {
      uploadResult.append(h('p', { class: 'ok' }, t('fb_uploaded', body)));
      poll();
    } else {
      const err = new ApiError(r.status, body);
      uploadResult.append(h('p', { class: 'error', role: 'alert' }, err.message));
      const rows = body?.error?.errors;
      if (Array.isArray(rows) && rows.length) {
        uploadResult.append(h('ul', { class: 'plain', id: 'fb-upload-errors' },
          rows.slice(0, 50).map((e) => h('li', {}, e.row !== undefined && e.column !== undefined
            ? t('fb_row_error', e) : `${e.field}: ${e.reason}`))));
      }
    }
  });

  async function loadAttribution() {
    const q = `from=${from.value}&to=${to.value}`;
    xlsx.href = `/api/v1/feedback/report.xlsx?${q}`;
    csv.href = `/api/v1/feedback/report.csv?${q}`;
    clear(attr).append(h('p', { class: 'muted' }, t('loading')));
    const a = await api('GET', `/api/v1/feedback/attribution?${q}`);
    clear(attr);
    const tot = a.total;
    attr.append(h('p', { id: 'fb-total' }, t('fb_total', {
      peak: tot.peak_viewers, avg: tot.avg_viewers, interactions: tot.interactions,
    })));
    attr.append(h('h3', {}, t('fb_programmes')));
    if (!a.programmes.length) attr.append(h('p', { class: 'muted' }, t('fb_no_programmes')));
    else {
      attr.append(h('table', { class: 'table', id: 'fb-programmes' },
        h('thead', {}, h('tr', {}, ['fb_start', 'fb_programme', 'fb_peak', 'fb_avg', 'fb_interactions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, a.programmes.map((p) => h('tr', {},
          h('td', {}, wallDateTime(p.start_ms)),
          h('th', { scope: 'row' }, workLink(p.work_id, p.title)),
          h('td', { class: 'num' }, String(p.audience.peak_viewers)),
          h('td', { class: 'num' }, String(p.audience.avg_viewers)),
          h('td', { class: 'num' }, String(p.audience.interactions)))))));
    }
    // Per work: its airings in the period with their figures.
    const titles = new Map(a.programmes.filter((p) => p.work_id).map((p) => [String(p.work_id), p.title]));
    const works = Object.entries(a.works ?? {});
    if (works.length) {
      attr.append(h('h3', {}, t('fb_works')));
      attr.append(h('table', { class: 'table', id: 'fb-works' },
        h('thead', {}, h('tr', {}, ['fb_work', 'fb_airings', 'fb_aired_min', 'fb_peak', 'fb_avg', 'fb_interactions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, works.map(([id, g]) => h('tr', { 'data-work-id': id },
          h('th', { scope: 'row' }, workLink(id, titles.get(id) ?? `#${id}`)),
          h('td', { class: 'num' }, String(g.airings)),
          h('td', { class: 'num' }, String(Math.round(g.aired_ms / 60000))),
          h('td', { class: 'num' }, String(g.peak_viewers)),
          h('td', { class: 'num' }, String(g.avg_viewers)),
          h('td', { class: 'num' }, String(g.interactions)))))));
    }
    if (!partner && a.ranking.length) {
      attr.append(h('h3', {}, t('fb_ranking')));
      attr.append(h('table', { class: 'table', id: 'fb-ranking' },
        h('thead', {}, h('tr', {}, ['fb_rank', 'fb_unit', 'fb_relays', 'fb_relay_peak', 'fb_relay_interactions', 'fb_works_interactions', 'fb_reporting', 'summary_title']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, a.ranking.map((u) => h('tr', { 'data-unit-id': String(u.unit_id) },
          h('td', { class: 'num' }, String(u.rank)),
          h('th', { scope: 'row' }, u.name),
          h('td', { class: 'num' }, String(u.relays)),
          h('td', { class: 'num' }, String(u.relay_audience.peak_viewers)),
          h('td', { class: 'num' }, String(u.relay_audience.interactions)),
          h('td', { class: 'num' }, String(u.works.interactions)),
          h('td', { class: 'num' }, `${u.reports_made}/${u.reports_expected}`),
          h('td', {}, h('a', { href: `/api/v1/feedback/summary.pdf?${q}&unit=${u.unit_id}`, download: '', 'data-testid': 'unit-summary' }, 'PDF')))))));
    }
  }
  periodForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadAttribution().catch((e) => toast(e.message, 'error'));
  });

  // The chart, fed by polling.
  let chart = null;
  let stopped = false;
  let timer = null;
  const resize = () => chart?.resize();
  window.addEventListener('resize', resize);
  try {
    const echarts = await loadEcharts();
    chart = echarts.init(chartBox, null, { renderer: 'canvas' });
  } catch (e) {
    chartBox.append(h('p', { class: 'error' }, e.message));
  }

  function draw(live) {
    const c = live.curve;
    const xs = c.minutes;
    liveInfo.textContent = t('fb_live_info', {
      now: wallTime(live.now),
      total: c.total.at(-1) ?? 0,
      interactions: c.interactions.reduce((s, v) => s + v, 0),
    });
    chartBox.dataset.total = String(c.total.at(-1) ?? 0);
    chartBox.dataset.points = String(xs.length);
    if (!chart) return;
    const marks = live.on_air.map((a) => ({
      name: a.title, from_ms: Math.max(a.start_ms, live.from_ms), to_ms: Math.min(a.end_ms ?? live.now, live.to_ms),
    }));
    chart.setOption(audienceOption(c, marks), { replaceMerge: ['series'] });
  }

  async function poll() {
    if (stopped) return;
    try {
      draw(await api('GET', '/api/v1/feedback/live?minutes=60'));
    } catch (e) {
      liveInfo.textContent = e.message;
    }
  }
  // Pushed updates; polling once a second only while the stream is down.
  let source = null;
  let pushed = false;
  async function loop() {
    if (!pushed) await poll();
    if (!stopped) timer = setTimeout(loop, 1000);
  }
  if (typeof EventSource === 'function') {
    source = new EventSource('/api/v1/feedback/events?minutes=60');
    source.addEventListener('curve', (e) => {
      pushed = true;
      try {
        draw(JSON.parse(e.data));
      } catch (err) {
        liveInfo.textContent = err.message;
      }
    });
    source.addEventListener('error', () => {
      pushed = false;
    });
  }

  await loadChannels().catch((e) => toast(e.message, 'error'));
  loadAttribution().catch((e) => toast(e.message, 'error'));
  loop();
  if (!isOperator()) unitIn.hidden = true;

  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
    window.removeEventListener('resize', resize);
    chart?.dispose();
  };
}
