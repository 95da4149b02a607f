import { RootGuard } from '../router/root-guard.js';
import { EventEmitter } from 'node:events';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type AgentRecord, type Registry } from '../bus/registry.js';
import { send } from '../client/send.js';
import { TmuxClient, modeFromEnv } from '../tmux/client.js';
import { serverInstance } from '../tmux/server-instance.js';
import { readTeamState, type TeamRecord } from './team-state.js';
import { ReplyTimes } from './reply-times.js';
import { SupervisorCheckpoints } from './supervisor-checkpoints.js';
import type { SupervisorContext } from './supervisor-context.js';
import { levelRank } from '../bus/priority.js';
import type { Failure } from './failures.js';
import { FailureHandlers } from './supervisor-failures.js';
import { SupervisorHealth } from './supervisor-health.js';
import { SupervisorNetwork } from './supervisor-network.js';
import { SupervisorPermissions } from './supervisor-permissions.js';
import { resolveSupervisorOptions } from './supervisor-options.js';
import { ServerDeathRecovery } from './supervisor-recovery.js';
import { SupervisorResults } from './supervisor-results.js';
import { SupervisorScaling } from './supervisor-scaling.js';
import { schedulePass } from './supervisor-schedule.js';
import { readSupervisorState } from './supervisor-state.js';
import type { ResolvedSupervisorOptions, SupervisorEvent, SupervisorEvents, SupervisorOptions } from './supervisor-types.js';

export * from './supervisor-types.js';

