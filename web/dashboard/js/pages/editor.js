// 编排 Day editor: a day's items with their start times; move (drag and drop, or Alt+↑/↓,
// or the 上移/下移 buttons), remove, replace, trim, insert from the catalog, skip the item on
// air and go live. Every change is first previewed (`dry_run`), then applied with a reason
// and the version it was made on (409: someone else changed the day — refresh). Undo, the
// edit history, and a locked day shown locked with its controls disabled.

import { t } from '../i18n.js';
import { api } from '../api.js';
import { h, clear, duration, wallTime, wallDate, wallDateTime, framesToMs, toast } from '../util.js';
import { onAir, latestAir } from '../live.js';
import { sectionClass } from './onair.js';

export async function render(root, params) {
  let snap = latestAir();
  if (!snap) {
    snap = await api('GET', '/api/v1/air').catch(() => null);
  }
  const today = wallDate(snap?.now ?? Date.now());
  const st = {
    date: /^\d{4}-\d{2}-\d{2}$/.test(params[0] ?? '') ? params[0] : today,
    data: null,
    selected: null,
    playable: [],
    feeds: [],
    snap,
    busy: false,
  };

  // ---- layout
  const dateInput = h('input', { type: 'date', id: 'editor-date', value: st.date, min: today });
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'editor-refresh' }, t('refresh'));
  const versionLabel = h('span', { class: 'muted', id: 'editor-version' });
  const lockBanner = h('p', { class: 'banner locked', id: 'editor-locked', role: 'status', hidden: true });
  // What the day is made of (minutes of premieres, replays, live, events, filler, slate) and the
  // server's warnings when slate or filler pass the edition's limits.
  const mixLine = h('p', { class: 'muted', id: 'editor-mix' });
  const mixWarn = h('p', { class: 'banner locked', id: 'editor-mix-warn', role: 'status', hidden: true });
  mixWarn.style.whiteSpace = 'pre-line';
  const list = h('ol', {
    class: 'items', id: 'editor-items', role: 'listbox', tabindex: '0',
    'aria-label': t('editor_items'), 'aria-describedby': 'editor-help',
  });
  const help = h('p', { class: 'muted small', id: 'editor-help' }, t('editor_items_help'));
  const selLabel = h('p', { class: 'sel-label', id: 'editor-selected', 'aria-live': 'polite' }, t('no_selection'));
  const upBtn = h('button', { type: 'button', class: 'btn', id: 'btn-move-up', 'aria-keyshortcuts': 'Alt+ArrowUp' }, `↑ ${t('move_up')}`);
  const downBtn = h('button', { type: 'button', class: 'btn', id: 'btn-move-down', 'aria-keyshortcuts': 'Alt+ArrowDown' }, `↓ ${t('move_down')}`);
  const removeBtn = h('button', { type: 'button', class: 'btn danger', id: 'btn-remove', 'aria-keyshortcuts': 'Delete' }, t('remove'));
  const trimInput = h('input', { type: 'number', id: 'trim-seconds', min: '1', step: '1', inputmode: 'numeric' });
  const trimBtn = h('button', { type: 'button', class: 'btn', id: 'btn-trim' }, t('trim'));
  const skipBtn = h('button', { type: 'button', class: 'btn warn', id: 'btn-skip' }, t('skip_now'));
  const feedSelect = h('select', { id: 'live-feed' }, h('option', { value: '' }, '—'));
  const liveUrl = h('input', { type: 'url', id: 'live-url', placeholder: 'srt://…' });
  const liveMinutes = h('input', { type: 'number', id: 'live-minutes', min: '1', value: '10' });
  const liveBtn = h('button', { type: 'button', class: 'btn warn', id: 'btn-live' }, t('live_now'));
  const undoBtn = h('button', { type: 'button', class: 'btn', id: 'btn-undo' }, `↶ ${t('undo')}`);
  const search = h('input', { type: 'search', id: 'catalog-search', placeholder: t('catalog_search_ph') });
  const results = h('ul', { class: 'results', id: 'catalog-results', 'aria-live': 'polite' });
  const history = h('div', { id: 'editor-history' });
  const status = h('p', { class: 'error', role: 'alert', id: 'editor-error' });

  const controls = h('fieldset', { class: 'controls', id: 'editor-controls' },
    h('legend', { class: 'visually-hidden' }, t('editor_title')),
    selLabel,
    h('div', { class: 'row' }, upBtn, downBtn, removeBtn),
    h('div', { class: 'row' },
      h('label', { for: 'trim-seconds' }, t('trim_seconds')), trimInput, trimBtn),
    h('hr'),
    h('div', { class: 'row' }, skipBtn, undoBtn),
    h('div', { class: 'live-box' },
      h('label', { for: 'live-feed' }, t('live_feed')), feedSelect,
      h('label', { for: 'live-url' }, t('live_url')), liveUrl,
      h('label', { for: 'live-minutes' }, t('live_minutes')), liveMinutes,
      liveBtn),
    h('hr'),
    h('h2', { id: 'catalog-heading' }, t('catalog_title')),
    h('label', { for: 'catalog-search' }, t('catalog_search')), search,
    results,
  );
  const dialog = h('dialog', { class: 'preview-dialog', id: 'preview-dialog', 'aria-labelledby': 'preview-dialog-title' });

  root.append(
    h('div', { class: 'editor-head' },
      h('h1', {}, t('editor_title')),
      h('label', { for: 'editor-date' }, t('editor_date')), dateInput, refreshBtn, versionLabel),
    lockBanner, mixLine, mixWarn, status,
    h('div', { class: 'editor-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'items-heading' },
        h('h2', { id: 'items-heading' }, t('editor_items')), help, list),
      h('aside', { class: 'card side', 'aria-label': t('editor_title') }, controls),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'history-heading' },
      h('h2', { id: 'history-heading' }, t('history_title')), history),
    dialog,
  );

  // ---- data
  const rate = () => st.data?.day?.rate ?? { num: 25, den: 1 };
  const fps = () => rate().num / rate().den;
  const items = () => st.data?.day?.items ?? [];
  const locked = () => !!st.data?.lock;
  const nowMs = () => Date.parse(st.snap?.now ?? new Date().toISOString());
  function statusOf(it) {
    const s = Date.parse(it.start);
    const e = s + framesToMs(it.frames, rate());
    const n = nowMs();
    if (e <= n) return 'aired';
    if (s <= n) return 'onair';
    return 'future';
  }

  async function load() {
    status.textContent = '';
    try {
      st.data = await api('GET', `/api/v1/rundown/days/${st.date}`);
    } catch (e) {
      st.data = null;
      clear(list).append(h('li', { class: 'muted' }, e.status === 404 ? t('editor_no_day', { date: st.date }) : t('error', { message: e.message })));
      versionLabel.textContent = '';
      mixLine.textContent = '';
      mixWarn.hidden = true;
      lockBanner.hidden = true;
      clear(history);
      syncControls();
      return;
    }
    const v = st.data.version;
    versionLabel.textContent = t('editor_version', { version: v.version, author: v.author, at: wallDateTime(v.at) });
    const m = st.data.mix;
    const mins = (f) => Math.round((f ?? 0) / fps() / 60);
    mixLine.textContent = m ? t('editor_mix', {
      premiere: mins(m.premiere_frames), replay: mins(m.replay_frames), live: mins(m.live_frames),
      event: mins(m.event_frames), filler: mins(m.filler_frames), slate: mins(m.slate_frames),
    }) : '';
    const w = st.data.warnings ?? [];
    mixWarn.hidden = w.length === 0;
    mixWarn.textContent = w.map((x) => `⚠ ${x}`).join('\n');
    const l = st.data.lock;
    lockBanner.hidden = !l;
    if (l) lockBanner.textContent = `🔒 ${t('editor_locked', { by: l.by, at: wallDateTime(l.at), reason: l.reason || '—' })}`;
    if (st.selected !== null && st.selected >= items().length) st.selected = null;
    drawItems();
    syncControls();
    loadHistory();
  }

  async function loadHistory() {
    try {
      const r = await api('GET', `/api/v1/rundown/days/${st.date}/edits`);
      clear(history);
      const edits = r.edits ?? [];
      if (!edits.length) {
        history.append(h('p', { class: 'muted' }, t('history_empty')));
        return;
      }
      history.append(h('table', { class: 'table', id: 'history-table' },
        h('thead', {}, h('tr', {}, ['col_when', 'col_who', 'col_why', 'col_what'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, edits.slice().reverse().map((e) => h('tr', {},
          h('td', { class: 'nowrap' }, wallDateTime(e.at)), h('td', {}, e.author),
          h('td', {}, e.reason || '—'), h('td', {}, e.summary)))),
      ));
    } catch (e) {
      clear(history).append(h('p', { class: 'muted' }, t('error', { message: e.message })));
    }
  }

  function drawItems() {
    clear(list);
    const r = rate();
    items().forEach((it, i) => {
      const s = statusOf(it);
      const movable = s === 'future' && !locked();
      const li = h('li', {
        role: 'option', id: `item-${i}`, class: `item kind-${it.kind} ${s}`,
        'aria-selected': String(st.selected === i), 'data-index': String(i), 'data-testid': 'editor-item',
        draggable: movable ? 'true' : 'false',
      },
        h('span', { class: 'drag', 'aria-hidden': 'true', title: t('drag_hint') }, movable ? '⋮⋮' : ''),
        h('span', { class: 'idx' }, String(i + 1)),
        h('span', { class: 'start tc' }, wallTime(it.start)),
        h('span', { class: 'title' }, it.title,
          it.pinned ? h('span', { class: 'badge' }, t('pinned')) : null,
          s === 'onair' ? h('span', { class: 'badge live' }, t('on_air')) : null,
          s === 'aired' ? h('span', { class: 'badge muted' }, t('aired')) : null),
        h('span', { class: `sec sec-${sectionClass(it.section)}` }, it.section),
        h('span', { class: 'len' }, duration(it.frames, r)),
        h('span', { class: 'kind muted' }, t(`kind_${it.kind}`)),
      );
      li.addEventListener('click', () => select(i));
      li.addEventListener('dragstart', (e) => {
        e.dataTransfer.setData('text/plain', String(i));
        e.dataTransfer.effectAllowed = 'move';
        li.classList.add('dragging');
      });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
      li.addEventListener('dragover', (e) => {
        if (locked() || statusOf(it) === 'aired') return;
        e.preventDefault();
        const below = e.offsetY > li.clientHeight / 2;
        li.classList.toggle('drop-before', !below);
        li.classList.toggle('drop-after', below);
      });
      li.addEventListener('dragleave', () => li.classList.remove('drop-before', 'drop-after'));
      li.addEventListener('drop', (e) => {
        e.preventDefault();
        const after = li.classList.contains('drop-after');
        li.classList.remove('drop-before', 'drop-after');
        const from = Number(e.dataTransfer.getData('text/plain'));
        if (!Number.isInteger(from) || from === i) return;
        const edit = after ? { op: 'move', from, after: i } : { op: 'move', from, before: i };
        propose(edit, t('op_move', { title: items()[from]?.title }));
      });
      list.append(li);
    });
    if (st.selected !== null) list.setAttribute('aria-activedescendant', `item-${st.selected}`);
    else list.removeAttribute('aria-activedescendant');
  }

  function refreshStatuses() {
    for (const li of list.querySelectorAll('li.item')) {
      const it = items()[Number(li.dataset.index)];
      if (!it) continue;
      const s = statusOf(it);
      if (!li.classList.contains(s)) {
        drawItems();
        syncControls();
        return;
      }
    }
  }

  function select(i) {
    st.selected = i;
    for (const li of list.querySelectorAll('li.item')) {
      li.setAttribute('aria-selected', String(Number(li.dataset.index) === i));
    }
    list.setAttribute('aria-activedescendant', `item-${i}`);
    document.getElementById(`item-${i}`)?.scrollIntoView({ block: 'nearest' });
    list.focus({ preventScroll: true });
    syncControls();
  }

  function syncControls() {
    const it = st.selected === null ? null : items()[st.selected];
    selLabel.textContent = it ? t('selected_item', { title: `${st.selected + 1}. ${it.title}` }) : t('no_selection');
    const off = !st.data || locked() || st.busy;
    controls.disabled = off;
    const future = it && statusOf(it) === 'future';
    const live = it && statusOf(it) !== 'aired';
    upBtn.disabled = off || !future || st.selected < 1 || statusOf(items()[st.selected - 1]) === 'aired';
    downBtn.disabled = off || !future || st.selected >= items().length - 1;
    removeBtn.disabled = off || !live;
    trimBtn.disabled = off || !live;
    if (it) trimInput.value = String(Math.round(it.frames / fps()));
    const isToday = st.date === wallDate(st.snap?.now ?? Date.now());
    skipBtn.disabled = off || !isToday;
    liveBtn.disabled = off || !isToday;
    undoBtn.disabled = off;
    for (const b of results.querySelectorAll('button[data-needs-selection]')) b.disabled = off || !live;
  }

  function moveBy(delta) {
    const i = st.selected;
    if (i === null) return toast(t('no_selection'));
    const j = i + delta;
    if (j < 0 || j >= items().length) return;
    const edit = delta < 0 ? { op: 'move', from: i, before: j } : { op: 'move', from: i, after: j };
    propose(edit, t('op_move', { title: items()[i].title }));
  }

  // ---- preview, then apply with a reason
  async function propose(edit, label) {
    if (!st.data || locked() || st.busy) return;
    st.busy = true;
    syncControls();
    status.textContent = '';
    const base = st.data.version.version;
    let result;
    try {
      toast(t('previewing'));
      result = await api('POST', `/api/v1/rundown/days/${st.date}/edits`, { edit, base_version: base, dry_run: true });
    } catch (e) {
      st.busy = false;
      syncControls();
      showError(e);
      return;
    }
    st.busy = false;
    syncControls();
    openPreview(edit, label, base, result);
  }

  function showError(e) {
    const problems = (e.problems ?? []).map((p) => p.message).join('；');
    status.textContent = e.status === 409
      ? t('conflict', { message: e.message })
      : t('refused', { message: problems ? `${e.message}（${problems}）` : e.message });
    if (e.status === 409) status.append(' ', h('button', { type: 'button', class: 'btn', onclick: () => load() }, t('refresh')));
  }

  function diffList(result) {
    const r = rate();
    const lines = result.diff ?? [];
    const box = h('div', { class: 'preview-body' });
    box.append(h('h3', {}, t('preview_diff')));
    if (!lines.length) box.append(h('p', { class: 'muted' }, t('preview_no_changes')));
    else {
      box.append(h('table', { class: 'table compact', id: 'preview-diff' },
        h('tbody', {}, lines.map((d) => h('tr', { class: `diff-${d.op}` },
          h('td', {}, h('span', { class: `badge diff-${d.op}` }, t(`diff_${d.op}`))),
          h('td', { class: 'nowrap tc' }, d.old_start ? `${d.old_start}` : ''),
          h('td', { 'aria-hidden': 'true' }, d.old_start && d.new_start ? '→' : ''),
          h('td', { class: 'nowrap tc' }, d.new_start ?? ''),
          h('td', {}, d.title), h('td', { class: 'muted' }, d.duration))))));
    }
    if (result.dropped?.length) {
      box.append(h('h3', {}, t('preview_dropped')),
        h('ul', { class: 'warn-list', id: 'preview-dropped' }, result.dropped.map((it) => h('li', {}, `${wallTime(it.start)} ${it.title}（${duration(it.frames, r)}）`))));
    }
    if (result.shortened?.length) {
      box.append(h('h3', {}, t('preview_shortened')),
        h('ul', { class: 'warn-list' }, result.shortened.map((i) => {
          const it = result.day.items[i];
          return h('li', {}, it ? `${wallTime(it.start)} ${it.title}（${duration(it.frames, r)}）` : String(i + 1));
        })));
    }
    if (result.problems?.length) {
      box.append(h('h3', {}, t('preview_problems')),
        h('ul', { class: 'warn-list', id: 'preview-problems' }, result.problems.map((p) => h('li', {}, p.message))));
    }
    return box;
  }

  function openPreview(edit, label, base, result) {
    clear(dialog);
    document.getElementById('toast').hidden = true;
    const reason = h('input', { id: 'preview-reason', required: true, placeholder: t('reason_ph'), autocomplete: 'off' });
    const err = h('p', { class: 'error', role: 'alert', id: 'preview-error' });
    const apply = h('button', { type: 'submit', class: 'btn primary', id: 'preview-apply' }, t('apply'));
    const cancel = h('button', { type: 'button', class: 'btn', id: 'preview-cancel', onclick: () => dialog.close() }, t('cancel'));
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'preview-dialog-title' }, t('preview_dialog')),
      h('p', { class: 'summary', id: 'preview-summary' }, h('strong', {}, label), h('br'), result.summary ?? ''),
      diffList(result),
      h('label', { for: 'preview-reason' }, t('reason')), reason,
      err,
      h('div', { class: 'row end' }, cancel, apply),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!reason.value.trim()) {
        err.textContent = t('reason_required');
        reason.focus();
        return;
      }
      apply.disabled = true;
      apply.textContent = t('applying');
      try {
        const r = await api('POST', `/api/v1/rundown/days/${st.date}/edits`, {
          edit, base_version: base, reason: reason.value.trim(), dry_run: false,
        });
        dialog.close();
        if (r.unchanged) toast(t('unchanged', { summary: r.summary }), 'ok');
        else toast(t('applied', { summary: r.summary, version: r.version?.version ?? '' }), 'ok');
        st.selected = selectionAfter(edit, st.selected);
        await load();
        if (st.selected !== null) select(st.selected);
      } catch (x) {
        apply.disabled = false;
        apply.textContent = t('apply');
        err.textContent = x.status === 409 ? t('conflict', { message: x.message }) : t('refused', { message: x.message });
        if (x.status === 409) {
          err.append(' ', h('button', { type: 'button', class: 'btn', onclick: () => { dialog.close(); load(); } }, t('refresh')));
        }
      }
    });
    dialog.append(form);
    dialog.showModal();
    reason.focus();
  }

  function openUndo() {
    clear(dialog);
    const reason = h('input', { id: 'undo-reason', required: true, autocomplete: 'off' });
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'preview-dialog-title' }, t('undo')),
      h('label', { for: 'undo-reason' }, t('undo_reason')), reason, err,
      h('div', { class: 'row end' },
        h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, t('cancel')),
        h('button', { type: 'submit', class: 'btn primary' }, t('undo'))),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!reason.value.trim()) {
        err.textContent = t('reason_required');
        return;
      }
      try {
        await api('POST', `/api/v1/rundown/days/${st.date}/undo`, { reason: reason.value.trim() });
        dialog.close();
        toast(t('undone'), 'ok');
        await load();
      } catch (x) {
        err.textContent = t('refused', { message: x.message });
      }
    });
    dialog.append(form);
    dialog.showModal();
    reason.focus();
  }

  // ---- catalog
  function drawResults() {
    const q = search.value.trim().toLowerCase();
    const found = st.playable.filter((p) => !q || p.work.title.toLowerCase().includes(q)).slice(0, 30);
    clear(results);
    if (!found.length) {
      results.append(h('li', { class: 'muted' }, t('catalog_empty')));
      return;
    }
    for (const p of found) {
      const w = p.work;
      const frames = Math.round((p.duration_ms / 1000) * fps());
      const ins = (where) => {
        if (st.selected === null) return toast(t('no_selection'));
        const edit = { op: 'insert', work_id: w.id, [where]: st.selected };
        propose(edit, t('op_insert', { work: w.title }));
      };
      results.append(h('li', { class: 'result' },
        h('span', { class: 'title' }, w.title),
        h('span', { class: 'muted small' }, `${duration(frames, rate())} · ${(w.category_names ?? []).join('、')}`),
        h('span', { class: 'row' },
          h('button', { type: 'button', class: 'btn small', 'data-needs-selection': '', onclick: () => ins('before') }, t('catalog_insert_before')),
          h('button', { type: 'button', class: 'btn small', 'data-needs-selection': '', onclick: () => ins('after') }, t('catalog_insert_after')),
          h('button', {
            type: 'button', class: 'btn small', 'data-needs-selection': '',
            onclick: () => {
              if (st.selected === null) return toast(t('no_selection'));
              const it = items()[st.selected];
              propose({ op: 'replace', index: st.selected, work_id: w.id }, t('op_replace', { title: it.title, work: w.title }));
            },
          }, t('replace')))));
    }
    syncControls();
  }

  // ---- events
  list.addEventListener('keydown', (e) => {
    const n = items().length;
    if (!n) return;
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      if (e.altKey) {
        if (!locked()) moveBy(e.key === 'ArrowUp' ? -1 : 1);
        return;
      }
      const cur = st.selected ?? (e.key === 'ArrowUp' ? n : -1);
      select(Math.max(0, Math.min(n - 1, cur + (e.key === 'ArrowUp' ? -1 : 1))));
    } else if (e.key === 'Home') {
      e.preventDefault();
      select(0);
    } else if (e.key === 'End') {
      e.preventDefault();
      select(n - 1);
    } else if (e.key === 'Delete' && st.selected !== null && !locked()) {
      e.preventDefault();
      removeBtn.click();
    }
  });
  upBtn.addEventListener('click', () => moveBy(-1));
  downBtn.addEventListener('click', () => moveBy(1));
  removeBtn.addEventListener('click', () => {
    if (st.selected === null) return toast(t('no_selection'));
    propose({ op: 'remove', index: st.selected }, t('op_remove', { title: items()[st.selected].title }));
  });
  trimBtn.addEventListener('click', () => {
    if (st.selected === null) return toast(t('no_selection'));
    const secs = Number(trimInput.value);
    if (!(secs > 0)) return trimInput.focus();
    propose({ op: 'trim', index: st.selected, frames: Math.round(secs * fps()) },
      t('op_trim', { title: items()[st.selected].title, seconds: secs }));
  });
  skipBtn.addEventListener('click', () => propose({ op: 'skip' }, t('op_skip')));
  liveBtn.addEventListener('click', () => {
    const minutes = Number(liveMinutes.value);
    if (!(minutes > 0)) return liveMinutes.focus();
    const edit = { op: 'live', frames: Math.round(minutes * 60 * fps()), when: 'now' };
    if (feedSelect.value) edit.feed_id = Number(feedSelect.value);
    else if (liveUrl.value.trim()) edit.source = liveUrl.value.trim();
    else return feedSelect.focus();
    propose(edit, t('op_live', { minutes }));
  });
  undoBtn.addEventListener('click', openUndo);
  search.addEventListener('input', drawResults);
  refreshBtn.addEventListener('click', () => load());
  dateInput.addEventListener('change', () => {
    if (!dateInput.value) return;
    location.hash = `#/editor/${dateInput.value}`;
  });

  const unsub = onAir((s) => {
    st.snap = s;
    const v = (s.days ?? []).find(([d]) => d === st.date)?.[1];
    if (st.data && v !== undefined && v > st.data.version.version && !dialog.open && !st.busy) {
      load();
      return;
    }
    refreshStatuses();
  });

  await load();
  api('GET', '/api/v1/playable').then((p) => {
    st.playable = p ?? [];
    drawResults();
  }).catch(() => {});
  api('GET', '/api/v1/rundown/feeds').then((f) => {
    st.feeds = f ?? [];
    for (const feed of st.feeds) feedSelect.append(h('option', { value: String(feed.id) }, feed.title));
  }).catch(() => {});

  return () => {
    unsub();
    if (dialog.open) dialog.close();
  };
}

/// Where the selection goes after an applied edit: a moved item stays selected.
function selectionAfter(edit, selected) {
  if (edit.op !== 'move') return selected;
  const from = edit.from;
  if (edit.before !== undefined) return from < edit.before ? edit.before - 1 : edit.before;
  if (edit.after !== undefined) return from < edit.after ? edit.after : edit.after + 1;
  return selected;
}
