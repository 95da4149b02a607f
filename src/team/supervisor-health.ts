import type { AgentRecord } from '../bus/registry.js';
import { resolvePaneId } from '../tmux/pane-info.js';
import { readTeamState, type TeamRecord } from './team-state.js';
import { checkLimits, ProcessTreeSampler } from './proc-stats.js';
import type { SupervisorContext } from './supervisor-context.js';
import { liveness, paneHash, type Liveness } from './supervisor-panes.js';
import { restartAgent } from './supervisor-restart.js';
import { setAgentStatus } from './supervisor-state.js';
import { confirmed, deadStep, limitWarningDue, newWatch, noteAlive, noteScreen, type Watch } from './supervisor-watch.js';

/**
 * The health part of the supervisor: each pass it looks at every agent's
 * pane and keeps the registry's `status` true. An alive agent is checked for
 * idleness and its resource limits; a dead, missing or exited one is
 * restarted with backoff (supervisor-restart.ts) and marked `failed` once it
 * is out of retries. The decisions are in supervisor-watch.ts; this does the
 * looking and the acting.
 */
export class SupervisorHealth {
  private readonly ctx: SupervisorContext;
  private readonly watches = new Map<string, Watch>();
  private readonly sampler = new ProcessTreeSampler();

  constructor(ctx: SupervisorContext) {
    this.ctx = ctx;
  }

  async check(agent: AgentRecord, team: TeamRecord | undefined): Promise<void> {
    const { options } = this.ctx;
    const watch = this.watchOf(agent.name);
    if (watch.restart) return;
    const paneId = await this.ownPane(agent);
    const live: Liveness = paneId ? await liveness(this.ctx.client, paneId, agent.command) : { state: 'missing', reason: 'pane missing' };
    if (!confirmed(watch, live.state)) return;
    const now = Date.now();

    if (live.state === 'alive') {
      if (noteAlive(watch, agent.status, now, options.healthyAfterMs)) await this.ctx.announce({ event: 'recovered', agent: agent.name });
      if (agent.status !== 'running' && agent.status !== 'idle') await setAgentStatus(this.ctx.layout, agent.name, 'running');
      await this.checkIdle(agent, paneId!, watch, now);
      await this.checkLimits(agent, paneId!, live, watch, now);
      return;
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
      case 'restart':
        this.startRestart(agent, live.state === 'missing' ? undefined : paneId, live.reason, team);
    }
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
      await setAgentStatus(this.ctx.layout, agent.name, 'idle');
      await this.ctx.announce({ event: 'idle', agent: agent.name, idle_ms: screen.idleMs });
    }
  }

  private async checkLimits(agent: AgentRecord, paneId: string, live: Liveness, watch: Watch, now: number): Promise<void> {
    const { options } = this.ctx;
    const limits = options.topology.resource_limits.per_session;
    const pid = live.info?.pid;
    if (!limits || pid === undefined) return;
    const stats = this.sampler.sample(pid);
    const breaches = checkLimits(stats, {
      ...(limits.memory_bytes !== undefined ? { memoryBytes: limits.memory_bytes } : {}),
      ...(limits.cpu_percent !== undefined ? { cpuPercent: limits.cpu_percent } : {}),
    });
    if (!limitWarningDue(watch, breaches.length > 0, now)) return;
    for (const breach of breaches) {
      await this.ctx.announce({ event: 'resource_limit', agent: agent.name, kind: breach.kind, value: Math.round(breach.value), limit: breach.limit, action: limits.action });
    }
    if (limits.action === 'restart' && watch.attempts < options.maxRetries) {
      this.startRestart(agent, paneId, `over its ${breaches.map((b) => b.kind).join(' and ')} limit`, readTeamState(this.ctx.layout).teams[options.topology.file]);
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
