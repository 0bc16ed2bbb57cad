// 作品报送 Submissions (partner): the notice's 信息采集表 as a form — contact, the edition's
// categories, one or more works (title, duration, 版权方, 视频内容简介 counted as the notice
// counts 字, 报送状态 with its deadline) and leads; drafts kept on the server; then the
// unit's works with their state, source and 技术审核 verdict in plain Chinese, and a resumable
// upload (tus, the vendored tus-js-client) per work, which can be paused and resumed.

import { api, session } from '../api.js';
import { h, toast } from '../util.js';

let tusLoading = null;
/// Loads the vendored tus-js-client once.
function loadTus() {
  if (globalThis.tus) return Promise.resolve(globalThis.tus);
  if (!tusLoading) {
    tusLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/assets/vendor/tus.min.js';
      s.onload = () => resolve(globalThis.tus);
      s.onerror = () => reject(new Error('上传组件加载失败'));
      document.head.append(s);
    });
  }
  return tusLoading;
}

/// Characters as the notice counts 字: everything but blanks.
const noticeChars = (s) => [...s].filter((c) => !/\s/.test(c)).length;

function field(label, input, id) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

function workFieldset(info, n, w = {}) {
  const sum = h('textarea', { rows: '3', 'data-k': 'summary' });
  sum.value = w.summary ?? '';
  const count = h('span', { class: 'muted', 'data-testid': 'summary-count' });
  const recount = () => {
    const c = noticeChars(sum.value);
    count.textContent = `${c} / ${info.summary_max_chars} 字`;
    count.classList.toggle('error', c > info.summary_max_chars);
  };
  sum.addEventListener('input', recount);
  recount();
  const title = h('input', { type: 'text', 'data-k': 'title', required: '' });
  title.value = w.title ?? '';
  const minutes = h('input', { type: 'number', min: '0', step: '0.5', 'data-k': 'minutes' });
  minutes.value = w.minutes ?? '';
  const holder = h('input', { type: 'text', 'data-k': 'copyright_holder' });
  holder.value = w.copyright_holder ?? '';
  const status = h('select', { 'data-k': 'production_status' },
    info.statuses.map((s) => h('option', { value: s.value }, `${s.label}（${s.deadline} 前）`)));
  if (w.production_status) status.value = w.production_status;
  const fs = h('fieldset', { class: 'card work', 'data-testid': 'work' },
    h('legend', {}, `第 ${n} 部作品`),
    field('作品名称', title, `w${n}-title`),
    field('时长（分钟）', minutes, `w${n}-minutes`),
    field('版权方', holder, `w${n}-holder`),
    field('报送视频状态', status, `w${n}-status`),
    field('视频内容简介', sum, `w${n}-summary`),
    count,
  );
  return fs;
}

function readWork(fs) {
  const v = (k) => fs.querySelector(`[data-k="${k}"]`).value.trim();
  const minutes = parseFloat(v('minutes'));
  return {
    title: v('title'),
    minutes: v('minutes'),
    duration_ms: Number.isFinite(minutes) && minutes > 0 ? Math.round(minutes * 60000) : null,
    copyright_holder: v('copyright_holder') || null,
    summary: v('summary'),
    production_status: v('production_status'),
  };
}

function uploadCell(info, row) {
  const input = h('input', { type: 'file', accept: 'video/*', 'data-testid': 'file' });
  const bar = h('progress', { max: '100', value: '0', 'data-testid': 'progress' });
  const state = h('span', { class: 'muted', 'data-testid': 'upload-state' });
  const pause = h('button', { type: 'button', class: 'btn ghost', disabled: '' }, '暂停');
  const resume = h('button', { type: 'button', class: 'btn ghost', disabled: '' }, '继续');
  let upload = null;
  const start = async () => {
    const file = input.files?.[0];
    if (!file) return;
    if (file.size > info.max_upload_bytes) {
      state.textContent = `文件 ${(file.size / 2 ** 30).toFixed(2)} GB，超过单个文件 4G 上限，未上传`;
      return;
    }
    const tus = await loadTus();
    upload = new tus.Upload(file, {
      endpoint: '/api/v1/uploads',
      chunkSize: Number(window.KEPU_UPLOAD_CHUNK ?? 8 * 2 ** 20),
      retryDelays: [0, 1000, 3000, 5000],
      metadata: { filename: file.name, work: String(row.work_id) },
      headers: session.csrf ? { 'x-csrf-token': session.csrf } : {},
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => {
        bar.value = Math.floor((sent / total) * 100);
        bar.dataset.sent = String(sent);
        state.textContent = `已上传 ${bar.value}%`;
      },
      onError: (e) => {
        state.textContent = `上传出错：${e.originalResponse?.getBody?.() ?? e.message}`;
        resume.disabled = false;
        pause.disabled = true;
      },
      onSuccess: () => {
        state.textContent = '上传完成，技术审核中…';
        pause.disabled = true;
        resume.disabled = true;
        row.onUploaded?.();
      },
    });
    // A previous, interrupted upload of the same file resumes where it stood.
    const previous = await upload.findPreviousUploads();
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    pause.disabled = false;
    upload.start();
  };
  pause.addEventListener('click', async () => {
    await upload?.abort();
    state.textContent = `已暂停（${bar.value}%）`;
    pause.disabled = true;
    resume.disabled = false;
  });
  resume.addEventListener('click', () => {
    resume.disabled = true;
    pause.disabled = false;
    state.textContent = '继续上传…';
    upload?.start();
  });
  input.addEventListener('change', start);
  return h('div', { class: 'upload' }, input, bar, pause, resume, state);
}

