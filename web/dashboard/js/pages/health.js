// 状态 Health: destinations (state, bit rate, reconnects, last error; URLs arrive masked),
// the engine and fallback state, and the alarms with 确认 Acknowledge. Live via SSE.

import { t } from '../i18n.js';
import { api, isOperator } from '../api.js';
import { h, clear, wallDateTime, toast } from '../util.js';
import { onAir, onAlarms, setAlarms } from '../live.js';

export function render(root) {
  const dests = h('div', { id: 'health-destinations' }, h('p', { class: 'muted' }, t('loading')));
  const engine = h('dl', { class: 'facts', id: 'health-engine' });
  const alarms = h('div', { id: 'health-alarms' }, h('p', { class: 'muted' }, t('loading')));
  const alarmCount = h('span', { class: 'muted', id: 'alarm-count' });
  root.append(
    h('h1', { class: 'visually-hidden' }, t('health_title')),
    h('div', { class: 'health-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'dest-heading' }, h('h2', { id: 'dest-heading' }, t('destinations')), dests),
      h('section', { class: 'card', 'aria-labelledby': 'engine-heading' }, h('h2', { id: 'engine-heading' }, t('engine_title')), engine),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'alarms-heading', 'data-testid': 'alarms' },
      h('div', { class: 'card-head' }, h('h2', { id: 'alarms-heading' }, t('alarms_title')), alarmCount), alarms),
  );

  const fact = (k, v, cls = '') => [h('dt', {}, t(k)), h('dd', { class: cls }, v)];

  const unsubAir = onAir((s) => {
    const e = s.engine;
    const list = e?.destinations ?? [];
    clear(dests);
    if (!list.length) dests.append(h('p', { class: 'muted' }, t('dest_none')));
    else {
      dests.append(h('table', { class: 'table', id: 'dest-table' },
        h('thead', {}, h('tr', {}, ['col_name', 'col_url', 'col_state', 'col_bitrate', 'col_reconnects', 'col_last_error']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, list.map((d) => h('tr', { 'data-state': d.state },
          h('th', { scope: 'row' }, d.name),
          h('td', { class: 'url' }, d.url),
          h('td', {}, h('span', { class: `badge state-${d.state}` }, t(`state_${d.state}`))),
          h('td', { class: 'num' }, `${(d.bitrate / 1000).toFixed(0)} kbit/s`),
          h('td', { class: 'num' }, String(d.reconnects)),
          h('td', { class: 'err-text', 'data-kind': d.last_error_kind ?? '' },
            d.last_error ? [d.last_error_kind ? h('strong', {}, t(`fail_${d.last_error_kind}`)) : '', ' ', d.last_error] : '—')))),
      ));
    }
    const fb = !!s.on_air?.fallback;
    clear(engine).append(
      ...fact('fallback_state', h('span', { class: `badge ${fb ? 'danger' : 'ok'}`, id: 'fallback-state' }, t(fb ? 'fallback_on' : 'fallback_off'))),
      ...fact('frames_dropped', String(e?.frames_dropped ?? '—'), 'num'),
      ...fact('frames_repeated', String(e?.frames_repeated ?? '—'), 'num'),
      ...fact('max_lateness', e ? `${(e.max_lateness_ns / 1e6).toFixed(1)} ms` : '—', 'num'),
      ...fact('asrun_pending', String(s.asrun_pending ?? 0), 'num'),
      ...(s.rundown_error ? fact('rundown_error', s.rundown_error, 'error') : []),
    );
  });

  function drawAlarms(list) {
    clear(alarms);
    const open = list.filter((a) => !a.acked_at).length;
    alarmCount.textContent = open ? t('alarms_open', { n: open }) : '';
    if (!list.length) {
      alarms.append(h('p', { class: 'muted' }, t('alarms_none')));
      return;
    }
    const sorted = list.slice().sort((a, b) => b.id - a.id);
    alarms.append(h('table', { class: 'table', id: 'alarm-table' },
      h('thead', {}, h('tr', {}, ['col_kind_alarm', 'col_subject', 'col_message', 'col_raised', 'col_cleared', 'col_ack']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, sorted.map((a) => h('tr', {
        class: `alarm ${a.cleared_at ? 'cleared' : 'active'} ${a.acked_at ? 'acked' : 'unacked'}`,
        'data-alarm-id': String(a.id), 'data-kind': a.kind, 'data-testid': 'alarm',
      },
        h('td', {}, h('span', { class: `badge ${a.cleared_at ? '' : 'danger'}` }, t(`alarm_${a.kind}`))),
        h('td', {}, a.subject || '—'),
        h('td', {}, a.message),
        h('td', { class: 'nowrap' }, wallDateTime(a.raised_at)),
        h('td', { class: 'nowrap' }, a.cleared_at ? wallDateTime(a.cleared_at) : h('strong', { class: 'error' }, t('alarm_active'))),
        h('td', {}, a.acked_at
          ? h('span', { class: 'acked', 'data-testid': 'alarm-acked' }, t('acked_by', { who: a.acked_by, at: wallDateTime(a.acked_at) }))
          : isOperator()
            ? h('button', {
              type: 'button', class: 'btn primary small', 'aria-label': t('ack_label', { message: a.message }),
              'data-testid': 'alarm-ack', onclick: (e) => ack(a.id, e.currentTarget),
            }, t('ack'))
            : '—'),
      ))),
    ));
  }

  async function ack(id, btn) {
    btn.disabled = true;
    try {
      await api('POST', `/api/v1/alarms/${id}/ack`);
      const r = await api('GET', '/api/v1/alarms');
      setAlarms(r.alarms ?? []);
    } catch (e) {
      btn.disabled = false;
      toast(t('error', { message: e.message }), 'error');
    }
  }

  const unsubAlarms = onAlarms(drawAlarms);
  api('GET', '/api/v1/alarms').then((r) => drawAlarms(r.alarms ?? [])).catch((e) => {
    clear(alarms).append(h('p', { class: 'muted' }, e.status === 503 ? t('not_on_air') : t('error', { message: e.message })));
  });
  return () => {
    unsubAir();
    unsubAlarms();
  };
}
