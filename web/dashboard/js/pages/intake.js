// 报送管理 Intake (coordinators): a unit's filled 信息采集表 (.docx/.xlsx/.csv in the notice's
// layout) read field by field for a person to confirm before it is saved; every submission
// with its unit, source (在线填报, 信息采集表, 汇总表), state and verdict; and the promised
// videos due (视频待自行制作, 科普月精剪视频 without an accepted file).

import { api, session } from '../api.js';
import { h, toast } from '../util.js';

async function preview(file) {
  const headers = { 'content-type': 'application/octet-stream' };
  if (session.csrf) headers['x-csrf-token'] = session.csrf;
  const r = await fetch(`/api/v1/forms/preview?name=${encodeURIComponent(file.name)}`, {
    method: 'POST', headers, body: file, credentials: 'same-origin',
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body?.error?.message ?? body?.message ?? `HTTP ${r.status}`);
  return body;
}

function previewCard(p, onSaved) {
  const card = h('section', { class: 'card', id: 'form-preview', 'data-file': p.file },
    h('h3', {}, `${p.file}（${p.format}）`),
    h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['栏目', '识别结果', '说明'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, p.fields.map((f) => h('tr', { 'data-testid': 'form-field' },
        h('th', { scope: 'row' }, f.field), h('td', {}, f.value), h('td', { class: 'muted' }, f.note ?? ''))))),
  );
  if (p.warnings.length) card.append(h('ul', { class: 'warnings' }, p.warnings.map((w) => h('li', {}, `请留意：${w}`))));
  if (p.errors.length) {
    card.append(h('ul', { class: 'errors', role: 'alert' }, p.errors.map((e) => h('li', {}, `「${e.field}」：${e.reason}`))));
    return card;
  }
  const confirm = h('button', { type: 'button', class: 'btn', id: 'confirm-form' }, '核对无误，保存');
  confirm.addEventListener('click', async () => {
    try {
      const s = await api('POST', '/api/v1/forms', p);
      toast(`已保存：作品 ${s.work_ids.length} 部，线索 ${s.lead_ids.length} 条`, 'ok');
      confirm.disabled = true;
      onSaved();
    } catch (e) {
      toast(e.message, 'error');
    }
  });
  card.append(confirm);
  return card;
}

async function lists(section) {
  const [subs, due] = await Promise.all([
    api('GET', '/api/v1/submissions'),
    api('GET', '/api/v1/reminders?within_days=7'),
  ]);
  section.replaceChildren(
    h('h2', {}, `全部报送（${subs.length}）`),
    h('table', { class: 'table', id: 'all-submissions' },
      h('thead', {}, h('tr', {}, ['报送单位', '作品名称', '来源', '报送状态', '进度', '技术审核', '报送日期'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, subs.map((r) => h('tr', { 'data-testid': 'any-submission', 'data-work-id': String(r.work_id) },
        h('td', {}, r.unit), h('th', { scope: 'row' }, r.title), h('td', {}, r.source_label),
        h('td', {}, r.production_status_label), h('td', {}, r.state_label),
        h('td', {}, r.verdict ?? (r.files ? '审核中' : '未上传')), h('td', {}, r.submitted_on))))),
    h('h2', {}, `待提交视频提醒（${due.length}）`),
    due.length
      ? h('table', { class: 'table', id: 'reminders' },
        h('thead', {}, h('tr', {}, ['报送单位', '作品名称', '报送状态', '截止日期', '剩余天数', '联系人', '联系电话'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, due.map((r) => h('tr', { 'data-testid': 'reminder' },
          h('td', {}, r.unit), h('th', { scope: 'row' }, r.title), h('td', {}, r.production_status_label),
          h('td', {}, r.due), h('td', {}, r.days_left < 0 ? `逾期 ${-r.days_left} 天` : `${r.days_left} 天`),
          h('td', {}, r.contact_name ?? ''), h('td', {}, r.contact_phone ?? '')))))
      : h('p', { class: 'muted' }, '没有临近截止的待提交视频。'),
  );
}

export async function render(root) {
  root.append(h('h1', {}, '报送管理'));
  const input = h('input', { type: 'file', id: 'form-file', accept: '.docx,.xlsx,.xls,.csv' });
  const out = h('div', { id: 'form-previews' });
  const all = h('section', { class: 'card', id: 'intake-lists' });
  const refresh = () => lists(all).catch((e) => toast(e.message, 'error'));
  input.addEventListener('change', async () => {
    out.replaceChildren();
    for (const f of input.files ?? []) {
      try {
        out.append(previewCard(await preview(f), refresh));
      } catch (e) {
        out.append(h('p', { class: 'errors', role: 'alert' }, `${f.name}：${e.message}`));
      }
    }
  });
  root.append(
    h('section', { class: 'card' },
      h('h2', {}, '导入信息采集表'),
      h('p', { class: 'muted' }, '按通知样表填写的 Word、Excel 或 CSV 表格；逐项识别后核对，确认才保存。'),
      h('label', { for: 'form-file' }, '选择文件'), input, out),
    all,
  );
  await refresh();
}
