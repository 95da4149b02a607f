import { SessionLimitError } from '../bus/errors.js';
import type { AgentRecord } from '../bus/registry.js';
import type { Failure } from './failures.js';
import { recoverTeam } from './recover.js';
import type { SupervisorContext } from './supervisor-context.js';
import type { SupervisorHealth } from './supervisor-health.js';
import { setAgentStatus } from './supervisor-state.js';

/**
 * The tmux server the team's panes were made on is gone (killed, crashed,
 * restarted): every pane id it had may now name someone else's pane. That is
 * a `session_died` failure of the whole team, once per server death; its
 * `restart` handler rebuilds the team the way `restore` rebuilds it.
 */
export class ServerDeathRecovery {
  private readonly ctx: SupervisorContext;
  private readonly health: SupervisorHealth;
  private readonly onFailure: (failure: Failure) => Promise<void>;
  /** Server instances (or `none`) the team's death was already handled on: once per server death. */
  private readonly recoveredOn = new Set<string>();

  constructor(ctx: SupervisorContext, health: SupervisorHealth, onFailure: (failure: Failure) => Promise<void>) {
    this.ctx = ctx;
    this.health = health;
    this.onFailure = onFailure;
  }

  /** Hands a server death to the error table if agents were made on another server instance than the one this pass sees; true when it did. */
  async recoverIfServerDied(agents: AgentRecord[]): Promise<boolean> {
    const instance = this.ctx.instance();
    const lost = agents.filter((a) => a.tmux_server !== undefined && a.tmux_server !== instance);
    if (lost.length === 0) return false;
    const key = instance ?? 'none';
    if (this.recoveredOn.has(key)) return false;
    this.recoveredOn.add(key);
    await this.onFailure({ kind: 'session_died', server: true, agents: lost.map((a) => a.name), reason: instance ? 'the tmux server restarted' : 'the tmux server is gone' });
    return true;
  }

  /** session_died's restart for a server death: the team rebuilt once, checks and restarts of its agents waiting meanwhile. */
  async recover(names: string[], reason: string): Promise<void> {
    await this.health.holdDuring(names, () => this.rebuild(names, reason));
  }

  private async rebuild(lost: string[], reason: string): Promise<void> {
    const { options } = this.ctx;
    try {
      for (const agent of lost) await setAgentStatus(this.ctx.layout, agent, 'restarting');
      const result = await recoverTeam(this.ctx.layout, {
        topology: options.topology,
        socket: options.socket,
        busBin: options.busBin,
        timing: { settleMs: options.restoreSettleMs, timeoutMs: options.restoreTimeoutMs },
      });
      await this.ctx.announce({
        event: 'team_recovered', source: result.source, ...(result.file ? { checkpoint: result.file } : {}), agents: result.agents, reason,
      });
      for (const name of result.agents) if (lost.includes(name)) await setAgentStatus(this.ctx.layout, name, 'running');
    } catch (error) {
      if (error instanceof SessionLimitError) {
        const b = error.breach;
        await this.ctx.announce({ event: 'limit_refused', what: 'recover', limit: b.limit, count: b.count, max: b.max, ...(b.project ? { project: b.project } : {}) });
        for (const agent of lost) await setAgentStatus(this.ctx.layout, agent, 'dead');
        return;
      }
      this.ctx.fail('recovering the team after a tmux server death', error);
    }
  }
}
