import type { AgentState } from '../agents/profile-types.js';
import { formatBytes, formatDuration, formatRate } from '../bus/human-format.js';
import { displayWidth, fit, sanitize, truncate } from '../bus/text-cells.js';
import { columnWidths, layRow, type TableColumn } from '../bus/text-table.js';
import { PRIORITIES, PRIORITY_RANK, type Priority, type TaskStatus } from './task-model.js';

/**
 * The monitor screen as a pure function of a snapshot: `bmad-bus monitor`
 * gathers a MonitorSnapshot every second and prints what `renderMonitor`
 * returns. Exactly `height` lines of exactly `width` columns, so a redraw
 * overwrites the previous frame without flicker and never scrolls (80x24 over
 * ssh included). Text from agents is sanitized: no escape sequence of theirs
 * reaches the terminal.
 */

/** The agent states (agents/agent-state.ts), plus `alive` (a pane, nothing more known) and `unknown`. */
export type MonitorAgentStatus = AgentState | 'alive' | 'unknown';

export interface MonitorAgent {
  name: string;
  session?: string;
  /** The name of its pane's window. */
  window?: string;
  role?: string;
  status: MonitorAgentStatus;
  /** The task it holds, if any. */
  task?: { id: string; title: string };
  /** Messages accepted for it and not yet given to it. */
  undelivered: number;
  /** Of its pane's process tree; undefined when unknown (no pane, first sample). */
  cpuPercent?: number;
  rssBytes?: number;
}

/** A task as the monitor shows it (a TaskView from tasks.ts fits). */
export interface MonitorTask {
  id: string;
  title: string;
  priority: Priority;
  status: TaskStatus;
  assignee?: string;
  ready: boolean;
  waitingOn?: string[];
  blockedBy?: string[];
  blocks?: string[];
}

export interface MonitorEvent {
  /** ms since the epoch. */
  ts: number;
  /** Who reported it (`supervisor`, `scheduler`...). */
  source: string;
  /** restart, failed, idle, limit, scale... */
  kind: string;
  text: string;
  level?: 'info' | 'warn' | 'error';
}

export interface MonitorRouter {
  running: boolean;
  pid?: number;
  uptimeMs?: number;
  /** Messages accepted per second, over the caller's last interval. */
  ratePerSecond?: number;
  accepted?: number;
  delivered?: number;
  deadLetters: number;
}

export interface MonitorSnapshot {
  /** When it was taken, ms since the epoch. */
  now: number;
  root?: string;
  router: MonitorRouter;
  agents: MonitorAgent[];
  /** Unfinished tasks (pending, assigned, failed); finished ones are left out by the caller or skipped here. */
  tasks: MonitorTask[];
  /** Oldest first; the screen shows the latest that fit. */
  events: MonitorEvent[];
  /** The teams' agents against their session limits (`agents 4/10 · project web 2/3`), one text per team. */
  limits?: string[];
}

export interface RenderOptions {
  width: number;
  height: number;
  color?: boolean;
  /** How a time is shown; default local HH:MM:SS. */
  clock?: (ms: number) => string;
}

type Style = 'bold' | 'dim' | 'green' | 'yellow' | 'red' | 'cyan' | 'inverse' | 'boldred';
const SGR: Record<Style, string> = { bold: '1', dim: '2', green: '32', yellow: '33', red: '31', cyan: '36', inverse: '7', boldred: '1;31' };

/** A cell of exactly its column's width, and how to paint it. */
interface Cell {
  text: string;
  style?: Style | undefined;
}
type Line = Cell[];

const STATUS_STYLE: Record<MonitorAgentStatus, Style | undefined> = {
  alive: 'green', busy: 'cyan', idle: 'yellow', dead: 'red', starting: 'yellow', failed: 'boldred', unknown: 'dim',
  waiting_input: 'boldred', rate_limited: 'red', compacting: 'cyan',
};
const PRIORITY_STYLE: Record<Priority, Style | undefined> = { critical: 'boldred', high: 'yellow', normal: undefined, low: 'dim' };
const LEVEL_STYLE = { info: undefined, warn: 'yellow', error: 'red' } as const;

/**
 * Renders one frame.
 *
 * @example
 * process.stdout.write('\x1b[H' + renderMonitor(snapshot, { width: 80, height: 24, color: true }).join('\n'));
 */
