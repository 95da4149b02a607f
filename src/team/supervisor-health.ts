import { readRegistry, type AgentRecord } from '../bus/registry.js';
import { resolvePaneId } from '../tmux/pane-info.js';
import type { Failure } from './failures.js';
import { endPaneProcesses, panesOf } from './pane-processes.js';
import { applyPriority } from './priorities.js';
import { readTeamState, type TeamRecord } from './team-state.js';
import { checkLimits, ProcessTreeSampler } from './proc-stats.js';
import type { SupervisorContext } from './supervisor-context.js';
import type { SupervisorNetwork } from './supervisor-network.js';
import { liveness, paneHash, type Liveness } from './supervisor-panes.js';
import { restartAgent } from './supervisor-restart.js';
import { setAgentStatus } from './supervisor-state.js';
import { confirmed, deadStep, limitWarningDue, newWatch, noteAlive, noteScreen, type Watch } from './supervisor-watch.js';

/** What health hands on to the rest of the supervisor. */
export interface HealthHooks {
  /** A failure of the error table's classes: the table decides (supervisor-failures.ts). */
  onFailure(failure: Failure): Promise<void>;
  /** An agent scaling started has been idle for idle_timeout: true when it was stopped. */
  stopScaledIdle(agent: string, idleMs: number): Promise<boolean>;
  network: SupervisorNetwork;
}

/**
 * A pane killed by SIGKILL counts as out of memory when its last sample was
 * at least this share of the limit: the kernel kills at the limit, and the
 * last sample is up to one interval older than that moment.
 */
const NEAR_LIMIT = 0.8;
/** How long a dead pane may wait for tmux to say how its program ended. */
const REAP_WAIT_MS = 1000;

/**
 * Whether a dead pane's program may have been killed by SIGKILL: the signal
 * itself, a shell's 137 for its killed child, or no exit status at all —
 * tmux 3.3a often loses it for a pane restarted with `respawn-pane -k`
 * (16 of 25 SIGKILLs here showed neither signal nor status).
 */
function killedOrUnknown(live: Liveness): boolean {
  const info = live.info;
  if (!info) return false;
  return info.deadSignal === 9 || info.deadStatus === 137 || (info.deadSignal === undefined && info.deadStatus === undefined);
}

/**
 * The health part of the supervisor: each pass it looks at every agent's
 * pane and keeps the registry's `status` true. An alive agent is checked for
 * idleness (cleanup), its resource limits, its priority and its screen's
 * network errors; a dead, missing or exited one is a `session_died` failure
 * (or `out_of_memory`, killed near its limit) for the error table, and
 * marked `failed` once it is out of retries. The decisions are in
 * supervisor-watch.ts; this does the looking.
 */
export class SupervisorHealth {
  private readonly ctx: SupervisorContext;
  private readonly hooks: HealthHooks;
  private readonly watches = new Map<string, Watch>();
  private readonly sampler = new ProcessTreeSampler();

  constructor(ctx: SupervisorContext, hooks: HealthHooks) {
    this.ctx = ctx;
    this.hooks = hooks;
  }

  async check(agent: AgentRecord): Promise<void> {
    if (!readRegistry(this.ctx.layout).agents[agent.name]) return;
    const { options } = this.ctx;
    const watch = this.watchOf(agent.name);
    if (watch.restart) return;
    const paneId = await this.ownPane(agent);
    const live: Liveness = paneId ? await liveness(this.ctx.client, paneId, agent.command) : { state: 'missing', reason: 'pane missing' };
    if (!confirmed(watch, live.state)) return;
    const now = Date.now();

    if (live.state === 'alive') {
      watch.reportedDead = false;
      watch.deadUnreapedAt = 0;
      if (noteAlive(watch, agent.status, now, options.healthyAfterMs)) await this.ctx.announce({ event: 'recovered', agent: agent.name });
      if (agent.status !== 'running' && agent.status !== 'idle') await setAgentStatus(this.ctx.layout, agent.name, 'running');
      await this.checkPriority(agent, live, watch);
      await this.checkIdle(agent, paneId!, watch, now);
      await this.checkLimits(agent, paneId!, live, watch, now);
      await this.hooks.network.check(agent, paneId!);
      return;
    }
    // Stopped by cleanup, or a death only reported: left as it is until it runs again.
    if (agent.status === 'stopped' || watch.reportedDead) return;
    // tmux shows a pane dead when its terminal closes, a moment before it reaps the program: how it ended (a SIGKILL?) is known a little later.
    if (live.state === 'dead' && live.info?.deadSignal === undefined && live.info?.deadStatus === undefined) {
      watch.deadUnreapedAt ||= now;
      if (now - watch.deadUnreapedAt < REAP_WAIT_MS) return;
    }
    switch (deadStep(watch, agent.status, options.maxRetries, now)) {
      case 'leave':
        return;
      case 'fail':
        await setAgentStatus(this.ctx.layout, agent.name, 'failed');
        await this.ctx.announce({ event: 'failed', agent: agent.name, restarts: watch.attempts, reason: live.reason });
        return;
      case 'wait':
        await setAgentStatus(this.ctx.layout, agent.name, 'dead');
        return;
      case 'restart': {
        const pane = live.state === 'missing' ? undefined : paneId;
        const limit = options.topology.resource_management.per_session?.memory_bytes;
        // The kernel's OOM killer (or a cgroup's) sends SIGKILL: near its limit at the last sample, that is what happened.
        if (killedOrUnknown(live) && limit !== undefined && watch.lastRss >= NEAR_LIMIT * limit) {
          await this.hooks.onFailure({ kind: 'out_of_memory', agent: agent.name, paneId: pane, rssBytes: watch.lastRss, limitBytes: limit, killed: true });
        } else {
          await this.hooks.onFailure({ kind: 'session_died', agent: agent.name, paneId: pane, reason: live.reason });
        }
      }
    }
  }

