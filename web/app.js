// The page of `bmad-bus web`: team, traffic, tasks, events and a send box.
// A plain ES module with no framework and no build step. It talks only to the
// same-origin API.
//
// Security rule for this file: anything that comes from the API (bodies, names,
// screens, titles, events) goes into the page through textContent,
// createTextNode or a property such as `value` or `dataset`. It is never parsed
// as HTML. The server's CSP (default-src 'self') is a second line of defence,
// not the first one.

const MAX_ROWS = 2000;      // rows kept in the traffic list's DOM
const MAX_ENTRIES = 20000;  // entries kept in memory, so that a new filter finds more than the DOM holds
const PAGE = 200;           // messages per /api/messages request
const CHUNK = 100;          // traffic rows per layout block
const BODY_CHARS = 240;     // a row's one-line body preview
const MAX_EVENTS = 300;

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** The API's JSON. A non-2xx response throws its `{ error }` text, so callers can show it. */
async function api(path, init = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  let data = null;
  try { data = await res.json(); } catch { /* not JSON: the status below says enough */ }
  if (!res.ok) throw new Error(data && data.error ? String(data.error) : `HTTP ${res.status} ${res.statusText}`.trim());
  return data;
}

// ---------------------------------------------------------------- formatting

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** HH:MM:SS.mmm in local time. Takes ms (snapshot events) or ISO text (envelopes, trails, dead letters). */
function clock(t) {
  if (t === undefined || t === null || t === '') return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

const isNum = (n) => typeof n === 'number' && Number.isFinite(n);
const count = (n) => (isNum(n) ? n.toLocaleString() : '');
const plural = (n, word, many = `${word}s`) => `${count(n)} ${n === 1 ? word : many}`;

function duration(ms) {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

/** A body may be any JSON value: strings are shown as they are. */
function bodyText(body) {
  if (typeof body === 'string') return body;
  if (body === undefined) return '';
  return JSON.stringify(body) ?? String(body);
}

/** Slice before collapsing whitespace: bodies can be a megabyte, and rows arrive by the thousand. */
function preview(text) {
  const line = text.slice(0, BODY_CHARS * 2).replace(/\s+/g, ' ').trim();
  return line.length > BODY_CHARS || text.length > BODY_CHARS * 2 ? `${line.slice(0, BODY_CHARS)}…` : line;
}

/** API values end up in class names; classList rejects spaces, and a value could carry anything. */
const cls = (value) => String(value ?? 'unknown').toLowerCase().replace(/[^a-z0-9_-]/g, '') || 'unknown';

// ------------------------------------------------------------------- traffic
//
// The entries kept in memory, oldest first, come in three kinds:
//   { kind: 'msg',  offset, env, dead? }     a journaled message (dead: its dead_letter)
//   { kind: 'dead', record }                 a dead letter from the stream (a line that was never journaled, or an undeliverable message)
//   { kind: 'gap',  count, why, before? }    messages not shown (server load, pause, reconnect), loadable in place
// The DOM shows the newest MAX_ROWS entries that match the filters, with the
// newest at the bottom. Live entries are appended once per animation frame and
// the oldest rows are dropped at the top. The whole list is rebuilt only when
// the filters change or the user resumes after a pause, never for a new event.
// Rows sit in blocks of CHUNK (`.chunk`, CSS-contained). A frame that appends at
// the bottom and drops at the top then lays out two blocks and not 2,000 rows.

const list = $('traffic');
const trafficStatus = $('traffic-status');
const olderButton = $('older');
const pauseButton = $('pause');

let entries = [];
const byOffset = new Map();   // offset → entry: deduplicates the initial page, reconnects, paging and gap loads
const rowEntry = new WeakMap();
let pending = [];             // matching entries waiting for the next frame
let frame = 0;
let olderBefore;              // the cursor for "older": undefined before the first page, null at the journal's start
let lastOffset = -Infinity;   // the newest journal offset seen
let openGap = null;           // the gap marker whose next message (and so its load cursor) is not known yet
let paused = false;
let missed = { messages: 0, dead: 0 };  // what arrived while paused
let note = '';                // the last one-off notice (page loaded, errors)
let rowCount = 0;             // rows in the DOM (kept here, since counting the DOM costs a query per frame)

const filterInputs = {
  from: $('filter-from'), to: $('filter-to'), type: $('filter-type'), thread: $('filter-thread'), text: $('filter-text'),
};
let filter = {};

function readFilter() {
  const f = {};
  for (const [key, input] of Object.entries(filterInputs)) {
    const value = input.value.trim().toLowerCase();
    if (value) f[key] = value;
  }
  return f;
}

const has = (value, needle) => value !== undefined && value !== null && String(value).toLowerCase().includes(needle);

/** Built on the first free-text filter only, then kept: most entries are never searched. */
function searchText(entry) {
  if (entry.search === undefined) {
    const parts = entry.kind === 'msg'
      ? [entry.env.id, entry.env.from, entry.env.to, entry.env.rcpt, bodyText(entry.env.body)]
      : [entry.record.id, entry.record.reason, entry.record.error, entry.record.pipe, entry.record.line];
    entry.search = parts.filter((p) => p !== undefined && p !== null).join('\n').toLowerCase();
  }
  return entry.search;
}

/** Substring matches, case-insensitive. `to` also matches the recipient the router chose (rcpt). The type `dead` matches dead letters. */
function matches(entry) {
  const f = filter;
  if (entry.kind === 'gap') return true;  // a gap concerns every filter
  if (entry.kind === 'dead') {            // a line that never became an envelope has no sender, recipient or thread
    if (f.from || f.to || f.thread) return false;
    if (f.type && !'dead'.startsWith(f.type)) return false;
    return !f.text || searchText(entry).includes(f.text);
  }
  const e = entry.env;
  if (f.from && !has(e.from, f.from)) return false;
  if (f.to && !has(e.to, f.to) && !has(e.rcpt, f.to)) return false;
  if (f.type && !has(e.type, f.type) && !(entry.dead && 'dead'.startsWith(f.type))) return false;
  if (f.thread && !has(e.thread, f.thread)) return false;
  return !f.text || searchText(entry).includes(f.text);
}

function messageEntry(m) {
  return { kind: 'msg', offset: m.offset, env: m.envelope && typeof m.envelope === 'object' ? m.envelope : {}, dead: m.dead_letter, row: null };
}

// One template cloned per row: much cheaper than building four spans at 1,000 rows a second.
const msgTemplate = el('div', 'msg');
for (const part of ['time', 'route', 'type', 'body']) msgTemplate.append(el('span', part));

function renderRow(entry) {
  let row;
  if (entry.kind === 'gap') {
    row = el('div', 'gap');
    row.append(el('span', 'gap-text'), el('button', 'gap-load', 'load them'));
    row.lastChild.type = 'button';
  } else {
    row = msgTemplate.cloneNode(true);
    const [time, route, type, body] = row.children;
    if (entry.kind === 'msg') {
      const e = entry.env;
      row.dataset.id = e.id ?? '';
      row.dataset.offset = String(entry.offset);
      time.textContent = clock(e.ts);
      route.textContent = `${e.from ?? '?'} → ${e.to ?? '?'}${e.rcpt ? ` (${e.rcpt})` : ''}`;
      type.textContent = e.type ?? '';
      body.textContent = preview(bodyText(e.body));
      if (entry.dead) markDead(row, body, entry.dead.reason);
    } else {
      const d = entry.record;
      if (d.id) row.dataset.id = d.id;
      time.textContent = clock(d.ts);
      route.textContent = d.pipe ? `pipe ${d.pipe}` : '';
      type.textContent = 'dead';
      body.textContent = preview(String(d.error ?? d.line ?? ''));
      markDead(row, body, d.reason);
    }
    if (entry === selected) row.classList.add('selected');
  }
  entry.row = row;
  rowEntry.set(row, entry);
  if (entry.kind === 'gap') updateGapRow(entry);
  return row;
}

function markDead(row, body, reason) {
  row.classList.add('dead');
  body.prepend(el('span', 'tag', 'DEAD'), el('span', 'reason', reason ?? ''));
}

function updateGapRow(gap) {
  const row = gap.row;
  if (!row) return;
  const what = gap.count === null ? 'Some messages' : plural(gap.count, 'message');
  const dead = gap.dead ? ` and ${plural(gap.dead, 'dead letter')}` : '';
  row.firstChild.textContent = gap.error ?? `${what}${dead} not shown (${gap.why}) — page back to see them`;
  const button = row.lastChild;
  button.hidden = gap.count === 0;
  button.disabled = gap.loading || gap.before === undefined;  // the cursor is the next message's offset
  button.textContent = gap.loading ? 'loading…' : 'load them';
}

const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40;

const firstRow = () => list.firstElementChild?.firstElementChild ?? null;

/** Appends rows at the bottom: the last block is filled up before a new one is started. */
function appendRows(rows) {
  let chunk = list.lastElementChild;
  for (const row of rows) {
    if (!chunk || chunk.childElementCount >= CHUNK) chunk = list.appendChild(el('div', 'chunk'));
    chunk.append(row);
  }
  rowCount += rows.length;
}

function detach(row) {
  const entry = rowEntry.get(row);
  if (entry) entry.row = null;
  if (!row.isConnected) return;
  const chunk = row.parentElement;
  row.remove();
  rowCount--;
  if (chunk && chunk !== list && !chunk.firstElementChild) chunk.remove();
}

/** Drops n rows from the top (oldest) or the bottom (newest). Whole blocks go in one step. */
function dropRows(n, fromTop) {
  while (n > 0 && list.firstElementChild) {
    const chunk = fromTop ? list.firstElementChild : list.lastElementChild;
    if (chunk.childElementCount <= n) {
      for (const row of chunk.children) { const entry = rowEntry.get(row); if (entry) entry.row = null; }
      n -= chunk.childElementCount;
      rowCount -= chunk.childElementCount;
      chunk.remove();
    } else {
      for (; n > 0; n--) detach(fromTop ? chunk.firstElementChild : chunk.lastElementChild);
    }
  }
}

/** Takes live entries (stream, reconnect) in arrival order. */
function acceptLive(batch) {
  if (paused) {
    for (const entry of batch) {
      if (entry.kind === 'msg' && !byOffset.has(entry.offset)) missed.messages++;
      else if (entry.kind === 'dead') missed.dead++;
      else if (entry.kind === 'gap') missed.messages += entry.count ?? 0;
    }
    updateTrafficStatus();
    return;
  }
  for (const entry of batch) {
    if (entry.kind === 'msg') {
      if (byOffset.has(entry.offset)) continue;
      byOffset.set(entry.offset, entry);
      if (entry.offset > lastOffset) lastOffset = entry.offset;
      if (openGap) {
        openGap.before = entry.offset;
        updateGapRow(openGap);
        openGap = null;
      }
    } else if (entry.kind === 'gap') {
      // Consecutive skips under load make one marker, not a column of them.
      if (openGap && openGap.why === entry.why && openGap.count !== null && entry.count !== null) {
        openGap.count += entry.count;
        updateGapRow(openGap);
        continue;
      }
      openGap = entry;
    }
    entries.push(entry);
    if (matches(entry)) pending.push(entry);
  }
  // A background tab gets no animation frames: keep only what could be shown.
  if (pending.length > MAX_ROWS * 2) pending = pending.slice(-MAX_ROWS);
  trimEntries();
  if (pending.length && !frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  const batch = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
  pending = [];
  const follow = atBottom();
  appendRows(batch.map(renderRow));
  const excess = rowCount - MAX_ROWS;
  if (excess > 0) {
    // Keep the rows being read in place when the user has scrolled up
    // (the list has overflow-anchor: none, so this is the only adjustment).
    const height = follow ? 0 : list.scrollHeight;
    dropRows(excess, true);
    if (!follow) list.scrollTop -= height - list.scrollHeight;
    olderButton.disabled = false;  // the dropped rows are still in memory
  }
  if (follow) list.scrollTop = list.scrollHeight;
  updateTrafficStatus();
}

/** Memory is bounded too. Trim in chunks so the array is not spliced for every batch. */
function trimEntries() {
  if (entries.length <= MAX_ENTRIES + 1000) return;
  const dropped = entries.splice(0, entries.length - MAX_ENTRIES);
  let droppedMessage = false;
  for (const entry of dropped) {
    if (entry.row) detach(entry.row);
    if (entry.kind === 'msg') { byOffset.delete(entry.offset); droppedMessage = true; }
    if (entry === openGap) openGap = null;
  }
  // "older" then reloads from the oldest entry kept, with no hole in between.
  const first = entries.find((e) => e.kind === 'msg');
  if (droppedMessage && first) olderBefore = first.offset;
}

/** The newest MAX_ROWS matching entries, from scratch: for a filter change or a resume, never for live events. */
function rebuild() {
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  pending = [];
  const shown = [];
  for (let i = entries.length - 1; i >= 0 && shown.length < MAX_ROWS; i--) if (matches(entries[i])) shown.push(entries[i]);
  for (const entry of entries) entry.row = null;
  list.replaceChildren();
  rowCount = 0;
  appendRows(shown.reverse().map(renderRow));
  list.scrollTop = list.scrollHeight;
  olderButton.disabled = olderBefore === null && shown.length === entries.filter(matches).length;
  updateTrafficStatus();
}

/** Rows above the first one shown, in memory order. Keeps what is on screen in place. */
function prependRows(batch) {
  if (!batch.length) return;
  const height = list.scrollHeight;
  const rows = batch.map(renderRow);
  const fragment = document.createDocumentFragment();
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = el('div', 'chunk');
    chunk.append(...rows.slice(i, i + CHUNK));
    fragment.append(chunk);
  }
  list.prepend(fragment);
  rowCount += rows.length;
  list.scrollTop += list.scrollHeight - height;
  // While the user reads history, the newest rows are the ones to drop.
  if (rowCount > MAX_ROWS) dropRows(rowCount - MAX_ROWS, false);
}

function setPaused(on) {
  if (on === paused) return;
  paused = on;
  pauseButton.textContent = on ? 'resume' : 'pause';
  pauseButton.setAttribute('aria-pressed', String(on));
  list.classList.toggle('paused', on);
  if (!on) {
    if (missed.messages || missed.dead) {
      const gap = { kind: 'gap', count: missed.messages, dead: missed.dead, why: 'paused', row: null };
      missed = { messages: 0, dead: 0 };
      openGap = null;  // a pause marker is its own marker, whatever the last one was
      acceptLive([gap]);
    }
    rebuild();
  }
  updateTrafficStatus();
}

/**
 * Pages back. It first shows the matching entries that are still in memory
 * above the first row, then asks the journal. It pauses the live list, because
 * at high rates the history would otherwise be pushed out of the DOM as it loads.
 */
async function older() {
  setPaused(true);
  const top = firstRow();
  const first = top ? rowEntry.get(top) : undefined;
  const index = first ? entries.indexOf(first) : entries.length;
  const hidden = [];
  for (let i = index - 1; i >= 0 && hidden.length < PAGE; i--) if (matches(entries[i])) hidden.push(entries[i]);
  if (hidden.length) {
    prependRows(hidden.reverse());
    return;
  }
  if (olderBefore === null) {
    olderButton.disabled = true;
    note = 'start of the journal';
    updateTrafficStatus();
    return;
  }
  olderButton.disabled = true;
  note = 'loading older messages…';
  updateTrafficStatus();
  try {
    // With a filter, one page may hold nothing to show: look a few pages further.
    let shown = 0, loaded = 0;
    for (let pages = 0; pages < 10 && shown === 0 && olderBefore !== null; pages++) {
      const cursor = olderBefore !== undefined ? olderBefore : entries.find((e) => e.kind === 'msg')?.offset;
      const data = await api(`/api/messages?limit=${PAGE}${cursor !== undefined ? `&before=${encodeURIComponent(cursor)}` : ''}`);
      const fresh = (data?.messages ?? []).map(messageEntry).filter((e) => !byOffset.has(e.offset));
      for (const entry of fresh) byOffset.set(entry.offset, entry);
      entries = fresh.concat(entries);
      olderBefore = data?.before ?? null;
      const visible = fresh.filter(matches);
      prependRows(visible);
      shown += visible.length;
      loaded += fresh.length;
    }
    note = `${plural(loaded, 'older message')} loaded${shown !== loaded ? `, ${count(shown)} match the filters` : ''}${olderBefore === null ? ' · start of the journal' : ''}`;
  } catch (err) {
    note = `older: ${err.message}`;
  }
  olderButton.disabled = olderBefore === null;
  updateTrafficStatus();
}

/**
 * Fills a gap in place, newest first, one page at a time. The page before the
 * message that follows the gap is exactly what was skipped, and offsets
 * already known mean that the hole is closed.
 */
async function loadGap(gap) {
  if (!gap || gap.loading || gap.before === undefined) return;
  gap.loading = true;
  gap.error = undefined;
  updateGapRow(gap);
  try {
    const limit = gap.count === null ? PAGE : Math.max(1, Math.min(gap.count, PAGE));
    const data = await api(`/api/messages?limit=${limit}&before=${encodeURIComponent(gap.before)}`);
    const got = (data?.messages ?? []).map(messageEntry);
    const fresh = got.filter((e) => !byOffset.has(e.offset));
    for (const entry of fresh) byOffset.set(entry.offset, entry);
    const at = entries.indexOf(gap);
    if (at >= 0) entries.splice(at + 1, 0, ...fresh);
    if (gap.row?.isConnected) {
      const rows = fresh.filter(matches).map(renderRow);
      gap.row.after(...rows);  // into the gap's block, which may grow past CHUNK: a soft limit
      rowCount += rows.length;
      // Keep the cap: drop from the end farther from the rows just loaded.
      if (rowCount > MAX_ROWS) {
        const blocks = [...list.children];
        const fromTop = blocks.indexOf(gap.row.parentElement) >= blocks.length / 2;
        const height = list.scrollHeight;
        dropRows(rowCount - MAX_ROWS, fromTop);
        if (fromTop) list.scrollTop -= height - list.scrollHeight;  // what is on screen stays in place
      }
    }
    if (gap.count !== null) gap.count -= got.length;
    gap.before = data?.before ?? null;
    const closed = fresh.length < got.length || gap.before === null || got.length === 0 || (gap.count !== null && gap.count <= 0);
    if (closed) {
      if (gap.row) detach(gap.row);
      if (at >= 0) entries.splice(entries.indexOf(gap), 1);
      if (openGap === gap) openGap = null;
    }
  } catch (err) {
    gap.error = `could not load them: ${err.message}`;
  }
  gap.loading = false;
  updateGapRow(gap);
}

function updateTrafficStatus() {
  const parts = [`${count(rowCount)} shown`];
  if (Object.keys(filter).length) parts.push('filtered');
  if (paused) parts.push(`paused: ${plural(missed.messages, 'new message')}${missed.dead ? `, ${plural(missed.dead, 'dead letter')}` : ''}`);
  if (note) parts.push(note);
  trafficStatus.textContent = parts.join(' · ');
}

let filterTimer = 0;
for (const input of Object.values(filterInputs)) {
  input.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { filter = readFilter(); note = ''; rebuild(); }, 150);  // wait for the typing to stop
  });
}
$('filter-clear').addEventListener('click', () => {
  for (const input of Object.values(filterInputs)) input.value = '';
  filter = {};
  rebuild();
});
olderButton.addEventListener('click', older);
pauseButton.addEventListener('click', () => { note = ''; setPaused(!paused); });

