import { applyRepair, modeText } from '../bus/permissions.js';
import { describeFailure, type Failure, type FailureOf } from './failures.js';
import type { FailureKind, HandlerFor } from './resource-types.js';
import type { SupervisorContext } from './supervisor-context.js';

/** What the handlers act through: the supervisor's other parts. */
export interface FailureActions {
  /** Restarts one agent through the single restart path (supervisor-restart.ts); `alive`: it still runs (over its memory limit). */
  restart(agent: string, paneId: string | undefined, reason: string, alive?: boolean): Promise<void>;
  /** Rebuilds the team after a tmux server death, the way `restore` does. */
  recoverTeam(agents: string[], reason: string): Promise<void>;
  /** Stops the idlest scaled agent of the lowest priority (never `except`); its name, or why none could be. */
  scaleDownOne(except: string, why: { metric: string; value: number; threshold: number }): Promise<{ stopped: string } | { none: string }>;
  /** Marks an agent whose death is only reported. */
  markDead(agent: string): Promise<void>;
}

type HandlerTable = { [K in FailureKind]: { [H in HandlerFor<K>]: (failure: FailureOf<K>) => Promise<void> } };

/**
 * The seed's error table, in one place: each failure class (a case of the
 * `Failure` union) maps to the handlers it may be given, and
 * `error_handling:` in the topology picks one per class (default: restart,
 * scale_down_and_restart, fix_permissions, retry_with_backoff). Every failure
 * is announced as a `failure` event naming its handler; every action the
 * handler takes is an event of its own.
 */
export class FailureHandlers {
  private readonly ctx: SupervisorContext;
  private readonly act: FailureActions;
  private readonly table: HandlerTable;

  constructor(ctx: SupervisorContext, act: FailureActions) {
    this.ctx = ctx;
    this.act = act;
    this.table = {
      session_died: {
        restart: (f) => (f.server ? this.act.recoverTeam(f.agents, f.reason) : this.act.restart(f.agent, f.paneId, f.reason)),
        report: async (f) => {
          if (!f.server) await this.act.markDead(f.agent);
        },
      },
      out_of_memory: {
        scale_down_and_restart: async (f) => {
          // Room first: a restarted agent that needs the same memory would be over again at once.
          const result = await this.act.scaleDownOne(f.agent, { metric: 'out_of_memory', value: f.rssBytes, threshold: f.limitBytes });
          if ('none' in result) await this.ctx.announce({ event: 'nothing_to_scale_down', agent: f.agent, reason: result.none });
          await this.act.restart(f.agent, f.paneId, oomReason(f), !f.killed);
        },
        restart: (f) => this.act.restart(f.agent, f.paneId, oomReason(f), !f.killed),
        report: async () => undefined,
      },
      permission_denied: {
        fix_permissions: async (f) => {
          const finding = f.finding;
          if (finding.kind === 'refuse') {
            await this.ctx.announce({ event: 'permissions_refused', path: finding.path, reason: finding.reason });
            return;
          }
          if (applyRepair(finding)) {
            await this.ctx.announce({ event: 'permissions_fixed', path: finding.path, was: modeText(finding.was), now: modeText(finding.want) });
          } else {
            this.ctx.options.log(`${finding.path} changed while it was being repaired: left alone, looked at again next pass`);
          }
        },
        report: async () => undefined,
      },
      network_error: {
        retry_with_backoff: async (f) => {
          const r = f.retry;
          await this.ctx.announce({
            event: 'network_retry', agent: f.agent, attempt: r.attempt, attempts: r.attempts, wait_ms: r.waitMs, at: new Date(r.dueAt).toISOString(), reset: r.reset,
          });
        },
        report: async () => undefined,
      },
    };
  }

  /** Announces the failure and runs the handler the topology gives its class. */
  async handle(failure: Failure): Promise<void> {
    const kind = failure.kind;
    const handler = this.ctx.options.topology.error_handling[kind];
    const agent = 'agent' in failure ? failure.agent : undefined;
    await this.ctx.announce({ event: 'failure', kind, handler, detail: describeFailure(failure), ...(agent ? { agent } : {}) });
    const run = (this.table[kind] as Record<string, (f: Failure) => Promise<void>>)[handler]!;
    await run(failure);
  }
}

function oomReason(f: FailureOf<'out_of_memory'>): string {
  return f.killed ? 'killed near its memory limit' : 'over its memory limit';
}
