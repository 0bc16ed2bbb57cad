// 播出 On air: the item on air (title, position HH:MM:SS:FF, progress), the countdown to
// the next item, the rest of today grouped by section, and the live preview (hls.js).
// Updated by the server-sent `air` events: no manual refresh.

import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, clear, timecode, duration, wallTime, wallDate, framesToMs } from '../util.js';
import { onAir } from '../live.js';
import { workLink } from './work.js';

/// How many of the coming items the timeline lists.
const SHOWN = 60;

export function render(root) {
  const title = h('p', { class: 'now-title', id: 'onair-title' }, t('loading'));
  const pos = h('span', { class: 'tc', id: 'onair-position' }, '--:--:--:--');
  const len = h('span', { class: 'tc', id: 'onair-length' }, '--:--:--:--');
  const rem = h('span', { class: 'tc', id: 'onair-remaining' }, '--:--:--:--');
  const bar = h('div', { class: 'bar-fill' });
  const progress = h('div', {
    class: 'bar', role: 'progressbar', 'aria-label': t('onair_progress'),
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
  }, bar);
  const fallback = h('p', { class: 'badge danger', id: 'onair-fallback', hidden: true }, t('onair_fallback'));
  const nextTitle = h('p', { class: 'next-title', id: 'onair-next-title' }, '—');
  const nextIn = h('span', { class: 'tc big', id: 'onair-next-in' }, '--:--:--:--');
  const nextAt = h('p', { class: 'muted', id: 'onair-next-at' });
  const rest = h('div', { class: 'timeline', id: 'onair-rest' }, h('p', { class: 'muted' }, t('loading')));
  const restHead = h('h2', { id: 'rest-heading' }, t('onair_rest'));
  const restMeta = h('span', { class: 'muted small', id: 'onair-day-version' });

  const nowCard = h('section', { class: 'card now', 'aria-labelledby': 'now-heading', 'data-testid': 'onair-panel' },
    h('h2', { id: 'now-heading' }, t('onair_now')),
    title, fallback, progress,
    h('dl', { class: 'tcs' },
      h('div', {}, h('dt', {}, t('onair_position')), h('dd', {}, pos)),
      h('div', {}, h('dt', {}, t('onair_length')), h('dd', {}, len)),
      h('div', {}, h('dt', {}, t('onair_remaining')), h('dd', {}, rem)),
    ),
  );
  const nextCard = h('section', { class: 'card next', 'aria-labelledby': 'next-heading', 'data-testid': 'next-panel' },
    h('h2', { id: 'next-heading' }, t('onair_next')),
    nextTitle,
    h('p', {}, h('span', { class: 'muted' }, `${t('onair_next_in')} `), nextIn),
    nextAt,
  );
  const video = h('video', { id: 'preview-video', muted: true, autoplay: true, playsinline: true, controls: true, 'aria-label': t('preview_label') });
  const previewMsg = h('p', { class: 'preview-msg', id: 'preview-msg', role: 'status' }, t('loading'));
  const previewCard = h('section', { class: 'card preview', 'aria-labelledby': 'preview-heading' },
    h('h2', { id: 'preview-heading' }, t('preview_title')),
    h('div', { class: 'video-box' }, video, previewMsg),
  );
  root.append(
    h('h1', { class: 'visually-hidden' }, t('onair_title')),
    h('div', { class: 'onair-grid' },
      h('div', { class: 'onair-left' }, nowCard, nextCard),
      previewCard,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'rest-heading' }, h('div', { class: 'card-head' }, restHead, restMeta), rest),
  );

  let shownDay = null; // [date, version] of the timeline shown
  let day = null;
  let lastSnap = null;
  let loading = false;

  async function loadDay(date, version) {
    if (loading) return;
    loading = true;
    try {
      const r = await api('GET', `/api/v1/rundown/days/${date}`);
      day = r.day;
      shownDay = [date, r.version.version];
      restMeta.textContent = t('onair_day_version', { date, version: r.version.version });
      drawRest();
    } catch (e) {
      shownDay = [date, version];
      clear(rest).append(h('p', { class: 'muted' }, e.status === 404 ? t('editor_no_day', { date }) : t('error', { message: e.message })));
    } finally {
      loading = false;
    }
  }

  function drawRest() {
    if (!day || !lastSnap) return;
    const now = Date.parse(lastSnap.now);
    const rate = day.rate;
    const onIdx = lastSnap.on_air?.date === day.date ? lastSnap.on_air.index : null;
    const items = day.items
      .map((it, i) => ({ ...it, i }))
      .filter((it) => Date.parse(it.start) + framesToMs(it.frames, rate) > now);
    const more = Math.max(0, items.length - SHOWN);
    items.length = Math.min(items.length, SHOWN);
    clear(rest);
    if (!items.length) {
      rest.append(h('p', { class: 'muted' }, t('onair_rest_empty')));
      return;
    }
    let group = null;
    for (const it of items) {
      if (!group || group.section !== it.section) {
        group = { section: it.section, list: h('ol', { class: 'tl-list' }) };
        rest.append(h('div', { class: 'tl-group', 'data-section': it.section },
          h('h3', { class: `tl-section sec-${sectionClass(it.section)}` }, it.section || '—'), group.list));
      }
      const on = it.i === onIdx;
      group.list.append(h('li', { class: `tl-item kind-${it.kind}${on ? ' on' : ''}`, 'data-testid': 'timeline-item' },
        h('span', { class: 'tl-time' }, wallTime(it.start)),
        h('span', { class: 'tl-title' }, it.kind === 'work' ? workLink(it.work_id, it.title) : it.title),
        h('span', {}, on ? h('span', { class: 'badge live' }, t('now_badge')) : ''),
        h('span', { class: 'tl-unit muted' }, it.kind === 'work' || it.kind === 'live' ? it.unit ?? '' : ''),
        h('span', { class: 'tl-len muted' }, duration(it.frames, rate)),
      ));
    }
    if (more > 0) rest.append(h('p', { class: 'muted tl-more' }, t('onair_more', { n: more })));
  }

  const unsub = onAir((s) => {
    lastSnap = s;
    const rate = s.rate;
    if (s.on_air) {
      const o = s.on_air;
      title.textContent = o.title;
      pos.textContent = timecode(o.position_frames, rate);
      len.textContent = o.length_frames == null ? '--:--:--:--' : timecode(o.length_frames, rate);
      rem.textContent = o.remaining_frames == null ? '--:--:--:--' : timecode(o.remaining_frames, rate);
      const pct = o.length_frames ? Math.min(100, (100 * o.position_frames) / o.length_frames) : 0;
      bar.style.width = `${pct}%`;
      progress.setAttribute('aria-valuenow', String(Math.round(pct)));
      fallback.hidden = !o.fallback;
    } else {
      title.textContent = t('onair_nothing');
      bar.style.width = '0%';
    }
    if (s.next) {
      nextTitle.textContent = s.next.title;
      nextIn.textContent = timecode(s.next.in_frames, rate);
      nextAt.textContent = t('onair_starts_at', { time: wallTime(s.next.start) });
    } else {
      nextTitle.textContent = t('onair_next_none');
      nextIn.textContent = '--:--:--:--';
      nextAt.textContent = '';
    }
    const date = s.on_air?.date ?? wallDate(s.now);
    const version = (s.days ?? []).find(([d]) => d === date)?.[1];
    if (!shownDay || shownDay[0] !== date || (version !== undefined && shownDay[1] !== version)) {
      loadDay(date, version);
    } else {
      drawRest();
    }
  });

  const stopPreview = startPreview(video, previewMsg);
  api('GET', '/api/v1/air').catch((e) => {
    if (e.status === 503) title.textContent = t('not_on_air');
  });

  return () => {
    unsub();
    stopPreview();
  };
}