// Dragging to select text ends in a click as well. That click must not open the detail panel.
const selecting = () => { const s = getSelection(); return Boolean(s && !s.isCollapsed); };

list.addEventListener('click', (ev) => {
  const load = ev.target.closest('.gap-load');
  if (load) { loadGap(rowEntry.get(load.closest('.gap'))); return; }
  const row = ev.target.closest('.msg');
  if (row && !selecting() && rowEntry.has(row)) openDetail(rowEntry.get(row));
});

// -------------------------------------------------------------------- detail

let selected = null;
let detailToken = 0;

async function openDetail(entry) {
  const token = ++detailToken;
  selected?.row?.classList.remove('selected');
  selected = entry;
  entry.row?.classList.add('selected');
  $('detail').hidden = false;
  const dead = entry.kind === 'dead' ? entry.record : entry.dead;
  const deadLine = $('detail-dead');
  deadLine.hidden = !dead;
  deadLine.textContent = dead ? `DEAD ${dead.reason ?? ''}: ${dead.error ?? ''}` : '';
  $('detail-title').textContent = entry.kind === 'dead' ? 'Dead letter' : 'Message';
  $('detail-envelope').textContent = JSON.stringify(entry.kind === 'msg' ? entry.env : entry.record, null, 2);
  const trace = $('detail-trace');
  trace.className = 'muted';
  const id = entry.kind === 'msg' ? entry.env.id : entry.record.id;
  if (!id) { trace.textContent = 'No trace: this line never reached the journal.'; return; }
  trace.textContent = 'loading trace…';
  try {
    const data = await api(`/api/trace/${encodeURIComponent(id)}`);
    if (token !== detailToken) return;  // another row was clicked meanwhile
    trace.className = '';
    trace.replaceChildren(renderTrace(data ?? {}));
  } catch (err) {
    if (token !== detailToken) return;
    trace.className = 'error';
    trace.textContent = `trace: ${err.message}`;
  }
}