async function renderList(info, section) {
  const rows = await api('GET', '/api/v1/submissions');
  section.replaceChildren(h('h2', { id: 'mine-heading' }, '本单位的报送'));
  if (!rows.length) {
    section.append(h('p', { class: 'muted' }, '尚未报送作品。'));
    return;
  }
  const refresh = () => renderList(info, section).catch((e) => toast(e.message, 'error'));
  section.append(h('table', { class: 'table', id: 'my-submissions' },
    h('thead', {}, h('tr', {}, ['作品名称', '来源', '报送状态', '进度', '技术审核', '视频文件'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-work-id': String(r.work_id), 'data-testid': 'submission' },
      h('th', { scope: 'row' }, r.title),
      h('td', {}, r.source_label),
      h('td', {}, r.production_status_label),
      h('td', { 'data-testid': 'state' }, r.state_label),
      h('td', { 'data-testid': 'verdict' }, r.verdict
        ? [h('strong', {}, r.verdict), r.verdict_reasons.length ? h('ul', { class: 'plain' }, r.verdict_reasons.map((x) => h('li', {}, x))) : '']
        : h('span', { class: 'muted' }, r.files ? '审核中' : '未上传')),
      h('td', {}, uploadCell(info, { ...r, onUploaded: () => setTimeout(refresh, 1500) })),
    ))),
  ));
}

export async function render(root) {
  root.append(h('h1', {}, '作品报送'));
  if (session.user?.role !== 'partner') {
    root.append(h('p', { class: 'muted' }, '本页供报送单位账号使用。'));
    return;
  }
  const info = await api('GET', '/api/v1/submissions/form');
  const draft = (await api('GET', '/api/v1/submissions/draft')) ?? {};
  root.append(h('p', { class: 'lead' }, `${info.edition} · ${info.unit?.name ?? ''}`));

  const contact = {};
  const contactFields = [['contact_name', '联系人'], ['contact_title', '职务/职称'], ['contact_phone', '联系电话'], ['contact_email', '电子邮箱'], ['supervisor_name', '上级主管单位']]
    .map(([k, label]) => {
      const input = h('input', { type: k === 'contact_email' ? 'email' : 'text' });
      input.value = draft.unit?.[k] ?? info.unit?.[k] ?? '';
      contact[k] = input;
      return field(label, input, `c-${k}`);
    });
  const cats = info.categories.map((c) => {
    const box = h('input', { type: 'checkbox', value: String(c.id), id: `cat-${c.id}` });
    box.checked = (draft.categories ?? []).includes(c.id);
    return h('label', { class: 'check', for: `cat-${c.id}` }, box, c.name);
  });
  const works = h('div', { id: 'works' });
  const addWork = (w) => works.append(workFieldset(info, works.children.length + 1, w));
  (draft.works?.length ? draft.works : [{}]).forEach(addWork);
  const leadName = h('input', { type: 'text' });
  const leadText = h('textarea', { rows: '2' });
  leadName.value = draft.leads?.[0]?.name ?? '';
  leadText.value = draft.leads?.[0]?.description ?? '';
  const errors = h('ul', { class: 'errors', id: 'form-errors', role: 'alert' });

  const collect = () => ({
    unit: Object.fromEntries(Object.entries(contact).map(([k, el]) => [k, el.value.trim() || null])),
    categories: cats.map((l) => l.querySelector('input')).filter((b) => b.checked).map((b) => Number(b.value)),
    works: [...works.children].map(readWork),
    leads: leadName.value.trim() ? [{ name: leadName.value.trim(), description: leadText.value.trim() }] : [],
  });
  const submit = async () => {
    errors.replaceChildren();
    const f = collect();
    const body = {
      unit: { name: info.unit?.name ?? '', ...f.unit },
      categories: f.categories,
      works: f.works.map(({ minutes: _m, ...w }) => w),
      leads: f.leads,
    };
    try {
      await api('POST', '/api/v1/submissions', body);
      toast('已报送', 'ok');
      await renderList(info, mine);
    } catch (e) {
      errors.append(h('li', {}, e.message));
    }
  };
  const saveDraft = async () => {
    await api('PUT', '/api/v1/submissions/draft', collect());
    toast('草稿已保存', 'ok');
  };
  const form = h('form', { class: 'card', id: 'submit-form' },
    h('h2', {}, '信息采集表'),
    ...contactFields,
    h('fieldset', {}, h('legend', {}, '视频类别（可多选）'), ...cats),
    works,
    h('button', { type: 'button', class: 'btn ghost', id: 'add-work' }, '添加作品'),
    h('fieldset', {}, h('legend', {}, '报送线索'), field('线索名称', leadName, 'lead-name'), field('线索简介', leadText, 'lead-text')),
    errors,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn ghost', id: 'save-draft' }, '保存草稿'),
      h('button', { type: 'submit', class: 'btn', id: 'submit' }, '提交报送')),
  );
  form.querySelector('#add-work').addEventListener('click', () => addWork({}));
  form.querySelector('#save-draft').addEventListener('click', () => saveDraft().catch((e) => toast(e.message, 'error')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  const mine = h('section', { class: 'card', 'aria-labelledby': 'mine-heading', id: 'mine' });
  root.append(form, mine);
  await renderList(info, mine);
}