export function sectionClass(section) {
  return { 寻初心: 'xun', 悦科普: 'yue', 探创新: 'tan', 向未来: 'xiang', 慢直播: 'man' }[section] ?? 'other';
}

/// Plays /preview/live.m3u8 with hls.js (or natively); "预览不可用" when it is missing.
function startPreview(video, msg) {
  const url = '/preview/live.m3u8';
  let hls = null;
  let stopped = false;
  const unavailable = () => {
    msg.textContent = t('preview_unavailable');
    msg.hidden = false;
    video.classList.add('off');
  };
  fetch(url, { credentials: 'same-origin', cache: 'no-store' })
    .then((r) => {
      if (stopped) return;
      if (!r.ok) return unavailable();
      const Hls = globalThis.Hls;
      if (Hls && Hls.isSupported()) {
        hls = new Hls({ liveDurationInfinity: true, lowLatencyMode: false });
        hls.on(Hls.Events.ERROR, (_e, d) => {
          if (d.fatal) unavailable();
        });
        hls.on(Hls.Events.MANIFEST_PARSED, () => {
          msg.hidden = true;
          video.play().catch(() => {});
        });
        hls.loadSource(url);
        hls.attachMedia(video);
      } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
        video.src = url;
        msg.hidden = true;
      } else {
        unavailable();
      }
    })
    .catch(unavailable);
  return () => {
    stopped = true;
    hls?.destroy();
  };
}
