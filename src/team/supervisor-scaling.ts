import { UnknownAgentError } from '../bus/errors.js';
import { addAgent, readRegistry, removeAgent, type AgentRecord } from '../bus/registry.js';
import type { ReplyTimes } from './reply-times.js';
import { restorePromptOf } from './restore-prompt.js';
import { pickScaleDown, planScaling, scaledAgentName, type ScalingAction, type ScalingAgent } from './scaling.js';
import type { SupervisorContext } from './supervisor-context.js';
import type { SupervisorHealth } from './supervisor-health.js';
import { createPane, killWindow, paneStartOf, windowNameOf } from './supervisor-panes.js';
import { readSupervisorState, updateSupervisorState, updateTeamRecord, type ScaledAgent } from './supervisor-state.js';
import { recordPane } from './supervisor-team-record.js';
import type { Watch } from './supervisor-watch.js';
import { viewTasks } from './task-model.js';
import { readTasks } from './tasks.js';

/**
 * The scaling part of the supervisor: every `scaling_rules.interval` it
 * measures the team, lets `planScaling` (scaling.ts, pure) decide, and acts:
 * starts agents from templates in panes of their own, stops the ones it
 * started, and says so on the bus.
 */
export class SupervisorScaling {
  private readonly ctx: SupervisorContext;
  private readonly health: SupervisorHealth;
  private readonly replies: ReplyTimes;
  /** 0: the first pass scales at once. */
  private lastAt = 0;
  /** The session_limits refusals already told, so a team at its limit says so once, not every interval. */
  private refusedTold = new Set<string>();

  constructor(ctx: SupervisorContext, health: SupervisorHealth, replies: ReplyTimes) {
    this.ctx = ctx;
    this.health = health;
    this.replies = replies;
  }

  /** True when the topology has rules and a scaling interval has passed; the next interval counts from now. */
  due(now: number): boolean {
    if (!this.ctx.options.topology.scaling_rules || now - this.lastAt < this.ctx.options.scalingIntervalMs) return false;
    this.lastAt = now;
    return true;
  }

  async scale(): Promise<void> {
    const { options } = this.ctx;
    const rules = options.topology.scaling_rules!;
    const now = Date.now();
    const views = viewTasks(readTasks(this.ctx.layout).tasks);
    const agents = this.measure(now, views);
    this.replies.clearAnswered();
    const plan = planScaling({
      rules, templates: options.topology.templates, agents, ready: views.filter((t) => t.ready), minAgeMs: options.scalingIntervalMs,
      limits: options.topology.resource_management.session_limits,
    });
    for (const reason of plan.skipped) this.ctx.logOnce(`scaling: ${reason}`);
    const told = new Set<string>();
    for (const r of plan.refused) {
      const key = `${r.type}\0${r.limit}\0${r.project ?? ''}\0${r.count}`;
      told.add(key);
      if (this.refusedTold.has(key)) continue;
      await this.ctx.announce({ event: 'limit_refused', what: 'scale_up', limit: r.limit, count: r.count, max: r.max, ...(r.project ? { project: r.project } : {}) });
    }
    this.refusedTold = told;
    for (const action of plan.actions) {
      await this.ctx.guard(`scaling ${action.kind}`, () =>
        action.kind === 'spawn' ? this.spawn(action) : this.stop(action.agent, { type: action.type, metric: action.metric, value: action.value, threshold: action.threshold }));
    }
  }

  /** out_of_memory: stops the idlest scaled agent of the lowest priority (not `except`); which one, or why none. */
  async scaleDownOne(except: string, why: { metric: string; value: number; threshold: number }): Promise<{ stopped: string } | { none: string }> {
    const pick = pickScaleDown(this.measure(Date.now(), viewTasks(readTasks(this.ctx.layout).tasks)), except);
    if (!pick) return { none: 'no agent started by scaling is free to stop' };
    await this.stop(pick.name, { type: pick.type, ...why });
    return { stopped: pick.name };
  }

  /** cleanup: a scaled agent idle for idle_timeout is stopped; true when `name` was one. */
  async stopIdle(name: string, idleMs: number): Promise<boolean> {
    const entry = readSupervisorState(this.ctx.layout).scaled[name];
    if (!entry) return false;
    if (readTasks(this.ctx.layout).tasks.some((t) => t.status === 'assigned' && t.assignee === name)) return false;
    await this.stop(name, { type: entry.type, metric: 'idle_timeout', value: idleMs, threshold: this.ctx.options.idleTimeoutMs });
    return true;
  }

  private measure(now: number, views: ReturnType<typeof viewTasks>): ScalingAgent[] {
    const { options } = this.ctx;
    const registry = readRegistry(this.ctx.layout);
    const scaled = readSupervisorState(this.ctx.layout).scaled;
    return measureAgents({
      agents: Object.values(registry.agents),
      owner: options.topology.file,
      scaled,
      types: new Map(options.topology.agents.map((a) => [a.name, a.type])),
      holders: new Set(views.filter((t) => t.status === 'assigned' && t.assignee).map((t) => t.assignee!)),
      seen: (name) => this.health.seen(name),
      replyMs: (name) => this.replies.replyMs(name, now),
      now,
    });
  }