export function renderMonitor(snapshot: MonitorSnapshot, options: RenderOptions): string[] {
  const width = Math.max(1, Math.floor(options.width));
  const height = Math.max(0, Math.floor(options.height));
  const clock = options.clock ?? localClock;
  const tasks = snapshot.tasks
    .map((task, index) => ({ task, index }))
    .filter(({ task }) => task.status === 'pending' || task.status === 'assigned' || task.status === 'failed')
    .sort((a, b) => PRIORITY_RANK[a.task.priority] - PRIORITY_RANK[b.task.priority] || a.index - b.index)
    .map(({ task }) => task);

  const top: Line[] = [titleLine(snapshot, width, clock), routerLine(snapshot.router, width)];
  const agentHeader = agentColumns(snapshot.agents, width);
  // Rows left for the three lists: the two top lines, three section rules, the agents' column header, the footer.
  const budget = Math.max(0, height - top.length - 3 - 1 - 1);
  const [agentRows, taskRows, eventRows] = share(budget, [snapshot.agents.length, tasks.length, snapshot.events.length]);

  const lines: Line[] = [
    ...top,
    rule(`Agents (${snapshot.agents.length})${snapshot.limits?.length ? ` · limits ${snapshot.limits.join('; ')}` : ''}`, width),
    agentHeader.header,
    ...limited(snapshot.agents, agentRows!, width, 'head', agentHeader.row),
    rule(taskSummary(tasks), width),
    ...limited(tasks, taskRows!, width, 'head', (t) => taskLine(t, width)),
    rule(`Events (${snapshot.events.length})`, width),
    ...limited(snapshot.events, eventRows!, width, 'tail', (e) => eventLine(e, width, clock)),
  ];
  const footer: Line = [{ text: fit(' q quit', width), style: 'dim' }];
  const body = lines.slice(0, Math.max(0, height - 1));
  while (body.length < height - 1) body.push([{ text: ' '.repeat(width) }]);
  const out = height > 0 ? [...body, footer] : [];
  return out.map((line) => paint(line, options.color === true));
}