function renderTrace(t) {
  const fragment = document.createDocumentFragment();
  if (t.queued) fragment.append(el('p', 'trace-queued', `queued ${clock(t.queued.at)} at offset ${t.queued.offset}`));
  if (t.dead_letter) {
    fragment.append(el('p', 'trace-dead', `dead-lettered ${clock(t.dead_letter.ts)}: ${t.dead_letter.reason ?? ''} — ${t.dead_letter.error ?? ''}`));
  }
  const recipients = Array.isArray(t.recipients) ? t.recipients : [];
  if (!recipients.length) fragment.append(el('p', 'muted', 'no recipients'));
  const ul = el('ul', 'trace-recipients');
  for (const r of recipients) {
    const li = el('li', `recipient trace-${cls(r.state)}`);
    li.dataset.agent = r.agent ?? '';
    li.append(el('div', 'recipient-line', `${r.agent} via ${r.via}: ${r.state}${r.waiting ? ` — waiting: ${r.waiting}` : ''}`));
    if (Array.isArray(r.steps) && r.steps.length) {
      const steps = el('ol', 'steps');
      for (const s of r.steps) {
        const presses = s.presses !== undefined && s.presses !== null ? ` (${plural(s.presses, 'press', 'presses')})` : '';
        steps.append(el('li', 'step', `${clock(s.at)} ${s.stage}${presses}${s.detail ? ` — ${s.detail}` : ''}`));
      }
      li.append(steps);
    }
    ul.append(li);
  }
  fragment.append(ul);
  return fragment;
}