  /**
   * The one way the supervisor restarts an agent (handlers of session_died
   * and out_of_memory): in the background, through supervisor-restart.ts;
   * checks skip the agent until it is done. Out of retries, a dead agent is
   * `failed`; one still running (over its memory limit) is left running.
   */
  async restart(name: string, paneId: string | undefined, reason: string, alive = false): Promise<void> {
    const agent = readRegistry(this.ctx.layout).agents[name];
    if (!agent) return;
    const watch = this.watchOf(name);
    if (watch.restart) return;
    if (watch.attempts >= this.ctx.options.maxRetries && alive) {
      this.ctx.options.log(`${name}: not restarted (${reason}): its ${watch.attempts} restarts are used up; it keeps running`);
      return;
    }
    if (watch.attempts >= this.ctx.options.maxRetries) {
      await setAgentStatus(this.ctx.layout, name, 'failed');
      await this.ctx.announce({ event: 'failed', agent: name, restarts: watch.attempts, reason });
      return;
    }
    this.startRestart(agent, paneId, reason, readTeamState(this.ctx.layout).teams[this.ctx.options.topology.file]);
  }

  /** session_died with the `report` handler: the agent is marked dead and left so (one event per death). */
  async markDead(name: string): Promise<void> {
    this.watchOf(name).reportedDead = true;
    await setAgentStatus(this.ctx.layout, name, 'dead');
  }

  /** Forgets the agents not in `keep` (they left the team). */
  retain(keep: ReadonlySet<string>): void {
    for (const name of this.watches.keys()) if (!keep.has(name)) this.watches.delete(name);
  }

  /** Forgets one agent (scaling stopped it). */
  forget(name: string): void {
    this.watches.delete(name);
  }

  /** What scaling measures: how long the agent's pane has shown nothing new, and since when it is known. Undefined before its first check. */
  seen(name: string): Pick<Watch, 'lastChange' | 'firstSeen'> | undefined {
    return this.watches.get(name);
  }