/** Shares `rows` among lists needing `needs` rows: one each in turn while any still needs more. */
export function share(rows: number, needs: number[]): number[] {
  const got = needs.map(() => 0);
  let left = rows;
  while (left > 0) {
    let gave = false;
    for (let i = 0; i < needs.length && left > 0; i++) {
      if (got[i]! < needs[i]!) {
        got[i]!++;
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  return got;
}

/** At most `rows` lines of `items`; when some do not fit, one line says how many are hidden. */
function limited<T>(items: readonly T[], rows: number, width: number, keep: 'head' | 'tail', render: (item: T) => Line): Line[] {
  if (rows <= 0) return [];
  if (items.length <= rows) return items.map(render);
  const shown = rows - 1;
  const hidden = items.length - shown;
  const more: Line = [{ text: fit(keep === 'head' ? `  … ${hidden} more` : `  … ${hidden} earlier`, width), style: 'dim' }];
  return keep === 'head' ? [...items.slice(0, shown).map(render), more] : [more, ...items.slice(items.length - shown).map(render)];
}

function titleLine(s: MonitorSnapshot, width: number, clock: (ms: number) => string): Line {
  const right = ` ${clock(s.now)} `;
  const left = ` bmad-bus monitor${s.root ? `  ${sanitize(s.root)}` : ''}`;
  const leftWidth = Math.max(0, width - displayWidth(right));
  if (leftWidth === 0) return [{ text: fit(right, width), style: 'inverse' }];
  return [{ text: fit(left, leftWidth) + right, style: 'inverse' }];
}

function routerLine(r: MonitorRouter, width: number): Line {
  const state: Cell = r.running
    ? { text: `router up${r.uptimeMs !== undefined ? ` ${formatDuration(r.uptimeMs)}` : ''}${r.pid ? ` pid ${r.pid}` : ''}`, style: 'green' }
    : { text: 'router DOWN', style: 'boldred' };
  // Most telling first: on a narrow screen the totals are what gets cut.
  const parts: Cell[] = [
    state,
    { text: `  ${r.ratePerSecond !== undefined ? formatRate(r.ratePerSecond) : '-'} msg/s` },
    { text: `  dead letters ${r.deadLetters}`, style: r.deadLetters > 0 ? 'red' : undefined },
    { text: `  accepted ${r.accepted ?? '-'}  delivered ${r.delivered ?? '-'}` },
  ];
  return squeeze([{ text: ' ' }, ...parts], width);
}

function rule(title: string, width: number): Line {
  const head = `── ${title} `;
  return [{ text: fit(head + '─'.repeat(Math.max(0, width - displayWidth(head))), width), style: 'bold' }];
}

const AGENT_COLUMNS = ['session', 'agent', 'role', 'status', 'task', 'undelivered', 'cpu', 'mem'] as const;
type AgentColumn = (typeof AGENT_COLUMNS)[number];

/** The agents' columns for this width: the task column takes what is left; session and role go first when narrow. */
function agentColumns(agents: readonly MonitorAgent[], width: number): { header: Line; row: (a: MonitorAgent) => Line } {
  const hasSession = agents.some((a) => a.session);
  const spec: Record<AgentColumn, TableColumn & { value: (a: MonitorAgent) => Cell }> = {
    session: { header: 'SESSION', maxWidth: 14, ...(hasSession ? {} : { width: 0 }), value: (a) => ({ text: sanitize(a.session ?? '-') }) },
    agent: { header: 'AGENT', maxWidth: 16, value: (a) => ({ text: a.name }) },
    role: { header: 'ROLE', maxWidth: 10, value: (a) => ({ text: a.role ?? '-' }) },
    status: { header: 'STATUS', maxWidth: 13, value: (a) => ({ text: a.status, style: STATUS_STYLE[a.status] }) },
    task: { header: 'TASK', width: 0, value: (a) => ({ text: a.task ? `${a.task.id} ${sanitize(a.task.title)}` : '-' }) },
    undelivered: { header: 'UNDEL', width: 5, align: 'right', value: (a) => ({ text: String(a.undelivered), style: a.undelivered > 0 ? 'yellow' : undefined }) },
    cpu: { header: 'CPU', width: 4, align: 'right', value: (a) => ({ text: a.cpuPercent !== undefined ? `${Math.round(a.cpuPercent)}%` : '-' }) },
    mem: { header: 'MEM', width: 5, align: 'right', value: (a) => ({ text: a.rssBytes !== undefined ? formatBytes(a.rssBytes) : '-' }) },
  };
  const columns = AGENT_COLUMNS.map((key) => spec[key]);
  // Measured on what the rows show (`-` for a missing role or session).
  const widths = columnWidths(columns, agents.map((a) => columns.map((c) => c.value(a).text)));
  const at = (key: AgentColumn) => AGENT_COLUMNS.indexOf(key);
  // A leading space, and one after every shown column.
  const used = () => widths.reduce((n, w) => n + (w > 0 ? w + 1 : 0), 1);
  // Narrow screens lose the session, then the role, then cut the agent name.
  for (const name of ['session', 'role'] as const) if (width - used() < 12) widths[at(name)] = 0;
  if (width - used() < 8) widths[at('agent')] = Math.max(6, widths[at('agent')]! - (8 - (width - used())));
  widths[at('task')] = Math.max(0, width - used() - 1);
  if (widths[at('task')]! < 6) widths[at('task')] = 0; // a task cut to a few columns says nothing
  const line = (values: readonly Cell[]): Line => {
    const cells: Line = [{ text: ' ' }];
    for (const laid of layRow(columns, widths, values.map((v) => v.text))) cells.push({ text: laid.text, style: values[laid.column]!.style }, { text: ' ' });
    return squeeze(cells, width);
  };
  const header = line(columns.map((c) => ({ text: c.header, style: 'dim' as Style })));
  const row = (a: MonitorAgent): Line => line(columns.map((c) => c.value(a)));
  return { header, row };
}

function taskSummary(tasks: readonly MonitorTask[]): string {
  const count = (p: (t: MonitorTask) => boolean) => tasks.filter(p).length;
  const queued = PRIORITIES.map((p) => `${p} ${count((t) => t.status === 'pending' && t.priority === p)}`).join(' · ');
  return `Tasks: ${queued} · assigned ${count((t) => t.status === 'assigned')} · failed ${count((t) => t.status === 'failed')}`;
}

function taskLine(t: MonitorTask, width: number): Line {
  let state: Cell;
  if (t.status === 'assigned') state = { text: `→ ${t.assignee ?? '?'}`, style: 'cyan' };
  else if (t.status === 'failed') state = { text: 'FAILED', style: 'red' };
  else if (t.blockedBy && t.blockedBy.length > 0) state = { text: `blocked ${t.blockedBy.join(',')}`, style: 'red' };
  else if (!t.ready) state = { text: `waits ${(t.waitingOn ?? []).join(',')}`, style: 'dim' };
  else state = { text: 'ready', style: 'green' };
  const blocks = t.blocks && t.blocks.length > 0 ? ` [blocks ${t.blocks.join(',')}]` : '';
  return squeeze(
    [
      { text: ' ' },
      { text: fit(t.priority, 9), style: PRIORITY_STYLE[t.priority] },
      { text: fit(t.id, 6) },
      { text: fit(state.text, 14), style: state.style },
      { text: sanitize(t.title) },
      { text: blocks, style: 'yellow' },
    ],
    width,
  );
}

function eventLine(e: MonitorEvent, width: number, clock: (ms: number) => string): Line {
  return squeeze(
    [
      { text: ` ${clock(e.ts)} `, style: 'dim' },
      { text: `${sanitize(e.source)} ` },
      { text: `${sanitize(e.kind)} `, style: e.level ? LEVEL_STYLE[e.level] : undefined },
      { text: sanitize(e.text) },
    ],
    width,
  );
}

/** Cuts a line of cells to `width` columns (the last visible cell ends in `…`) and pads it to exactly `width`. */
function squeeze(cells: Line, width: number): Line {
  const out: Line = [];
  let used = 0;
  for (const cell of cells) {
    const w = displayWidth(cell.text);
    if (used + w <= width) {
      out.push(cell);
      used += w;
      continue;
    }
    const room = width - used;
    if (room > 0) {
      const cut = truncate(cell.text, room);
      out.push({ text: cut, style: cell.style });
      used += displayWidth(cut);
    }
    break;
  }
  if (used < width) out.push({ text: ' '.repeat(width - used) });
  return out;
}

function paint(line: Line, color: boolean): string {
  if (!color) return line.map((c) => c.text).join('');
  return line.map((c) => (c.style ? `\x1b[${SGR[c.style]}m${c.text}\x1b[0m` : c.text)).join('');
}

function localClock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