function closeDetail() {
  detailToken++;
  $('detail').hidden = true;
  selected?.row?.classList.remove('selected');
  selected = null;
}
$('detail-close').addEventListener('click', closeDetail);

// -------------------------------------------------------------------- agents

const STATUSES = new Set(['idle', 'busy', 'waiting_input', 'rate_limited', 'compacting', 'dead', 'failed', 'starting', 'alive', 'unknown']);
const agentBody = $('agents-body');
const agentRows = new Map();  // name → tr: rows are updated in place, so a click is not lost in a refresh
let agentsKey = '';

function newAgentRow(name) {
  const row = el('tr', 'agent');
  row.dataset.name = name;
  for (let i = 0; i < 11; i++) row.append(el('td'));
  row.cells[0].className = 'name';
  row.cells[5].className = 'state';
  for (const i of [7, 8, 9]) row.cells[i].className = 'num';
  const button = el('button', 'screen', 'screen');
  button.type = 'button';
  const cell = el('td');
  cell.append(button);
  row.append(cell);
  return row;
}

function renderAgents(agents) {
  const key = JSON.stringify(agents);
  if (key === agentsKey) return;  // snapshots repeat every 2 s, mostly unchanged
  agentsKey = key;
  const seen = new Set();
  for (const a of agents) {
    const name = String(a.name ?? '');
    seen.add(name);
    let row = agentRows.get(name);
    if (!row) agentRows.set(name, (row = newAgentRow(name)));
    const status = STATUSES.has(a.status) ? a.status : 'unknown';
    const task = a.task ? [a.task.id, a.task.title].filter(Boolean).join(' · ') : '';
    const values = [
      name, a.session, a.window, a.role, a.profile, a.status ?? 'unknown', task, count(a.undelivered),
      isNum(a.cpuPercent) ? a.cpuPercent.toFixed(1) : '', isNum(a.rssBytes) ? (a.rssBytes / 1048576).toFixed(0) : '', a.machine,
    ];
    values.forEach((value, i) => {
      const text = value === undefined || value === null ? '' : String(value);
      if (row.cells[i].textContent !== text) row.cells[i].textContent = text;
    });
    row.cells[5].className = `state state-${status}`;
    row.cells[7].classList.toggle('warn', a.undelivered > 0);
    row.title = a.tmux ? `tmux ${typeof a.tmux === 'string' ? a.tmux : JSON.stringify(a.tmux)}` : '';
    agentBody.append(row);  // moves an existing row: the table follows the server's order
  }
  for (const [name, row] of agentRows) {
    if (!seen.has(name)) { row.remove(); agentRows.delete(name); }
  }
  $('agents-empty').hidden = agents.length > 0;
}

