import { agentStateOf } from '../agents/agent-state.js';
import { readReportedState } from '../agents/agent-state-store.js';
import type { AgentState } from '../agents/profile-types.js';
import { readScreenStates } from '../agents/screen-state.js';
import fs from 'node:fs';
import { unlessFsRace } from '../bus/errors.js';
import type { Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type AgentRecord } from '../bus/registry.js';
import { countUndelivered } from '../client/backlog.js';
import { readJournal } from '../journal/reader.js';
import { journalEnd, journalStart } from '../journal/segments.js';
import { readLiveRouterStatus } from '../router/router-status.js';
import { findPane, listPanes } from '../tmux/pane-list.js';
import { tryTmux } from '../tmux/plain.js';
import { ProcessTreeSampler } from './proc-stats.js';
import { listTasks } from './tasks.js';
import { formatLimits, teamLimitReports } from './team-limits.js';
import type { MonitorAgent, MonitorAgentStatus, MonitorEvent, MonitorSnapshot } from './monitor-view.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';

/**
 * Gathers what the monitor shows, once per refresh: agents (registry, their
 * panes, undelivered counts, CPU and memory of each pane's process tree),
 * tasks, the router's counters and message rate, dead letters, and the latest
 * `event` messages. Keeps what it needs between refreshes (the previous
 * counters for the rate, CPU samples, its place in the journal and the
 * dead-letter log), so each refresh reads only what is new.
 */
export class MonitorSampler {
  private readonly layout: Layout;
  private readonly socket: string | undefined;
  private readonly cpu = new ProcessTreeSampler();
  private lastAccepted: { value: number; at: number; pid: number } | undefined;
  private events: MonitorEvent[] = [];
  private journalOffset: number | undefined;
  private deadLetters = { offset: 0, count: 0, ino: 0 };
  private readonly maxEvents: number;

  constructor(layout: Layout, options: { socket?: string | undefined; maxEvents?: number } = {}) {
    this.layout = layout;
    this.socket = options.socket;
    this.maxEvents = options.maxEvents ?? 100;
  }

  async snapshot(): Promise<MonitorSnapshot> {
    const now = Date.now();
    const registry = readRegistry(this.layout);
    const router = readLiveRouterStatus(this.layout);
    const offline = router ? undefined : countUndelivered(this.layout, registry);
    const tasks = listTasks(this.layout);
    const panes = await this.panes(registry.agents);
    const screens = await readScreenStates(this.layout, Object.values(registry.agents), this.socket);
    const holding = new Map(tasks.filter((t) => t.status === 'assigned' && t.assignee).map((t) => [t.assignee!, { id: t.id, title: t.title }]));

    const agents: MonitorAgent[] = Object.values(registry.agents)
      .map((agent): MonitorAgent => {
        const pane = agent.tmux ? panes.get(agent.name) : undefined;
        const stats = pane?.pid && !pane.dead ? this.cpu.sample(pane.pid) : undefined;
        const task = holding.get(agent.name);
        return {
          name: agent.name,
          ...(pane?.session ? { session: pane.session } : {}),
          ...(pane?.window ? { window: pane.window } : {}),
          ...(agent.role ? { role: agent.role } : {}),
          status: statusOf(this.layout, agent, pane, task !== undefined, screens.get(agent.name)?.state),
          ...(task ? { task } : {}),
          undelivered: router?.agents[agent.name]?.undelivered ?? offline?.[agent.name] ?? 0,
          ...(stats?.alive && stats.cpuPercent !== undefined ? { cpuPercent: stats.cpuPercent } : {}),
          ...(stats?.alive ? { rssBytes: stats.rssBytes } : {}),
        };
      })
      .sort((a, b) => (a.session ?? '~').localeCompare(b.session ?? '~') || a.name.localeCompare(b.name));
    this.cpu.retain([...panes.values()].flatMap((p) => (p.pid ? [p.pid] : [])));

    let ratePerSecond: number | undefined;
    if (router) {
      const last = this.lastAccepted;
      // A new router counts from zero: no rate across a restart.
      if (last && last.pid === router.pid && now > last.at) ratePerSecond = Math.max(0, ((router.accepted - last.value) * 1000) / (now - last.at));
      this.lastAccepted = { value: router.accepted, at: now, pid: router.pid };
    } else this.lastAccepted = undefined;

    this.readEvents();
    return {
      now,
      root: this.layout.root,
      router: {
        running: Boolean(router),
        ...(router ? { pid: router.pid, uptimeMs: now - Date.parse(router.started), accepted: router.accepted, delivered: router.delivered } : {}),
        ...(ratePerSecond !== undefined ? { ratePerSecond } : {}),
        deadLetters: this.countDeadLetters(),
      },
      agents,
      tasks: tasks
        .filter((t) => t.status === 'pending' || t.status === 'assigned' || t.status === 'failed')
        .map((t) => ({
          id: t.id, title: t.title, priority: t.priority, status: t.status, ready: t.ready,
          ...(t.assignee ? { assignee: t.assignee } : {}), waitingOn: t.waitingOn, blockedBy: t.blockedBy, blocks: t.blocks,
        })),
      events: [...this.events],
      ...limitsOf(this.layout),
    };
  }

