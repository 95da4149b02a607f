import type { AgentRecord } from '../bus/registry.js';
import { recoverTeam } from './recover.js';
import type { SupervisorContext } from './supervisor-context.js';
import type { SupervisorHealth } from './supervisor-health.js';
import { setAgentStatus } from './supervisor-state.js';

/**
 * The tmux server the team's panes were made on is gone (killed, crashed,
 * restarted): every pane id it had may now name someone else's pane. The
 * team is rebuilt once per server death, the way `restore` rebuilds it.
 */
export class ServerDeathRecovery {
  private readonly ctx: SupervisorContext;
  private readonly health: SupervisorHealth;
  /** Server instances (or `none`) the team was already recovered on: a recovery happens once per server death. */
  private readonly recoveredOn = new Set<string>();

  constructor(ctx: SupervisorContext, health: SupervisorHealth) {
    this.ctx = ctx;
    this.health = health;
  }

  /** Rebuilds the team if agents were made on another server instance than the one this pass sees; true when it did. */
  async recoverIfServerDied(agents: AgentRecord[]): Promise<boolean> {
    const instance = this.ctx.instance();
    const lost = agents.filter((a) => a.tmux_server !== undefined && a.tmux_server !== instance);
    if (lost.length === 0) return false;
    const key = instance ?? 'none';
    if (this.recoveredOn.has(key)) return false;
    this.recoveredOn.add(key);
    // Checks and restarts of these agents wait for the recovery.
    return this.health.holdDuring(lost.map((a) => a.name), () => this.recover(lost, instance));
  }

  private async recover(lost: AgentRecord[], instance: string | undefined): Promise<boolean> {
    const { options } = this.ctx;
    try {
      for (const agent of lost) await setAgentStatus(this.ctx.layout, agent.name, 'restarting');
      const result = await recoverTeam(this.ctx.layout, {
        topology: options.topology,
        socket: options.socket,
        busBin: options.busBin,
        timing: { settleMs: options.restoreSettleMs, timeoutMs: options.restoreTimeoutMs },
      });
      await this.ctx.announce({
        event: 'team_recovered', source: result.source, ...(result.file ? { checkpoint: result.file } : {}), agents: result.agents,
        reason: instance ? 'the tmux server restarted' : 'the tmux server is gone',
      });
      for (const name of result.agents) if (lost.some((a) => a.name === name)) await setAgentStatus(this.ctx.layout, name, 'running');
      return true;
    } catch (error) {
      this.ctx.fail('recovering the team after a tmux server death', error);
      return false;
    }
  }
}