/** Events kept while the bus cannot take them; older ones give way (they were emitted and logged). */
const MAX_UNSENT = 100;

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
 * This class is the coordinator: it runs the passes and wires the parts, each
 * in a file of its own — health and restarts (supervisor-health.ts,
 * supervisor-restart.ts), recovery after a tmux server death
 * (supervisor-recovery.ts), the scheduler (supervisor-schedule.ts), results
 * from the journal (supervisor-results.ts), scaling (supervisor-scaling.ts)
 * and checkpoints (supervisor-checkpoints.ts).
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
  /** What the parts share (this supervisor's bus, options, client, voice). */
  private readonly context: SupervisorContext;
  private readonly health: SupervisorHealth;
  private readonly recovery: ServerDeathRecovery;
  /** Fed by the results part, read by scaling. */
  private readonly replies = new ReplyTimes();
  private readonly results: SupervisorResults;
  private readonly scaling: SupervisorScaling;
  private readonly checkpoints: SupervisorCheckpoints;
  /** The error table (supervisor-failures.ts) and the parts that find what it handles beside health. */
  private readonly failures: FailureHandlers;
  private readonly network: SupervisorNetwork;
  private readonly permissions: SupervisorPermissions;
  private readonly loggedOnce = new Set<string>();
  /** Events the bus could not take yet, oldest first. */
  private readonly unsent: SupervisorEvent[] = [];
  private readonly root: RootGuard;
  /** Set when the bus root went away: the supervisor stopped for it (`supervise` exits 1). */
  rootLost = false;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private ticks = 0;
  private closing: Promise<void> | undefined;
  /** The tmux server instance this pass sees (undefined: no server answers). */
  private instance: string | undefined;

  constructor(layout: Layout, options: SupervisorOptions) {
    super();
    this.layout = layout;
    this.root = new RootGuard(layout, (error) => {
      this.rootLost = true;
      this.fail('root', error);
    });
    this.options = resolveSupervisorOptions(layout, options);
    this.client = new TmuxClient({ socket: this.options.socket, mode: modeFromEnv() });
    this.context = {
      layout,
      options: this.options,
      client: this.client,
      instance: () => this.instance,
      announce: (event) => this.announce(event),
      fail: (what, error) => this.fail(what, error),
      guard: (what, work) => this.guard(what, work),
      logOnce: (line) => this.logOnce(line),
    };
    // The parts report failures to the error table, which acts through the parts: arrows, so the order of construction does not matter.
    const onFailure = (failure: Failure): Promise<void> => this.failures.handle(failure);
    this.network = new SupervisorNetwork(this.context, onFailure);
    this.health = new SupervisorHealth(this.context, {
      onFailure, network: this.network, stopScaledIdle: (name, idleMs) => this.scaling.stopIdle(name, idleMs),
    });
    this.recovery = new ServerDeathRecovery(this.context, this.health, onFailure);
    this.results = new SupervisorResults(this.context, this.replies);
    this.scaling = new SupervisorScaling(this.context, this.health, this.replies);
    this.checkpoints = new SupervisorCheckpoints(this.context);
    this.permissions = new SupervisorPermissions(this.context, onFailure);
    this.failures = new FailureHandlers(this.context, {
      restart: (name, paneId, reason, alive) => this.health.restart(name, paneId, reason, alive),
      recoverTeam: (names, reason) => this.recovery.recover(names, reason),
      scaleDownOne: (except, why) => this.scaling.scaleDownOne(except, why),
      markDead: (name) => this.health.markDead(name),
    });
  }

  /** Starts following the journal (results, reply times) and the periodic passes; the first pass runs now. */
  async start(): Promise<void> {
    this.results.start(this.abort.signal);
    await this.runPass();
  }

  /** One pass now (also what the timer runs); concurrent calls share the pass in progress. */
  runPass(): Promise<void> {
    if (this.closing) return Promise.resolve();
    // A root removed (or replaced) under it is no longer its bus: one more pass would write state there, even make it again.
    if (!this.root.stillOurs()) return this.close();
    this.pass ??= this.tick().finally(() => {
      this.pass = undefined;
      this.ticks++;
      this.emit('tick', this.ticks);
      if (!this.closing) {
        // A pass run by hand (runPass) replaces the one the timer had planned: one timer chain, never two.
        if (this.timer) clearTimeout(this.timer);
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
      await this.health.settled();
      await this.results.stopped();
      await this.results.saveOffset().catch(() => undefined);
      this.client.close();
      this.emit('closed');
    })();
    return this.closing;
  }

  private async tick(): Promise<void> {
    this.instance = await serverInstance(this.client);
    let registry = readRegistry(this.layout);
    let team = readTeamState(this.layout).teams[this.options.topology.file];
    if (await this.recovery.recoverIfServerDied(this.supervised(registry, team))) {
      registry = readRegistry(this.layout);
      team = readTeamState(this.layout).teams[this.options.topology.file];
    }
    // The bus's own files first: a root that lost its mode stops the router and every agent's delivery.
    await this.guard('permissions', () => this.permissions.check());
    // Highest priority first (resource_management.priorities): restarts and prompts of the orchestrator tier come before support's.
    const agents = this.supervised(registry, team).sort((a, b) => levelRank(a.priority) - levelRank(b.priority));
    for (const agent of agents) {
      await this.guard(`check ${agent.name}`, () => this.health.check(agent));
    }
    this.health.retain(new Set(agents.map((a) => a.name)));
    if (this.options.schedule) await this.guard('scheduler', () => schedulePass(this.context));
    if (this.scaling.due(Date.now())) await this.guard('scaling', () => this.scaling.scale());
    if (this.checkpoints.due(Date.now())) await this.guard('checkpoint', () => this.checkpoints.write());
    await this.guard('results offset', () => this.results.saveOffset());
  }

  /** The agents this supervisor looks after: those the topology's team registered with a pane. */
  private supervised(registry: Registry, team: TeamRecord | undefined): AgentRecord[] {
    const names = new Set([...(team?.agents ?? []), ...Object.keys(readSupervisorState(this.layout).scaled)]);
    return Object.values(registry.agents).filter((a) => a.tmux && (names.has(a.name) || a.owner === this.options.topology.file));
  }

  /**
   * An event: on the bus (type `event`, from `supervisor`) and to listeners
   * (`supervise` prints them). When the bus cannot take it — its root has a
   * mode it refuses until permission_denied repairs it — it waits, in order,
   * and goes out with the next event the bus takes.
   */
  private async announce(event: SupervisorEvent): Promise<void> {
    this.emit('event', event);
    this.unsent.push(event);
    if (this.unsent.length > MAX_UNSENT) this.unsent.shift();
    try {
      while (this.unsent.length > 0) {
        await send(this.layout, { from: 'supervisor', to: this.options.eventsTo, type: 'event', body: this.unsent[0] });
        this.unsent.shift();
      }
    } catch (error) {
      this.fail(`event ${event.event} not on the bus yet`, error);
    }
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