  /**
   * Runs `work` (rebuilding the team) with these agents marked as restarting,
   * so checks and restarts leave them alone meanwhile; afterwards their idle
   * clock starts from now.
   */
  async holdDuring<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    const watches = names.map((name) => this.watchOf(name));
    let settle: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (settle = resolve));
    for (const watch of watches) watch.restart = inFlight;
    try {
      return await work();
    } finally {
      for (const watch of watches) {
        watch.restart = undefined;
        watch.lastChange = Date.now();
      }
      settle();
    }
  }

  /** Resolves once no restart is in flight (close waits for them). */
  async settled(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.restart?.catch(() => undefined)));
  }

  /**
   * The agent's pane, if it still is the agent's: on the same tmux server
   * instance it was made on, and tagged `@bmad_agent` with its name (tmux
   * reuses pane ids after a server restart; a pane without the tag is
   * someone else's).
   */
  private async ownPane(agent: AgentRecord): Promise<string | undefined> {
    if (agent.tmux_server !== undefined && agent.tmux_server !== this.ctx.instance()) return undefined;
    const paneId = await resolvePaneId(this.ctx.client, agent.tmux!);
    if (!paneId) return undefined;
    const seen = await this.ctx.client.tryCommand(['display-message', '-p', '-t', paneId, '#{pane_id}\t#{@bmad_agent}']);
    return seen === `${paneId}\t${agent.name}` ? paneId : undefined;
  }

  private async checkIdle(agent: AgentRecord, paneId: string, watch: Watch, now: number): Promise<void> {
    const hash = await paneHash(this.ctx.client, paneId);
    if (hash === undefined) return;
    const screen = noteScreen(watch, hash, agent.status, now, this.ctx.options.idleTimeoutMs);
    if (screen?.change === 'active') {
      await setAgentStatus(this.ctx.layout, agent.name, 'running');
      await this.ctx.announce({ event: 'active', agent: agent.name });
    } else if (screen?.change === 'idle') {
      // cleanup: a scaled agent idle this long is stopped; a topology agent is marked idle, or stopped with `action: stop`.
      if (await this.hooks.stopScaledIdle(agent.name, screen.idleMs)) return;
      if (this.ctx.options.topology.resource_management.cleanup.action === 'stop') {
        await endPaneProcesses(await panesOf((args) => this.ctx.client.tryCommand(args), paneId, 'pane'));
        await setAgentStatus(this.ctx.layout, agent.name, 'stopped');
        await this.ctx.announce({ event: 'stopped', agent: agent.name, idle_ms: screen.idleMs });
        return;
      }
      await setAgentStatus(this.ctx.layout, agent.name, 'idle');
      await this.ctx.announce({ event: 'idle', agent: agent.name, idle_ms: screen.idleMs });
    }
  }

  /** priorities: the agent's tree gets its level's nice value (again after a restart: a new pane starts from the server's). */
  private async checkPriority(agent: AgentRecord, live: Liveness, watch: Watch): Promise<void> {
    const pid = live.info?.pid;
    if (pid === undefined || Object.keys(this.ctx.options.topology.resource_management.priorities).length === 0) return;
    const level = agent.priority ?? 'normal';
    const result = applyPriority(pid, level);
    // Told when it changed the pane's program (a start or a restart), not for each child it started since.
    if (result.changed > 0 && watch.nicedPid !== pid) {
      await this.ctx.announce({ event: 'priority', agent: agent.name, level, nice: result.nice, processes: result.processes });
    }
    watch.nicedPid = pid;
  }

  private async checkLimits(agent: AgentRecord, paneId: string, live: Liveness, watch: Watch, now: number): Promise<void> {
    const { options } = this.ctx;
    const limits = options.topology.resource_management.per_session;
    const pid = live.info?.pid;
    if (!limits || pid === undefined) return;
    const stats = this.sampler.sample(pid);
    // A tree that ended since tmux looked (gone, or a zombie not reaped yet) has no memory to tell: the last real sample stays (a SIGKILL is judged by it).
    if (stats.alive && stats.rssBytes > 0) watch.lastRss = stats.rssBytes;
    const breaches = checkLimits(stats, {
      ...(limits.memory_bytes !== undefined ? { memoryBytes: limits.memory_bytes } : {}),
      ...(limits.cpu_percent !== undefined ? { cpuPercent: limits.cpu_percent } : {}),
    });
    if (!limitWarningDue(watch, breaches.length > 0, now)) return;
    const memory = breaches.find((b) => b.kind === 'memory');
    // Over memory is the error table's out_of_memory; over CPU is `action` (warn or restart).
    if (memory) {
      await this.hooks.onFailure({ kind: 'out_of_memory', agent: agent.name, paneId, rssBytes: memory.value, limitBytes: memory.limit, killed: false });
    }
    const cpu = breaches.find((b) => b.kind === 'cpu');
    if (!cpu) return;
    await this.ctx.announce({ event: 'resource_limit', agent: agent.name, kind: 'cpu', value: Math.round(cpu.value), limit: cpu.limit, action: limits.action });
    if (limits.action === 'restart' && !memory && watch.attempts < options.maxRetries) {
      this.startRestart(agent, paneId, 'over its cpu limit', readTeamState(this.ctx.layout).teams[options.topology.file]);
    }
  }

  /** Starts a restart in the background; checks skip the agent until it is done. */
  private startRestart(agent: AgentRecord, paneId: string | undefined, reason: string, team: TeamRecord | undefined): void {
    const watch = this.watchOf(agent.name);
    watch.restart = restartAgent(this.ctx, { agent, paneId, reason, team }, watch)
      .catch((error: unknown) => this.ctx.fail(`restart ${agent.name}`, error))
      .finally(() => {
        watch.restart = undefined;
      });
  }

  private watchOf(name: string): Watch {
    let watch = this.watches.get(name);
    if (!watch) {
      watch = newWatch(Date.now());
      this.watches.set(name, watch);
    }
    return watch;
  }
}
