// 直播源 Feeds: every slow-live feed of the edition with its window and, while the engine has
// it open (its window and the pre-roll before it), its live status and a still picture renewed
// every few seconds; each feed's backup clip (shown on its card, set or cleared in the form
// below the list: a catalog work or a file path); and the RTMP ingest's stream keys (issue —
// shown once —, list, revoke). Locators and keys arrive masked; a new key is shown once, in
// this page only. The recorded windows (回放) are listed below the feeds when `[recording]`
// is configured; an operator registers a finished one as a catalog work. `#/feeds/rec/NAME`
// (the as-run page's link) marks that window's row and scrolls to it.

import { t } from '../i18n.js';
import { api, isOperator } from '../api.js';
import { h, clear, wallDateTime, toast } from '../util.js';

/// How often the list (and so the stills) is renewed, ms.
const REFRESH_MS = 3000;

function windowText(w) {
  if (!w) return '—';
  if (w.start !== undefined) return `${t('feeds_daily')} ${w.start}–${w.end}`;
  if (w.cron !== undefined) return `${w.cron} · ${w.duration}`;
  return JSON.stringify(w);
}

function backupText(b) {
  if (!b) return t('feeds_backup_none');
  const what = b.work_id != null ? t('feeds_backup_work', { id: b.work_id, title: b.work_title ?? '' }) : b.path;
  return b.location ? what : `${what} ${t('feeds_backup_no_file')}`;
}

function stateOf(st) {
  return st?.state?.state ?? 'closed';
}