agentBody.addEventListener('click', (ev) => {
  const row = ev.target.closest('tr.agent');
  if (row && (ev.target.closest('.screen') || !selecting())) openPane(row.dataset.name);
});

// ---------------------------------------------------------------------- pane

let paneToken = 0;
let paneTimer = 0;

function openPane(name) {
  closePane();
  const token = ++paneToken;
  const screen = $('pane-screen');
  const status = $('pane-status');
  $('pane').hidden = false;
  $('pane').dataset.agent = name;
  $('pane-title').textContent = `Screen: ${name}`;
  screen.textContent = '';
  status.textContent = 'loading…';
  $('pane-close').focus();
  const tick = async () => {
    if (!document.hidden) {  // nobody looks at a hidden tab: do not poll tmux for it
      try {
        const data = await api(`/api/pane/${encodeURIComponent(name)}`);
        if (token !== paneToken) return;
        const text = String(data?.screen ?? '');
        if (screen.textContent !== text) screen.textContent = text;  // an unchanged screen keeps the user's selection
        status.textContent = `updated ${clock(Date.now())}`;
        status.className = 'muted';
      } catch (err) {
        if (token !== paneToken) return;
        status.textContent = err.message;
        status.className = 'error';
      }
    }
    if (token === paneToken) paneTimer = setTimeout(tick, 1000);  // after the answer: requests never pile up
  };
  tick();
}

