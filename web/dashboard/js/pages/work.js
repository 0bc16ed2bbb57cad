// 作品数据反馈 A work's page (#/work/ID): its airings from the as-run log, for each the
// audience curve around it (concurrent viewers per platform and in total, per minute, the
// airing's interval marked; ECharts, vendored) and the interactions while it was on air, and
// the totals over its airings. Operators see any work; a partner only its own unit's (the
// server answers 403 with a Chinese message otherwise, shown as it is). Reached from a work's
// title on the 数据反馈, 播出 and 合作单位 pages. An airing still on air refreshes every 5 s.

import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, clear, wallDateTime, wallTime } from '../util.js';
import { loadEcharts, platformName, audienceOption } from '../chart.js';

const KINDS = ['likes', 'comments', 'shares', 'views', 'topic_reads', 'topic_discussions'];

const minutes = (ms) => String(Math.round(ms / 60000));

/// The link to a work's page, for the other pages' lists.
export function workLink(id, title, attrs = {}) {
  if (id === undefined || id === null) return title;
  return h('a', { href: `#/work/${id}`, class: 'work-link', 'data-work-link': String(id), ...attrs }, title);
}

function countsText(counts) {
  const parts = KINDS.filter((k) => counts?.[k] !== undefined).map((k) => `${t(`kind_${k}`)} ${counts[k]}`);
  return parts.length ? parts.join(' · ') : '—';
}

export async function render(root, params) {
  const id = Number(params?.[0]);
  root.append(h('p', {}, h('a', { href: '#/feedback' }, `← ${t('fb_title')}`)));
  if (!Number.isInteger(id) || id <= 0) {
    root.append(h('p', { class: 'error', role: 'alert', id: 'work-error' }, t('work_bad_id')));
    return undefined;
  }
  const heading = h('h1', { id: 'work-title' }, t('loading'));
  const meta = h('p', { class: 'muted', id: 'work-meta' });
  const totals = h('section', { class: 'card', id: 'work-totals', 'aria-labelledby': 'work-totals-h', hidden: true });
  const list = h('div', { id: 'work-airings' });
  root.append(heading, meta, totals, list);

  let charts = [];
  let timer = null;
  let stopped = false;
  const resize = () => charts.forEach((c) => c.resize());
  window.addEventListener('resize', resize);
  const echarts = await loadEcharts().catch(() => null);

  async function load() {
    let d;
    try {
      d = await api('GET', `/api/v1/works/${id}/feedback`);
    } catch (e) {
      heading.textContent = t('work_title_unknown');
      clear(list).append(h('p', { class: 'error', role: 'alert', id: 'work-error' }, e.message));
      return false;
    }
    if (stopped) return false;
    heading.textContent = d.work.title;
    meta.textContent = t('work_meta', {
      unit: d.work.unit ?? `#${d.work.unit_id}`,
      categories: (d.work.categories ?? []).join('、') || '—',
      channels: d.channels,
    });
    const g = d.totals;
    totals.hidden = false;
    clear(totals).append(
      h('h2', { id: 'work-totals-h' }, t('work_totals')),
      h('p', { id: 'work-totals-line', 'data-airings': String(g.airings), 'data-peak': String(g.peak_viewers), 'data-interactions': String(g.interactions) },
        t('work_totals_line', {
          airings: g.airings, minutes: minutes(g.aired_ms), peak: g.peak_viewers, avg: g.avg_viewers, interactions: g.interactions,
        })),
      h('p', { class: 'muted' }, countsText(g.counts)),
    );
    charts.forEach((c) => c.dispose());
    charts = [];
    clear(list);
    if (!d.airings.length) {
      list.append(h('p', { class: 'muted', id: 'work-no-airings' }, t('work_no_airings')));
      return false;
    }
    for (const a of d.airings) {
      const box = h('div', { class: 'fb-chart work-chart', role: 'img', 'aria-label': t('work_curve', { start: wallDateTime(a.start_ms) }) });
      const aud = a.audience;
      const platforms = Object.entries(a.by_platform ?? {}).filter(([, p]) => p.peak_viewers || p.interactions);
      list.append(h('section', { class: 'card work-airing', 'data-airing-id': String(a.airing_id), 'data-peak': String(aud.peak_viewers), 'data-interactions': String(aud.interactions) },
        h('h2', {}, `${wallDateTime(a.start_ms)}–${wallTime(a.end_ms)}`,
          a.on_air ? h('span', { class: 'badge live' }, t('now_badge')) : ''),
        h('p', {}, t('fb_total', { peak: aud.peak_viewers, avg: aud.avg_viewers, interactions: aud.interactions }),
          ' · ', t('work_covered', { minutes: minutes(aud.covered_ms) })),
        h('p', { class: 'muted' }, countsText(aud.counts)),
        platforms.length ? h('table', { class: 'table work-platforms' },
          h('thead', {}, h('tr', {}, ['fb_platform', 'fb_peak', 'fb_avg', 'fb_interactions'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, platforms.map(([p, v]) => h('tr', {},
            h('th', { scope: 'row' }, platformName(p)),
            h('td', { class: 'num' }, String(v.peak_viewers)),
            h('td', { class: 'num' }, String(v.avg_viewers)),
            h('td', { class: 'num' }, String(v.interactions)))))) : '',
        box));
      if (!echarts) {
        box.append(h('p', { class: 'error' }, t('fb_chart_unavailable')));
        continue;
      }
      const c = a.curve;
      const chart = echarts.init(box, null, { renderer: 'canvas' });
      chart.setOption(audienceOption(c, [{ name: t('work_on_air_mark'), from_ms: a.start_ms, to_ms: a.end_ms }], 0.15));
      box.dataset.points = String(c.minutes.length);
      box.dataset.total = String(Math.max(0, ...c.total));
      charts.push(chart);
    }
    return d.airings.some((a) => a.on_air);
  }

  async function loop() {
    const live = await load();
    if (live && !stopped) timer = setTimeout(loop, 5000);
  }
  await loop();

  return () => {
    stopped = true;
    clearTimeout(timer);
    window.removeEventListener('resize', resize);
    charts.forEach((c) => c.dispose());
  };
}
