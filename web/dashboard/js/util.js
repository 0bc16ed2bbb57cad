// Small DOM and time helpers shared by the pages.

/// Builds an element: h('button', {class: 'btn', onclick: f}, 'text', child…).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const pad = (n, w = 2) => String(Math.floor(n)).padStart(w, '0');

/// Frames as HH:MM:SS:FF at `rate` ({num, den}).
export function timecode(frames, rate = { num: 25, den: 1 }) {
  const fps = Math.round(rate.num / rate.den) || 25;
  const f = Math.max(0, Math.floor(frames ?? 0));
  const secs = Math.floor(f / fps);
  return `${pad(secs / 3600)}:${pad((secs / 60) % 60)}:${pad(secs % 60)}:${pad(f % fps)}`;
}

/// Frames as a short length: 1:05:00, 4:30, 0:12.
export function duration(frames, rate = { num: 25, den: 1 }) {
  const secs = Math.round((frames * rate.den) / rate.num);
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = secs % 60;
  return hh ? `${hh}:${pad(mm)}:${pad(ss)}` : `${mm}:${pad(ss)}`;
}

const wall = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});
const dateFmt = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/// Shanghai wall time HH:MM:SS of an instant (ISO string or ms).
export function wallTime(t) {
  if (t === undefined || t === null) return '';
  return wall.format(new Date(t));
}

/// Shanghai date YYYY-MM-DD of an instant.
export function wallDate(t) {
  return dateFmt.format(new Date(t));
}

/// "YYYY-MM-DD HH:MM:SS" in Shanghai.
export function wallDateTime(t) {
  if (t === undefined || t === null) return '';
  return `${wallDate(t)} ${wallTime(t)}`;
}

export function framesToMs(frames, rate = { num: 25, den: 1 }) {
  return (frames * 1000 * rate.den) / rate.num;
}

let toastTimer = null;
/// A short message in the corner (also read out by screen readers).
export function toast(text, kind = 'info') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = text;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, 6000);
}