function closePane() {
  paneToken++;
  clearTimeout(paneTimer);
  $('pane').hidden = true;
}
$('pane-close').addEventListener('click', closePane);

document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  if (!$('pane').hidden) closePane();
  else if (!$('detail').hidden) closeDetail();
});

// --------------------------------------------------------------------- tasks

const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const TASK_STATUSES = new Set(['pending', 'assigned', 'done', 'failed']);
let tasksKey = '';

function renderTasks(tasks) {
  const key = JSON.stringify(tasks);
  if (key === tasksKey) return;
  tasksKey = key;
  const fragment = document.createDocumentFragment();
  for (const priority of PRIORITIES) {
    const group = tasks.filter((t) => (PRIORITIES.includes(t.priority) ? t.priority : 'normal') === priority);
    if (!group.length) continue;
    const section = el('section', `task-group priority-${priority}`);
    section.dataset.priority = priority;
    section.append(el('h3', null, `${priority} (${group.length})`));
    const ul = el('ul');
    for (const t of group) {
      const status = TASK_STATUSES.has(t.status) ? t.status : 'unknown';
      const li = el('li', `task status-${status}`);
      li.dataset.id = t.id ?? '';
      li.append(el('span', 'task-id', t.id), el('span', 'task-title', t.title));
      const readiness = status === 'pending' ? (t.ready ? ' · ready' : ' · not ready') : '';
      li.append(el('span', `task-status tag status-${status}`, `${t.status ?? 'unknown'}${readiness}`));
      if (t.assignee) li.append(el('span', 'task-assignee', `→ ${t.assignee}`));
      const deps = [['waits-on', 'waits on', t.waitingOn], ['blocked-by', 'blocked by', t.blockedBy], ['blocks', 'blocks', t.blocks]];
      for (const [className, label, ids] of deps) {
        if (Array.isArray(ids) && ids.length) li.append(el('span', `task-deps ${className}`, `${label}: ${ids.join(', ')}`));
      }
      ul.append(li);
    }
    section.append(ul);
    fragment.append(section);
  }
  if (!tasks.length) fragment.append(el('p', 'muted', 'no tasks'));
  $('tasks').replaceChildren(fragment);
}