export function render(root, params = []) {
  const wanted = params[0] === 'rec' ? params[1] : null;
  const list = h('div', { id: 'feeds-list' }, h('p', { class: 'muted' }, t('loading')));
  const keys = h('div', { id: 'feeds-keys' }, h('p', { class: 'muted' }, t('loading')));
  const feedName = h('input', { id: 'key-feed', required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}', placeholder: 'telescope-1' });
  const note = h('input', { id: 'key-note', placeholder: t('feeds_key_note_hint') });
  const issued = h('div', { id: 'key-issued', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', id: 'key-form' },
    h('label', { for: 'key-feed' }, t('feeds_key_feed')), feedName,
    h('label', { for: 'key-note' }, t('feeds_key_note')), note,
    h('button', { type: 'submit', class: 'btn primary', id: 'key-issue' }, t('feeds_key_issue')));
  const backupFeed = h('select', { id: 'backup-feed', required: true });
  const backupKind = h('select', { id: 'backup-kind' },
    h('option', { value: 'work' }, t('feeds_backup_kind_work')),
    h('option', { value: 'path' }, t('feeds_backup_kind_path')));
  const backupValue = h('input', { id: 'backup-value', placeholder: '12 / /srv/kepu/backup/星空.mp4' });
  const backupClear = h('button', { type: 'button', class: 'btn warn', id: 'backup-clear' }, t('feeds_backup_clear'));
  const backupForm = h('form', { class: 'inline-form', id: 'backup-form' },
    h('label', { for: 'backup-feed' }, t('feeds_backup_feed')), backupFeed,
    h('label', { for: 'backup-kind' }, t('feeds_backup_kind')), backupKind,
    h('label', { for: 'backup-value' }, t('feeds_backup_value')), backupValue,
    h('button', { type: 'submit', class: 'btn primary', id: 'backup-set' }, t('feeds_backup_set')),
    backupClear);
  const recs = h('div', { id: 'feeds-recordings' }, h('p', { class: 'muted' }, t('loading')));
  root.append(
    h('h1', { class: 'visually-hidden' }, t('feeds_title')),
    h('section', { class: 'card', 'aria-labelledby': 'feeds-heading' },
      h('h2', { id: 'feeds-heading' }, t('feeds_title')), list),
    isOperator() ? h('section', { class: 'card', 'aria-labelledby': 'backup-heading' },
      h('h2', { id: 'backup-heading' }, t('feeds_backup_title')),
      h('p', { class: 'muted' }, t('feeds_backup_intro')), backupForm) : null,
    h('section', { class: 'card', 'aria-labelledby': 'recs-heading' },
      h('h2', { id: 'recs-heading' }, t('feeds_recs_title')),
      h('p', { class: 'muted' }, t('feeds_recs_intro')), recs),
    h('section', { class: 'card', 'aria-labelledby': 'keys-heading' },
      h('h2', { id: 'keys-heading' }, t('feeds_keys_title')),
      h('p', { class: 'muted' }, t('feeds_keys_intro')),
      isOperator() ? form : null, issued, keys),
  );

  let stopped = false;
  let timer = null;

  /// The form's feed choices, renewed only when the feeds change (a choice survives the
  /// list's refresh).
  let feedKeys = '';
  function drawChoices(feeds) {
    const keysNow = feeds.map((f) => `${f.id}:${f.title}`).join('|');
    if (keysNow === feedKeys) return;
    feedKeys = keysNow;
    const chosen = backupFeed.value;
    clear(backupFeed).append(...feeds.map((f) => h('option', { value: String(f.id) }, `${f.id} · ${f.title}`)));
    if (chosen) backupFeed.value = chosen;
  }

  function drawFeeds(feeds) {
    drawChoices(feeds);
    clear(list);
    if (!feeds.length) {
      list.append(h('p', { class: 'muted' }, t('feeds_none')));
      return;
    }
    const stamp = Date.now();
    list.append(h('div', { class: 'feed-grid' }, feeds.map((f) => {
      const s = f.status;
      const state = stateOf(s);
      const fps = s ? (s.frame_rate_milli / 1000).toFixed(2) : '—';
      return h('article', { class: 'feed-card', 'data-feed-id': String(f.id), 'data-state': state, 'data-testid': 'feed' },
        f.still
          ? h('img', { class: 'feed-still', src: `${f.still}?w=480&t=${stamp}`, alt: t('feeds_still_alt', { title: f.title }), width: '480', height: '270', 'data-testid': 'feed-still' })
          : h('div', { class: 'feed-still empty' }, t('feeds_closed')),
        h('h3', {}, f.title),
        h('dl', { class: 'facts' },
          h('dt', {}, t('feeds_unit')), h('dd', {}, f.unit || '—'),
          h('dt', {}, t('feeds_window')), h('dd', {}, windowText(f.window)),
          h('dt', {}, t('col_url')), h('dd', { class: 'url' }, `${f.kind ? `[${f.kind}] ` : ''}${f.url}`),
          h('dt', {}, t('feeds_backup')), h('dd', { 'data-testid': 'feed-backup' }, backupText(f.backup)),
          h('dt', {}, t('col_state')), h('dd', {}, h('span', { class: `badge state-${state}`, 'data-testid': 'feed-state' }, t(`feeds_state_${state}`))),
          ...(s ? [
            h('dt', {}, t('col_bitrate')), h('dd', { class: 'num' }, `${(s.bitrate / 1000).toFixed(0)} kbit/s · ${fps} fps`),
            h('dt', {}, t('feeds_last_frame')), h('dd', { class: 'num' }, s.last_frame_age_ms == null ? '—' : `${s.last_frame_age_ms} ms`),
            h('dt', {}, t('col_reconnects')), h('dd', { class: 'num' }, String(s.reconnects)),
            h('dt', {}, t('col_last_error')), h('dd', { class: 'err-text' }, s.last_error ?? '—'),
            ...(s.recording ? [
              h('dt', {}, t('feeds_recording')),
              h('dd', { class: s.recording.error ? 'err-text' : '', 'data-testid': 'feed-recording' }, s.recording.error
                ? t('feeds_rec_failed', { why: s.recording.error })
                : t('feeds_rec_on', { n: s.recording.segments })),
            ] : []),
          ] : [])));
    })));
  }

  function drawKeys(rows) {
    clear(keys);
    if (!rows.length) {
      keys.append(h('p', { class: 'muted' }, t('feeds_keys_none')));
      return;
    }
    keys.append(h('table', { class: 'table', id: 'key-table' },
      h('thead', {}, h('tr', {}, ['feeds_key_feed', 'feeds_key_hint', 'feeds_key_note', 'feeds_key_created', 'col_state', '']
        .map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
      h('tbody', {}, rows.map((k) => h('tr', { 'data-key-id': String(k.id), 'data-testid': 'key' },
        h('th', { scope: 'row' }, `ingest://${k.feed}`),
        h('td', { class: 'url' }, k.key_hint),
        h('td', {}, k.note || '—'),
        h('td', { class: 'nowrap' }, wallDateTime(k.created_at_ms)),
        h('td', {}, k.revoked_at_ms
          ? h('span', { class: 'badge' }, t('feeds_key_revoked', { at: wallDateTime(k.revoked_at_ms) }))
          : h('span', { class: 'badge ok' }, t('feeds_key_valid'))),
        h('td', {}, !k.revoked_at_ms && isOperator()
          ? h('button', {
            type: 'button', class: 'btn warn small', 'data-testid': 'key-revoke',
            onclick: async () => {
              if (!window.confirm(t('feeds_key_revoke_confirm', { feed: k.feed }))) return;
              try {
                await api('DELETE', `/api/v1/feeds/keys/${k.id}`);
                toast(t('feeds_key_revoked_toast'), 'ok');
                loadKeys();
              } catch (e) {
                toast(t('error', { message: e.message }), 'error');
              }
            },
          }, t('feeds_key_revoke'))
          : ''))))));
  }

  async function loadFeeds() {
    try {
      drawFeeds(await api('GET', '/api/v1/feeds'));
    } catch (e) {
      clear(list).append(h('p', { class: 'error' }, t('error', { message: e.message })));
    }
    if (!stopped) timer = setTimeout(loadFeeds, REFRESH_MS);
  }

  function drawRecordings(rows) {
    clear(recs);
    if (!rows.length) {
      recs.append(h('p', { class: 'muted' }, t('feeds_recs_none')));
      return;
    }
    const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
    recs.append(h('table', { class: 'table', id: 'rec-table' },
      h('thead', {}, h('tr', {}, ['feeds_rec_window', 'feeds_rec_start', 'feeds_rec_end', 'feeds_rec_size', 'col_state', '']
        .map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
      h('tbody', {}, rows.map((r) => h('tr', { 'data-recording': r.name, 'data-testid': 'recording' },
        h('th', { scope: 'row', class: 'url' }, r.name),
        h('td', { class: 'nowrap' }, wallDateTime(Date.parse(r.start))),
        h('td', { class: 'nowrap' }, r.end ? wallDateTime(Date.parse(r.end)) : '—'),
        h('td', { class: 'num' }, `${mib(r.size)} · ${r.segments}`),
        h('td', {}, h('span', { class: `badge ${r.complete ? 'ok' : ''}`, title: r.error ?? '' },
          t(r.recording ? 'feeds_rec_recording' : r.complete ? 'feeds_rec_complete' : 'feeds_rec_incomplete'))),
        h('td', {}, r.complete && r.feed != null && isOperator()
          ? h('button', {
            type: 'button', class: 'btn small', 'data-testid': 'rec-register',
            onclick: async () => {
              try {
                const w = await api('POST', `/api/v1/recordings/${encodeURIComponent(r.name)}/register`, {});
                toast(t('feeds_rec_registered', { id: w.work_id, title: w.title }), 'ok');
              } catch (e) {
                toast(t('error', { message: e.message }), 'error');
              }
            },
          }, t('feeds_rec_register'))
          : ''))))));
    // The window the as-run page links to (#/feeds/rec/NAME).
    const row = wanted && [...recs.querySelectorAll('tr[data-recording]')].find((r) => r.dataset.recording === wanted);
    if (row) {
      row.setAttribute('aria-selected', 'true');
      row.scrollIntoView({ block: 'nearest' });
    }
  }

  async function loadRecordings() {
    try {
      drawRecordings(await api('GET', '/api/v1/recordings'));
    } catch (e) {
      clear(recs).append(h('p', { class: 'muted' }, e.status === 404 ? t('feeds_recs_off') : t('error', { message: e.message })));
    }
  }

  async function loadKeys() {
    try {
      drawKeys(await api('GET', '/api/v1/feeds/keys'));
    } catch (e) {
      clear(keys).append(h('p', { class: 'error' }, t('error', { message: e.message })));
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const k = await api('POST', '/api/v1/feeds/keys', { feed: feedName.value.trim(), note: note.value.trim() });
      clear(issued).append(h('div', { class: 'notice warn', 'data-testid': 'key-shown-once' },
        h('p', {}, t('feeds_key_once', { feed: k.feed })),
        h('code', { class: 'secret', id: 'key-value' }, k.key),
        h('button', {
          type: 'button', class: 'btn small',
          onclick: () => navigator.clipboard?.writeText(k.key).then(() => toast(t('feeds_key_copied'), 'ok')),
        }, t('feeds_key_copy'))));
      feedName.value = '';
      note.value = '';
      loadKeys();
    } catch (e) {
      toast(t('error', { message: e.message }), 'error');
    }
  });

  async function saveBackup(body, done) {
    const id = backupFeed.value;
    if (!id) return;
    try {
      await api('PUT', `/api/v1/feeds/${id}/backup`, body);
      toast(done, 'ok');
      backupValue.value = '';
      clearTimeout(timer);
      loadFeeds();
    } catch (e) {
      toast(t('error', { message: e.message }), 'error');
    }
  }

  backupForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = backupValue.value.trim();
    const body = backupKind.value === 'work' ? { work_id: Number(v) } : { path: v };
    saveBackup(body, t('feeds_backup_saved'));
  });
  backupClear.addEventListener('click', () => saveBackup(null, t('feeds_backup_cleared')));

  loadFeeds();
  loadKeys();
  loadRecordings();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