  /** Every registered agent's pane: session, pid, dead — one `list-panes -a` per tmux server. */
  private async panes(agents: Record<string, AgentRecord>): Promise<Map<string, PaneFacts>> {
    const out = new Map<string, PaneFacts>();
    const sockets = new Set<string>();
    for (const a of Object.values(agents)) if (a.tmux) sockets.add(a.tmux_socket ?? this.socket ?? '');
    for (const socket of sockets) {
      const panes = await listPanes((args) => tryTmux(args, { socket: socket || undefined, timeoutMs: 3000 }));
      if (panes === undefined) continue;
      for (const a of Object.values(agents)) {
        if (!a.tmux || (a.tmux_socket ?? this.socket ?? '') !== socket) continue;
        const pane = findPane(panes, a.tmux);
        if (pane) out.set(a.name, { session: pane.session, window: pane.windowName, pid: pane.pid, dead: pane.dead });
        else out.set(a.name, { missing: true, dead: true });
      }
    }
    return out;
  }

  /** Reads `event` messages appended to the journal since the last refresh (the last 1 MiB the first time). */
  private readEvents(): void {
    const dir = this.layout.journalDir;
    const end = journalEnd(dir);
    if (this.journalOffset === undefined || this.journalOffset > end) this.journalOffset = Math.max(journalStart(dir), end - 1024 * 1024);
    let from = this.journalOffset;
    while (from < end) {
      const { lines, next } = readJournal(dir, from, 1024 * 1024, end);
      for (const { line } of lines) {
        // Starting mid-file the first line may be a fragment: JSON.parse drops it below.
        if (!line.includes('"event"')) continue;
        const envelope = parseJsonOrUndefined<Envelope>(line);
        if (envelope?.type === 'event') this.events.push(eventOf(envelope));
      }
      if (next === from) break;
      from = next;
    }
    this.journalOffset = from;
    if (this.events.length > this.maxEvents) this.events = this.events.slice(-this.maxEvents);
  }

  /** Lines in the dead-letter log, counted incrementally. */
  private countDeadLetters(): number {
    const fd = unlessFsRace(() => fs.openSync(this.layout.deadLetterFile, 'r'), undefined, ['ENOENT']);
    if (fd === undefined) return 0;
    try {
      const st = fs.fstatSync(fd);
      // Truncated or replaced (pruned): count again from the start.
      if (st.ino !== this.deadLetters.ino || st.size < this.deadLetters.offset) this.deadLetters = { offset: 0, count: 0, ino: st.ino };
      const buffer = Buffer.allocUnsafe(64 * 1024);
      while (this.deadLetters.offset < st.size) {
        const got = fs.readSync(fd, buffer, 0, buffer.length, this.deadLetters.offset);
        if (got <= 0) break;
        for (let i = 0; i < got; i++) if (buffer[i] === 0x0a) this.deadLetters.count++;
        this.deadLetters.offset += got;
      }
      return this.deadLetters.count;
    } finally {
      fs.closeSync(fd);
    }
  }
}

interface PaneFacts {
  session?: string;
  window?: string;
  pid?: number | undefined;
  dead: boolean;
  missing?: boolean;
}

function statusOf(layout: Layout, agent: AgentRecord, pane: PaneFacts | undefined, hasTask: boolean, screen: AgentState | undefined): MonitorAgentStatus {
  if (pane?.dead) return 'dead';
  // The one state rule (supervisor, the agent's hooks, its screen) where it knows; the pane and the task queue otherwise.
  const known = agentStateOf(agent, readReportedState(layout, agent.name), screen);
  if (known) return known.state;
  if (agent.status === 'idle') return 'idle';
  if (hasTask) return 'busy';
  if (pane || agent.status === 'running') return 'alive';
  return 'unknown';
}

/**
 * An `event` message as one monitor line. Bodies vary by source; the common
 * shapes are `{ event | kind, agent, text | message | reason, level }` or a
 * plain string.
 */
export function eventOf(envelope: Envelope): MonitorEvent {
  const ts = Date.parse(envelope.ts) || Date.now();
  const body = envelope.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ts, source: envelope.from, kind: 'event', text: typeof body === 'string' ? body : JSON.stringify(body) ?? '' };
  }
  const b = body as Record<string, unknown>;
  const kind = String(b.event ?? b.kind ?? b.type ?? 'event');
  const main = b.text ?? b.message ?? b.reason ?? b.detail;
  const rest = Object.entries(b)
    .filter(([k]) => !['event', 'kind', 'type', 'text', 'message', 'reason', 'detail', 'level', 'ts'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const text = [...(main !== undefined ? [String(main)] : []), ...rest].join(' ');
  const level = b.level === 'info' || b.level === 'warn' || b.level === 'error' ? b.level : guessLevel(kind);
  return { ts, source: envelope.from, kind, text, ...(level ? { level } : {}) };
}

function guessLevel(kind: string): 'warn' | 'error' | undefined {
  if (/fail|dead|crash|error/i.test(kind)) return 'error';
  if (/limit|unconfirmed|restart|idle|warn/i.test(kind)) return 'warn';
  return undefined;
}

function limitsOf(layout: Layout): { limits?: string[] } {
  const teams = teamLimitReports(layout);
  return teams.length > 0 ? { limits: teams.map((t) => `${t.name}: ${formatLimits(t)}`) } : {};
}