// -------------------------------------------------------------------- events

let eventsKey = '';

function renderEvents(events) {
  const key = JSON.stringify(events);
  if (key === eventsKey) return;
  eventsKey = key;
  const newest = [...events].sort((a, b) => (b.ts ?? 0) - (a.ts ?? 0)).slice(0, MAX_EVENTS);
  const fragment = document.createDocumentFragment();
  for (const e of newest) {
    const li = el('li', `event level-${['info', 'warn', 'error'].includes(e.level) ? e.level : 'info'}`);
    li.dataset.kind = e.kind ?? '';
    li.append(el('span', 'time', clock(e.ts)), el('span', 'source', e.source), el('span', 'kind', e.kind), el('span', 'text', e.text));
    fragment.append(li);
  }
  if (!newest.length) fragment.append(el('li', 'muted', 'no events'));
  $('events').replaceChildren(fragment);
}

// -------------------------------------------------------------------- header

function renderHeader(snap) {
  $('root').textContent = snap.root ?? '';
  const r = snap.router ?? {};
  const router = $('router');
  const details = [r.pid ? `pid ${r.pid}` : '', isNum(r.uptimeMs) ? `up ${duration(r.uptimeMs)}` : ''].filter(Boolean).join(', ');
  router.textContent = r.running ? `router running${details ? ` (${details})` : ''}` : 'router not running';
  router.dataset.running = String(Boolean(r.running));
  $('rate').textContent = isNum(r.ratePerSecond) ? `${r.ratePerSecond.toFixed(1)} msg/s` : '';

  const agents = Array.isArray(snap.agents) ? snap.agents : [];
  const byStatus = new Map();
  for (const a of agents) byStatus.set(a.status ?? 'unknown', (byStatus.get(a.status ?? 'unknown') ?? 0) + 1);
  const tasks = Array.isArray(snap.tasks) ? snap.tasks : [];
  const byTask = new Map();
  for (const t of tasks) byTask.set(t.status ?? 'unknown', (byTask.get(t.status ?? 'unknown') ?? 0) + 1);
  const dead = r.deadLettered ?? r.deadLetters;  // the monitor's own snapshot calls it deadLetters
  const parts = [
    `${plural(agents.length, 'agent')}${byStatus.size ? ` (${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}`,
    `${plural(tasks.length, 'task')}${byTask.size ? ` (${[...byTask].map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}`,
    [isNum(r.accepted) ? `accepted ${count(r.accepted)}` : '', isNum(r.delivered) ? `delivered ${count(r.delivered)}` : '',
      isNum(dead) ? `dead-lettered ${count(dead)}` : ''].filter(Boolean).join(' · '),
    Array.isArray(snap.limits) ? snap.limits.join(' · ') : '',
  ];
  $('counts').textContent = parts.filter(Boolean).join(' | ');
}

let namesKey = '';

/** The send box's suggestions: every agent, everyone, and each role. */
function renderNames(agents) {
  const roles = [...new Set(agents.map((a) => a.role).filter(Boolean))].map((role) => `role:${role}`);
  const names = ['*', ...agents.map((a) => String(a.name ?? '')).filter(Boolean), ...roles];
  const key = names.join('\n');
  if (key === namesKey) return;
  namesKey = key;
  $('send-to-options').replaceChildren(...names.map((value) => Object.assign(document.createElement('option'), { value })));
}

let lastSnapshotAt = 0;

function renderSnapshot(snap) {
  if (!snap || typeof snap !== 'object') return;
  lastSnapshotAt = Date.now();
  const agents = Array.isArray(snap.agents) ? snap.agents : [];
  renderHeader(snap);
  renderAgents(agents);
  renderNames(agents);
  renderTasks(Array.isArray(snap.tasks) ? snap.tasks : []);
  renderEvents(Array.isArray(snap.events) ? snap.events : []);
}

// ---------------------------------------------------------------------- send

const sendForm = $('send');
const sendResult = $('send-result');

function showSendResult(state, text) {
  sendResult.dataset.state = state;
  sendResult.className = state === 'error' ? 'error' : state === 'ok' ? 'ok' : 'muted';
  sendResult.textContent = text;
}

sendForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const to = $('send-to').value.trim();
  const from = $('send-from').value.trim();
  const body = $('send-body').value;
  if (!to) { showSendResult('error', 'to: an agent, *, or role:…'); return; }
  if (!body.trim()) { showSendResult('error', 'the body is empty'); return; }
  const button = $('send-button');
  button.disabled = true;
  showSendResult('sending', 'sending…');
  try {
    const data = await api('/api/send', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(from ? { to, body, from } : { to, body }),
    });
    $('send-body').value = '';
    showSendResult('ok', `sent ${data?.id ?? ''}`.trim());
  } catch (err) {
    showSendResult('error', err.message);
  } finally {
    button.disabled = false;
  }
});

