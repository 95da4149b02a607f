import { EventEmitter } from 'node:events';
import { parseDuration } from '../bus/duration.js';
import { UnknownAgentError } from '../bus/errors.js';
import type { Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { addAgent, readRegistry, removeAgent, type AgentRecord, type Registry } from '../bus/registry.js';
import { send } from '../client/send.js';
import { subscribe } from '../client/subscribe.js';
import { journalEnd } from '../journal/segments.js';
import { TmuxClient, modeFromEnv } from '../tmux/client.js';
import { resolvePaneId } from '../tmux/pane-info.js';
import { serverInstance } from '../tmux/server-instance.js';
import { readTeamState, type TeamRecord } from '../tmux/team-state.js';
import { writeCheckpoint } from './checkpoint.js';
import { checkLimits, ProcessTreeSampler } from './proc-stats.js';
import { recoverTeam } from './recover.js';
import { restorePromptOf, typeRestorePrompt } from './restore-prompt.js';
import { planScaling, scaledAgentName, type ScalingAction, type ScalingAgent } from './scaling.js';
import { runSchedulerOnce, scheduleOptionsFromTopology, type AgentStatus } from './scheduler.js';
import { viewTasks } from './task-model.js';
import { completeFromResultMessage, readTasks } from './tasks.js';
import type { AgentTemplate } from './topology-types.js';
import {
  createPane, holdPane, killWindow, liveness, paneHash, paneStartOf, respawnPane, type Liveness,
} from './supervisor-panes.js';
import {
  readSupervisorState, setAgentPane, setAgentStatus, updateSupervisorState, updateTeamRecord, type ScaledAgent,
} from './supervisor-state.js';
import {
  INTERVAL_ENV, type AgentHealth, type ResolvedSupervisorOptions, type SupervisorEvent, type SupervisorEvents, type SupervisorOptions,
} from './supervisor-types.js';

export * from './supervisor-types.js';

/** What the supervisor remembers about one agent between passes. */
interface Watch {
  /** Restarts since the agent was last healthy for `healthyAfterMs`. */
  attempts: number;
  lastRestartAt: number;
  nextRestartAt: number;
  /** The restart in flight (settling, pasting the restore prompt); checks skip the agent meanwhile. */
  restart: Promise<void> | undefined;
  /** Passes in a row that saw a bare shell where the agent's program belongs (one may be a start-up moment). */
  exitedSeen: number;
  hash: string | undefined;
  lastChange: number;
  firstSeen: number;
  /** When the last resource-limit warning went out (0: within limits). */
  breachAt: number;
}

/** A resource-limit warning is repeated at most this often while the agent stays over. */
const LIMIT_REPEAT_MS = 5 * 60_000;
/** The longest backoff between two restarts. */
const MAX_BACKOFF_MS = 5 * 60_000;
/** How long a pane stays held past the restore timeout, should the supervisor die while restoring. */
const HOLD_SLACK_MS = 30_000;


/**
 * Keeps a team alive: every `health_interval` it checks each agent `up`
 * started (and each one scaling started), restarts a dead, missing or exited
 * one in place with backoff and its restore prompt, marks it `failed` past
 * `max_retries`, tracks idleness and resource limits, runs the task scheduler,
 * applies `result` messages to the tasks, scales by the topology's rules and
 * writes checkpoints. Every action is an `event` message on the bus.
 *
 * Restore order: before restarting an agent the supervisor sets the pane's
 * `@bmad_hold` option, which makes the router's pane delivery wait; it pastes
 * the restore prompt itself once the agent has settled, then lifts the hold,
 * and the router delivers the messages the agent had not been given, from its
 * cursor. So the prompt always comes first.
 *
 * @example
 * const supervisor = new Supervisor(layout, { topology: loadTopology('team.yaml') });
 * supervisor.on('event', (e) => console.log(describeEvent(e)));
 * await supervisor.start();
 * // ...
 * await supervisor.close();
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly options: ResolvedSupervisorOptions;
  private readonly layout: Layout;
  private readonly client: TmuxClient;
  private readonly sampler = new ProcessTreeSampler();
  private readonly watches = new Map<string, Watch>();
  /** Agent → journal time of its oldest unanswered `task` message. */
  private readonly awaiting = new Map<string, number>();
  /** Agent → the reply time of its last answer, until a scaling pass has looked at it. */
  private readonly answered = new Map<string, number>();
  private readonly loggedOnce = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private ticks = 0;
  private closing: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private following: Promise<void> | undefined;
  private resultsOffset: number | undefined;
  private savedOffset: number | undefined;
  private lastScaleAt = 0;
  private lastCheckpointAt = Date.now();
  /** The tmux server instance this pass sees (undefined: no server answers). */
  private instance: string | undefined;
  /** Server instances (or `none`) the team was already recovered on: a recovery happens once per server death. */
  private readonly recoveredOn = new Set<string>();

  constructor(layout: Layout, options: SupervisorOptions) {
    super();
    this.layout = layout;
    const settings = options.topology.supervisor;
    const envInterval = process.env[INTERVAL_ENV];
    const intervalMs = options.intervalMs ?? (envInterval ? parseDuration(envInterval, INTERVAL_ENV) : settings.health_interval_ms);
    const team = readTeamState(layout).teams[options.topology.file];
    this.options = {
      topology: options.topology,
      socket: options.socket ?? team?.socket,
      intervalMs: Math.max(50, intervalMs),
      maxRetries: options.maxRetries ?? settings.max_retries,
      backoffMs: options.backoffMs ?? settings.backoff_ms,
      idleTimeoutMs: options.idleTimeoutMs ?? settings.idle_timeout_ms,
      checkpointIntervalMs: options.checkpointIntervalMs ?? settings.checkpoint_interval_ms,
      scalingIntervalMs: options.scalingIntervalMs ?? options.topology.scaling_rules?.interval_ms ?? 30_000,
      restoreSettleMs: options.restoreSettleMs ?? 500,
      restoreTimeoutMs: options.restoreTimeoutMs ?? 15_000,
      healthyAfterMs: options.healthyAfterMs ?? Math.max(60_000, 10 * intervalMs),
      eventsTo: options.eventsTo ?? 'orchestrator',
      schedule: options.schedule ?? true,
      busBin: options.busBin,
      log: options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} bmad-bus supervisor: ${line}\n`)),
    };
    this.client = new TmuxClient({ socket: this.options.socket, mode: modeFromEnv() });
  }

  /** Starts following the journal (results, reply times) and the periodic passes; the first pass runs now. */
  async start(): Promise<void> {
    const saved = readSupervisorState(this.layout).results_offset;
    this.resultsOffset = saved ?? journalEnd(this.layout.journalDir);
    this.savedOffset = saved;
    this.following = this.follow(this.resultsOffset);
    await this.runPass();
  }

  /** One pass now (also what the timer runs); concurrent calls share the pass in progress. */
  runPass(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.pass ??= this.tick().finally(() => {
      this.pass = undefined;
      this.ticks++;
      this.emit('tick', this.ticks);
      if (!this.closing) {
        this.timer = setTimeout(() => void this.runPass(), this.options.intervalMs);
      }
    });
    return this.pass;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.abort.abort();
      await this.pass?.catch(() => undefined);
      await Promise.all([...this.watches.values()].map((w) => w.restart?.catch(() => undefined)));
      await this.following?.catch(() => undefined);
      await this.saveOffset().catch(() => undefined);
      this.client.close();
      this.emit('closed');
    })();
    return this.closing;
  }

  // ---- the pass ----------------------------------------------------------

  private async tick(): Promise<void> {
    this.instance = await serverInstance(this.client);
    let registry = readRegistry(this.layout);
    let team = readTeamState(this.layout).teams[this.options.topology.file];
    if (await this.recoverIfServerDied(this.supervised(registry, team))) {
      registry = readRegistry(this.layout);
      team = readTeamState(this.layout).teams[this.options.topology.file];
    }
    const agents = this.supervised(registry, team);
    for (const agent of agents) {
      await this.guard(`check ${agent.name}`, () => this.check(agent, team));
    }
    for (const name of this.watches.keys()) if (!agents.some((a) => a.name === name)) this.watches.delete(name);
    if (this.options.schedule) await this.guard('scheduler', () => this.schedule());
    if (this.options.topology.scaling_rules && Date.now() - this.lastScaleAt >= this.options.scalingIntervalMs) {
      this.lastScaleAt = Date.now();
      await this.guard('scaling', () => this.scale());
    }
    if (this.options.checkpointIntervalMs > 0 && Date.now() - this.lastCheckpointAt >= this.options.checkpointIntervalMs) {
      this.lastCheckpointAt = Date.now();
      await this.guard('checkpoint', () => this.checkpoint());
    }
    await this.guard('results offset', () => this.saveOffset());
  }

  /** The agents this supervisor looks after: those the topology's team registered with a pane. */
  private supervised(registry: Registry, team: TeamRecord | undefined): AgentRecord[] {
    const names = new Set([...(team?.agents ?? []), ...Object.keys(readSupervisorState(this.layout).scaled)]);
    return Object.values(registry.agents).filter((a) => a.tmux && (names.has(a.name) || a.owner === this.options.topology.file));
  }

  /**
   * The tmux server the team's panes were made on is gone (killed, crashed,
   * restarted): every pane id it had may now name someone else's pane. The
   * team is rebuilt once per server death, the way `restore` rebuilds it;
   * true when it was.
   */
  private async recoverIfServerDied(agents: AgentRecord[]): Promise<boolean> {
    const lost = agents.filter((a) => a.tmux_server !== undefined && a.tmux_server !== this.instance);
    if (lost.length === 0) return false;
    const key = this.instance ?? 'none';
    if (this.recoveredOn.has(key)) return false;
    this.recoveredOn.add(key);
    const watches = lost.map((a) => this.watchOf(a.name));
    let settle: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (settle = resolve));
    // Checks and restarts of these agents wait for the recovery.
    for (const watch of watches) watch.restart = inFlight;
    try {
      for (const agent of lost) await this.setStatus(agent.name, 'restarting');
      const result = await recoverTeam(this.layout, {
        topology: this.options.topology,
        socket: this.options.socket,
        busBin: this.options.busBin,
        timing: { settleMs: this.options.restoreSettleMs, timeoutMs: this.options.restoreTimeoutMs },
      });
      await this.announce({
        event: 'team_recovered', source: result.source, ...(result.file ? { checkpoint: result.file } : {}), agents: result.agents,
        reason: this.instance ? 'the tmux server restarted' : 'the tmux server is gone',
      });
      for (const name of result.agents) if (lost.some((a) => a.name === name)) await this.setStatus(name, 'running');
      return true;
    } catch (error) {
      this.fail('recovering the team after a tmux server death', error);
      return false;
    } finally {
      for (const watch of watches) {
        watch.restart = undefined;
        watch.lastChange = Date.now();
      }
      settle();
    }
  }

  /**
   * The agent's pane, if it still is the agent's: on the same tmux server
   * instance it was made on, and tagged `@bmad_agent` with its name (tmux
   * reuses pane ids after a server restart; a pane without the tag is
   * someone else's).
   */
  private async ownPane(agent: AgentRecord): Promise<string | undefined> {
    if (agent.tmux_server !== undefined && agent.tmux_server !== this.instance) return undefined;
    const paneId = await resolvePaneId(this.client, agent.tmux!);
    if (!paneId) return undefined;
    const seen = await this.client.tryCommand(['display-message', '-p', '-t', paneId, '#{pane_id}\t#{@bmad_agent}']);
    return seen === `${paneId}\t${agent.name}` ? paneId : undefined;
  }

  private async check(agent: AgentRecord, team: TeamRecord | undefined): Promise<void> {
    const watch = this.watchOf(agent.name);
    if (watch.restart) return;
    const paneId = await this.ownPane(agent);
    const live: Liveness = paneId ? await liveness(this.client, paneId, agent.command) : { state: 'missing', reason: 'pane missing' };
    if (live.state === 'exited') {
      // A bare shell for one pass can be the moment before the agent's program starts.
      watch.exitedSeen++;
      if (watch.exitedSeen < 2) return;
    } else watch.exitedSeen = 0;
    const now = Date.now();

    if (live.state === 'alive') {
      if (agent.status === 'failed' || agent.status === 'dead') {
        // Someone brought it back by hand: it gets its full retries again.
        if (agent.status === 'failed') watch.attempts = 0;
        await this.announce({ event: 'recovered', agent: agent.name });
      }
      if (watch.attempts > 0 && now - watch.lastRestartAt >= this.options.healthyAfterMs) watch.attempts = 0;
      if (agent.status !== 'running' && agent.status !== 'idle') await this.setStatus(agent.name, 'running');
      await this.checkIdle(agent, paneId!, watch, now);
      await this.checkLimits(agent, paneId!, live, watch, now);
      return;
    }
    if (agent.status === 'failed') return;
    if (watch.attempts >= this.options.maxRetries) {
      await this.setStatus(agent.name, 'failed');
      await this.announce({ event: 'failed', agent: agent.name, restarts: watch.attempts, reason: live.reason });
      return;
    }
    if (now < watch.nextRestartAt) {
      await this.setStatus(agent.name, 'dead');
      return;
    }
    this.startRestart(agent, live.state === 'missing' ? undefined : paneId, live.reason, team);
  }

  private async checkIdle(agent: AgentRecord, paneId: string, watch: Watch, now: number): Promise<void> {
    const hash = await paneHash(this.client, paneId);
    if (hash === undefined) return;
    if (hash !== watch.hash) {
      watch.hash = hash;
      watch.lastChange = now;
      if (agent.status === 'idle') {
        await this.setStatus(agent.name, 'running');
        await this.announce({ event: 'active', agent: agent.name });
      }
    } else if (now - watch.lastChange >= this.options.idleTimeoutMs && agent.status !== 'idle') {
      await this.setStatus(agent.name, 'idle');
      await this.announce({ event: 'idle', agent: agent.name, idle_ms: now - watch.lastChange });
    }
  }

  private async checkLimits(agent: AgentRecord, paneId: string, live: Liveness, watch: Watch, now: number): Promise<void> {
    const limits = this.options.topology.resource_limits.per_session;
    const pid = live.info?.pid;
    if (!limits || pid === undefined) return;
    const stats = this.sampler.sample(pid);
    const breaches = checkLimits(stats, {
      ...(limits.memory_bytes !== undefined ? { memoryBytes: limits.memory_bytes } : {}),
      ...(limits.cpu_percent !== undefined ? { cpuPercent: limits.cpu_percent } : {}),
    });
    if (breaches.length === 0) {
      watch.breachAt = 0;
      return;
    }
    if (watch.breachAt !== 0 && now - watch.breachAt < LIMIT_REPEAT_MS) return;
    watch.breachAt = now;
    for (const breach of breaches) {
      await this.announce({ event: 'resource_limit', agent: agent.name, kind: breach.kind, value: Math.round(breach.value), limit: breach.limit, action: limits.action });
    }
    if (limits.action === 'restart' && watch.attempts < this.options.maxRetries) {
      this.startRestart(agent, paneId, `over its ${breaches.map((b) => b.kind).join(' and ')} limit`, readTeamState(this.layout).teams[this.options.topology.file]);
    }
  }

  // ---- restart and restore ----------------------------------------------

  private startRestart(agent: AgentRecord, paneId: string | undefined, reason: string, team: TeamRecord | undefined): void {
    const watch = this.watchOf(agent.name);
    watch.restart = this.restart(agent, paneId, reason, team, watch)
      .catch((error: unknown) => this.fail(`restart ${agent.name}`, error))
      .finally(() => {
        watch.restart = undefined;
      });
  }

  private async restart(agent: AgentRecord, paneId: string | undefined, reason: string, team: TeamRecord | undefined, watch: Watch): Promise<void> {
    const now = Date.now();
    watch.attempts++;
    watch.lastRestartAt = now;
    watch.nextRestartAt = now + Math.min(this.options.backoffMs * 2 ** (watch.attempts - 1), MAX_BACKOFF_MS);
    await this.setStatus(agent.name, 'restarting');
    await this.announce({
      event: 'restart', agent: agent.name, attempt: watch.attempts, max_retries: this.options.maxRetries, reason, pane: paneId ?? 'missing',
    });
    const start = paneStartOf(this.layout, agent, agent.tmux_socket ?? this.options.socket, this.options.busBin);
    const holdUntil = now + this.options.restoreTimeoutMs + HOLD_SLACK_MS;
    let pane = paneId;
    if (pane) {
      await holdPane(this.client, pane, holdUntil);
      await respawnPane(this.client, pane, { ...start, tags: {} });
    } else {
      pane = await this.recreatePane(agent, team, start, holdUntil);
    }
    try {
      // The same path as `restore`: settle, then the prompt unless the pane runs a shell or takes no messages.
      const prompt = restorePromptOf(agent, this.options.topology.supervisor.restore_prompt);
      const outcome = await typeRestorePrompt(this.client, pane, agent, prompt, { settleMs: this.options.restoreSettleMs, timeoutMs: this.options.restoreTimeoutMs });
      if (outcome.status === 'dead') {
        await this.setStatus(agent.name, 'dead');
        return;
      }
      if (outcome.status === 'typed' && !outcome.confirmed) this.options.log(`restore prompt for ${agent.name}: unconfirmed`);
      if (outcome.status === 'skipped' && prompt) this.options.log(`no restore prompt for ${agent.name}: ${outcome.reason}`);
      watch.lastChange = Date.now();
      await this.setStatus(agent.name, 'running');
    } finally {
      // The router delivers the backlog from its cursor once the hold is gone.
      await holdPane(this.client, pane, 0);
    }
  }

  /** The agent's pane is gone: make a new one where it was (team state says where) and point the registry at it. */
  private async recreatePane(agent: AgentRecord, team: TeamRecord | undefined, start: ReturnType<typeof paneStartOf>, holdUntil: number): Promise<string> {
    const record = team?.panes.find((p) => p.agent === agent.name);
    const scaled = readSupervisorState(this.layout).scaled[agent.name];
    const session = record?.session ?? scaled?.session ?? team?.sessions[0]?.name ?? 'bmad-bus';
    const windowName = record?.window ?? windowNameOf(agent.name);
    // Window ids and sessions are the team's only on the server they were recorded on (a record without one predates the check).
    const sameServer = team?.tmux_server === undefined || team.tmux_server === this.instance;
    if (!sameServer && (await this.client.tryCommand(['has-session', '-t', `=${session}`])) !== undefined) {
      throw new Error(`session ${session} on this tmux server is not the team's (the server restarted): no pane is made in it`);
    }
    const windowId = !sameServer ? undefined : record ? team?.windows.find((w) => w.session === record.session && w.name === record.window)?.id : scaled?.window_id;
    const made = await createPane(this.client, { session, windowId, windowName, key: `${session}/${windowName}/${record?.index ?? 0}` }, start);
    await holdPane(this.client, made.paneId, holdUntil);
    await setAgentPane(this.layout, agent.name, made.paneId, this.instance);
    await this.recordPane(agent.name, session, windowName, made, start, record?.index ?? 0);
    return made.paneId;
  }

  /** Keeps the team state true to tmux, so `down` removes what the supervisor made. */
  private async recordPane(
    agent: string, session: string, windowName: string, made: { paneId: string; windowId: string; made: string }, start: ReturnType<typeof paneStartOf>, index: number,
  ): Promise<void> {
    const sessionId = made.made === 'session' ? await this.client.tryCommand(['display-message', '-p', '-t', made.windowId, '#{session_id}']) : undefined;
    await updateTeamRecord(this.layout, this.options.topology.file, (t) => ({
      ...t,
      updated: new Date().toISOString(),
      sessions: sessionId ? [...t.sessions.filter((s) => s.name !== session), { name: session, id: sessionId, created: true }] : t.sessions,
      windows: made.made !== 'pane' ? [...t.windows.filter((w) => !(w.session === session && w.name === windowName)), { session, name: windowName, id: made.windowId, created: true }] : t.windows,
      panes: [
        ...t.panes.filter((p) => p.agent !== agent),
        { id: made.paneId, session, window: windowName, index, agent, ...(start.command ? { command: start.command } : {}), cwd: start.cwd ?? process.cwd() },
      ],
      agents: t.agents.includes(agent) ? t.agents : [...t.agents, agent],
    }));
  }

  // ---- tasks -------------------------------------------------------------

  private async schedule(): Promise<void> {
    const registry = readRegistry(this.layout);
    const outcome = await runSchedulerOnce(this.layout, {
      ...scheduleOptionsFromTopology(this.options.topology),
      statusOf: (name) => schedulerStatus(registry.agents[name]?.status),
    });
    for (const made of outcome.assignments) this.options.log(`assigned ${made.task.id} to ${made.agent}`);
  }

  /** Follows the journal: `result` messages complete tasks; task messages and answers give reply times. */
  private async follow(from: number): Promise<void> {
    try {
      for await (const message of subscribe(this.layout, { from, signal: this.abort.signal })) {
        await this.guard('result', () => this.onMessage(message));
        this.resultsOffset = message.offset;
      }
    } catch (error) {
      if (!this.abort.signal.aborted) this.fail('following the journal', error);
    }
  }

  private async onMessage(message: Envelope): Promise<void> {
    const at = Date.parse(message.ts) || Date.now();
    if (message.type === 'task') {
      const agent = message.rcpt ?? message.to;
      if (!this.awaiting.has(agent)) this.awaiting.set(agent, at);
    } else {
      const sent = this.awaiting.get(message.from);
      if (sent !== undefined) {
        this.answered.set(message.from, Math.max(0, at - sent));
        this.awaiting.delete(message.from);
      }
    }
    const outcome = await completeFromResultMessage(this.layout, message);
    if (outcome?.changed) this.options.log(`task ${outcome.id} is ${outcome.task?.status} (result from ${message.from})`);
  }

  private async saveOffset(): Promise<void> {
    const offset = this.resultsOffset;
    if (offset === undefined || offset === this.savedOffset) return;
    await updateSupervisorState(this.layout, (state) => ({ ...state, results_offset: offset }));
    this.savedOffset = offset;
  }

  // ---- scaling -----------------------------------------------------------

  private async scale(): Promise<void> {
    const rules = this.options.topology.scaling_rules!;
    const now = Date.now();
    const registry = readRegistry(this.layout);
    const scaled = readSupervisorState(this.layout).scaled;
    const views = viewTasks(readTasks(this.layout).tasks);
    const holders = new Set(views.filter((t) => t.status === 'assigned' && t.assignee).map((t) => t.assignee!));
    const types = new Map(this.options.topology.agents.map((a) => [a.name, a.type]));
    const agents: ScalingAgent[] = Object.values(registry.agents)
      .filter((a) => a.owner === this.options.topology.file || scaled[a.name])
      .map((a) => {
        const watch = this.watches.get(a.name);
        const waited = this.awaiting.get(a.name);
        const replyMs = waited !== undefined ? now - waited : this.answered.get(a.name);
        return {
          name: a.name,
          type: scaled[a.name]?.type ?? types.get(a.name) ?? a.role ?? a.name,
          role: a.role,
          scaled: Boolean(scaled[a.name]),
          status: a.status,
          idleMs: watch ? now - watch.lastChange : 0,
          holdsTask: holders.has(a.name),
          replyMs,
          ageMs: scaled[a.name] ? now - Date.parse(scaled[a.name]!.spawned) : watch ? now - watch.firstSeen : 0,
        };
      });
    this.answered.clear();
    const plan = planScaling({
      rules, templates: this.options.topology.templates, agents, ready: views.filter((t) => t.ready), minAgeMs: this.options.scalingIntervalMs,
    });
    for (const reason of plan.skipped) this.logOnce(`scaling: ${reason}`);
    for (const action of plan.actions) {
      await this.guard(`scaling ${action.kind}`, () => (action.kind === 'spawn' ? this.spawn(action) : this.terminate(action)));
    }
  }

  private async spawn(action: Extract<ScalingAction, { kind: 'spawn' }>): Promise<void> {
    const template: AgentTemplate = action.template;
    const name = scaledAgentName(template, new Set(Object.keys(readRegistry(this.layout).agents)));
    const windowName = windowNameOf(name);
    const socket = this.options.socket;
    const record: AgentRecord = {
      name, role: template.role, deliver: template.deliver, submit: template.submit, submit_delay: template.submit_delay,
      multiline: template.multiline, cwd: template.cwd, env: template.env, owner: this.options.topology.file, registered: '',
      ...(template.command ? { command: template.command } : {}),
      ...(template.template ? { template: template.template } : {}),
      ...(template.project ? { project: template.project } : {}),
    };
    const prompt = restorePromptOf(template, this.options.topology.supervisor.restore_prompt);
    if (prompt) record.restore_prompt = prompt;
    const start = paneStartOf(this.layout, record, socket, this.options.busBin);
    const made = await createPane(this.client, { session: template.session, windowName, key: `${template.session}/${windowName}/0` }, start);
    const { registered: _unused, ...input } = record;
    await addAgent(this.layout, {
      ...input, tmux: made.paneId, ...(socket ? { tmux_socket: socket } : {}), ...(this.instance ? { tmux_server: this.instance } : {}), status: 'running',
    });
    const entry: ScaledAgent = {
      name, type: action.type, session: template.session, window_id: made.windowId, pane_id: made.paneId,
      session_created: made.made === 'session', spawned: new Date().toISOString(),
    };
    await updateSupervisorState(this.layout, (state) => ({ ...state, scaled: { ...state.scaled, [name]: entry } }));
    await this.recordPane(name, template.session, windowName, made, start, 0);
    await this.announce({ event: 'scale_up', agent: name, type: action.type, metric: action.metric, value: action.value, threshold: action.threshold, pane: made.paneId });
  }

  private async terminate(action: Extract<ScalingAction, { kind: 'terminate' }>): Promise<void> {
    // Look once more: the queue may have handed it a task since the plan was made.
    if (readTasks(this.layout).tasks.some((t) => t.status === 'assigned' && t.assignee === action.agent)) return;
    const entry = readSupervisorState(this.layout).scaled[action.agent];
    if (!entry) return;
    try {
      await removeAgent(this.layout, action.agent);
    } catch (error) {
      if (!(error instanceof UnknownAgentError)) throw error;
    }
    await killWindow(this.client, entry.window_id, windowNameOf(action.agent));
    await updateSupervisorState(this.layout, (state) => {
      const rest = { ...state.scaled };
      delete rest[action.agent];
      return { ...state, scaled: rest };
    });
    await updateTeamRecord(this.layout, this.options.topology.file, (t) => ({
      ...t,
      windows: t.windows.filter((w) => w.id !== entry.window_id),
      panes: t.panes.filter((p) => p.agent !== action.agent),
      agents: t.agents.filter((a) => a !== action.agent),
    }));
    this.watches.delete(action.agent);
    this.awaiting.delete(action.agent);
    await this.announce({ event: 'scale_down', agent: action.agent, type: action.type, metric: action.metric, value: action.value, threshold: action.threshold });
  }

  // ---- checkpoints -------------------------------------------------------

  private async checkpoint(): Promise<void> {
    const file = await writeCheckpoint(this.layout, this.options.socket ? { socket: this.options.socket } : {});
    this.options.log(`checkpoint written: ${file}`);
  }

  // ---- helpers -----------------------------------------------------------

  private watchOf(name: string): Watch {
    let watch = this.watches.get(name);
    if (!watch) {
      const now = Date.now();
      watch = { attempts: 0, lastRestartAt: 0, nextRestartAt: 0, restart: undefined, exitedSeen: 0, hash: undefined, lastChange: now, firstSeen: now, breachAt: 0 };
      this.watches.set(name, watch);
    }
    return watch;
  }

  private async setStatus(name: string, status: AgentHealth): Promise<void> {
    await setAgentStatus(this.layout, name, status);
  }

  /** An event: on the bus (type `event`, from `supervisor`) and to listeners (`supervise` prints them). */
  private async announce(event: SupervisorEvent): Promise<void> {
    this.emit('event', event);
    await send(this.layout, { from: 'supervisor', to: this.options.eventsTo, type: 'event', body: event });
  }

  private async guard(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.fail(what, error);
    }
  }

  private fail(what: string, error: unknown): void {
    const wrapped = error instanceof Error ? error : new Error(String(error));
    this.options.log(`${what}: ${wrapped.message}`);
    // An 'error' with no listener would throw: the loop must go on.
    if (this.listenerCount('error') > 0) this.emit('error', wrapped);
  }

  private logOnce(line: string): void {
    if (this.loggedOnce.has(line)) return;
    this.loggedOnce.add(line);
    this.options.log(line);
  }
}

/** The registry status as the scheduler sees it: restarting agents take no task until they are back. */
function schedulerStatus(status: AgentHealth | undefined): AgentStatus | undefined {
  switch (status) {
    case 'failed':
      return 'failed';
    case 'dead':
    case 'restarting':
      return 'dead';
    case 'idle':
      return 'idle';
    case 'running':
    case undefined:
      return 'alive';
  }
}

/** tmux reads `.` in a window name as a target separator (as `up` does). */
function windowNameOf(agent: string): string {
  return agent.replace(/\./g, '_');
}