  private async spawn(action: Extract<ScalingAction, { kind: 'spawn' }>): Promise<void> {
    const { layout, options, client } = this.ctx;
    const template = action.template;
    const name = scaledAgentName(template, new Set(Object.keys(readRegistry(layout).agents)));
    const windowName = windowNameOf(name);
    const socket = options.socket;
    const record: AgentRecord = {
      name, role: template.role, deliver: template.deliver, profile: template.profile, policy: template.policy, submit: template.submit, submit_delay: template.submit_delay,
      multiline: template.multiline, cwd: template.cwd, env: template.env, owner: options.topology.file, registered: '',
      ...(template.command ? { command: template.command } : {}),
      ...(template.template ? { template: template.template } : {}),
      ...(template.project ? { project: template.project } : {}),
      priority: template.priority,
    };
    const prompt = restorePromptOf(template, options.topology.supervisor.restore_prompt);
    if (prompt) record.restore_prompt = prompt;
    const start = paneStartOf(layout, record, socket, options.busBin);
    const made = await createPane(client, { session: template.session, windowName, key: `${template.session}/${windowName}/0` }, start);
    const { registered: _unused, ...input } = record;
    const instance = this.ctx.instance();
    await addAgent(layout, {
      ...input, tmux: made.paneId, ...(socket ? { tmux_socket: socket } : {}), ...(instance ? { tmux_server: instance } : {}), status: 'running',
    });
    const entry: ScaledAgent = {
      name, type: action.type, session: template.session, window_id: made.windowId, pane_id: made.paneId,
      session_created: made.made === 'session', spawned: new Date().toISOString(),
    };
    await updateSupervisorState(layout, (state) => ({ ...state, scaled: { ...state.scaled, [name]: entry } }));
    await recordPane(this.ctx, { agent: name, session: template.session, windowName, made, start, index: 0 });
    await this.ctx.announce({ event: 'scale_up', agent: name, type: action.type, metric: action.metric, value: action.value, threshold: action.threshold, pane: made.paneId });
  }

  /** Stops an agent scaling started (never one holding a task), and says why on the bus. */
  private async stop(agent: string, why: { type: string; metric: string; value: number; threshold: number }): Promise<void> {
    const { layout, options, client } = this.ctx;
    const action = { agent, ...why };
    // Look once more: the queue may have handed it a task since the plan was made.
    if (readTasks(layout).tasks.some((t) => t.status === 'assigned' && t.assignee === action.agent)) return;
    const entry = readSupervisorState(layout).scaled[action.agent];
    if (!entry) return;
    try {
      await removeAgent(layout, action.agent);
    } catch (error) {
      if (!(error instanceof UnknownAgentError)) throw error;
    }
    await killWindow(client, entry.window_id, windowNameOf(action.agent));
    await updateSupervisorState(layout, (state) => {
      const rest = { ...state.scaled };
      delete rest[action.agent];
      return { ...state, scaled: rest };
    });
    await updateTeamRecord(layout, options.topology.file, (t) => ({
      ...t,
      windows: t.windows.filter((w) => w.id !== entry.window_id),
      panes: t.panes.filter((p) => p.agent !== action.agent),
      agents: t.agents.filter((a) => a !== action.agent),
    }));
    this.health.forget(action.agent);
    this.replies.forget(action.agent);
    await this.ctx.announce({ event: 'scale_down', agent: action.agent, type: action.type, metric: action.metric, value: action.value, threshold: action.threshold });
  }
}

export interface TeamMeasures {
  /** Every registered agent. */
  agents: AgentRecord[];
  /** The topology file: agents `up` registered for it have it as their owner. */
  owner: string;
  scaled: Record<string, ScaledAgent>;
  /** Agent name → its type, for the topology's own agents. */
  types: ReadonlyMap<string, string>;
  /** Agents with an assigned task. */
  holders: ReadonlySet<string>;
  /** The health part's view of an agent (undefined before its first check). */
  seen: (name: string) => Pick<Watch, 'lastChange' | 'firstSeen'> | undefined;
  replyMs: (name: string) => number | undefined;
  now: number;
}

/** What scaling decides on, per agent of the team (the topology's and the scaled ones). Pure. */
export function measureAgents(m: TeamMeasures): ScalingAgent[] {
  return m.agents
    .filter((a) => a.owner === m.owner || m.scaled[a.name])
    .map((a) => {
      const watch = m.seen(a.name);
      const scaled = m.scaled[a.name];
      return {
        name: a.name,
        type: scaled?.type ?? m.types.get(a.name) ?? a.role ?? a.name,
        ...(a.project !== undefined ? { project: a.project } : {}),
        ...(a.priority !== undefined ? { priority: a.priority } : {}),
        role: a.role,
        scaled: Boolean(scaled),
        status: a.status,
        idleMs: watch ? m.now - watch.lastChange : 0,
        holdsTask: m.holders.has(a.name),
        replyMs: m.replyMs(a.name),
        ageMs: scaled ? m.now - Date.parse(scaled.spawned) : watch ? m.now - watch.firstSeen : 0,
      };
    });
}