$('send-body').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); sendForm.requestSubmit(); }
});

// -------------------------------------------------------------------- stream
//
// The stream is opened before the first page of messages is asked for, so
// nothing falls between the two. Stream events that come in while a page is
// loading are held, then applied, and duplicates are dropped by offset. The
// same sync runs after a reconnect, to catch up on what was sent meanwhile.

let syncing = false;
let held = [];
let streamDown = false;

async function sync() {
  if (syncing) return;
  syncing = true;
  const first = lastOffset === -Infinity;
  try {
    const data = await api(`/api/messages?limit=${PAGE}`);
    const got = (data?.messages ?? []).map(messageEntry);
    if (first && olderBefore === undefined) olderBefore = data?.before ?? null;
    const newer = got.filter((e) => e.offset > lastOffset);
    // After a reconnect, if nothing we already had came back, more was sent than one page holds.
    if (!first && newer.length && newer.length === got.length && data?.before !== null) {
      newer.unshift({ kind: 'gap', count: null, why: 'reconnect', row: null });
    }
    acceptLive(newer);
    if (first) olderButton.disabled = olderBefore === null;
  } catch (err) {
    note = `could not load messages: ${err.message}`;
    updateTrafficStatus();
    if (first) setTimeout(sync, 3000);
  } finally {
    syncing = false;
    const queued = held;
    held = [];
    for (const [type, data] of queued) onStream(type, data);
  }
}

function onStream(type, data) {
  if (syncing && type !== 'snapshot') { held.push([type, data]); return; }
  if (type === 'messages' && Array.isArray(data)) acceptLive(data.map(messageEntry));
  else if (type === 'dead' && Array.isArray(data)) acceptLive(data.map((record) => ({ kind: 'dead', record: record ?? {}, row: null })));
  else if (type === 'gap') acceptLive([{ kind: 'gap', count: Number(data?.count) || 0, why: 'load', row: null }]);
  else if (type === 'snapshot') renderSnapshot(data);
}

function setStreamState(state, text) {
  const node = $('stream-state');
  node.dataset.state = state;
  node.textContent = `stream: ${text}`;
}

function connect() {
  setStreamState('connecting', 'connecting…');
  const source = new EventSource('/api/stream');
  source.addEventListener('open', () => {
    setStreamState('live', 'live');
    if (streamDown) { streamDown = false; sync(); }
  });
  source.addEventListener('error', () => {
    streamDown = true;
    if (source.readyState === EventSource.CLOSED) {
      // The browser gives up for good on an HTTP error (an expired cookie, a server restart mid-response): retry ourselves.
      source.close();
      setStreamState('closed', 'disconnected, retrying in 5 s');
      setTimeout(connect, 5000);
    } else {
      setStreamState('reconnecting', 'reconnecting…');
    }
  });
  for (const type of ['messages', 'dead', 'gap', 'snapshot']) {
    source.addEventListener(type, (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      onStream(type, data);
    });
  }
}

// Snapshots normally come through the stream every ~2 s. When the stream is down, they are polled instead.
function pollSnapshot() {
  api('/api/snapshot').then(renderSnapshot, () => { /* the stream state already tells */ });
}
setInterval(() => { if (Date.now() - lastSnapshotAt > 5000 && !document.hidden) pollSnapshot(); }, 2000);

filter = readFilter();  // the browser may have restored the inputs' values
updateTrafficStatus();
connect();
pollSnapshot();
sync();
