// One EventSource on /api/v1/events shared by the pages: `air` every second, `alarms` when
// the board changes. Pages subscribe with onAir/onAlarms and get the last value at once.

import { t } from './i18n.js';

let source = null;
let lastAir = null;
let lastAlarms = null;
const airSubs = new Set();
const alarmSubs = new Set();

function status(ok) {
  const el = document.getElementById('live-status');
  if (!el) return;
  el.textContent = ok ? `● ${t('live_ok')}` : `○ ${t('live_lost')}`;
  el.className = `live-status ${ok ? 'ok' : 'lost'}`;
}

export function startLive() {
  if (source) return;
  source = new EventSource('/api/v1/events', { withCredentials: true });
  source.addEventListener('open', () => status(true));
  source.addEventListener('error', () => status(false));
  source.addEventListener('air', (e) => {
    status(true);
    lastAir = JSON.parse(e.data);
    for (const f of airSubs) f(lastAir);
  });
  source.addEventListener('alarms', (e) => {
    lastAlarms = JSON.parse(e.data).alarms ?? [];
    for (const f of alarmSubs) f(lastAlarms);
  });
}

export function stopLive() {
  source?.close();
  source = null;
  lastAir = null;
  lastAlarms = null;
  const el = document.getElementById('live-status');
  if (el) el.textContent = '';
}

/// Subscribes to air snapshots; returns the unsubscribe function.
export function onAir(f) {
  airSubs.add(f);
  if (lastAir) f(lastAir);
  return () => airSubs.delete(f);
}

export function onAlarms(f) {
  alarmSubs.add(f);
  if (lastAlarms) f(lastAlarms);
  return () => alarmSubs.delete(f);
}

export function latestAir() {
  return lastAir;
}

/// Replaces the alarm board (after an acknowledgement) and tells the subscribers.
export function setAlarms(list) {
  lastAlarms = list;
  for (const f of alarmSubs) f(lastAlarms);
}
