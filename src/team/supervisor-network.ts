import { readNetworkFailure } from '../agents/screen-failures.js';
import { readScreen } from '../agents/screen-reader.js';
import type { AgentRecord } from '../bus/registry.js';
import { captureScreen } from '../tmux/pane-info.js';
import { stepRetry, type RetryState } from './network-retry.js';
import { typePrompt } from './restore-prompt.js';
import type { SupervisorContext } from './supervisor-context.js';
import type { FailureOf } from './failures.js';
import { holdPane } from './supervisor-panes.js';

/** How long the router is held off the pane while the continue prompt goes in. */
const HOLD_MS = 30_000;

/**
 * The network_error part: each pass it reads the screen of every agent whose
 * profile knows its CLI's error screens, feeds the retry state machine
 * (network-retry.ts) and does what it says: a new failure goes to the error
 * table, a due continue prompt is typed (the router held off the pane
 * meanwhile, as for a restore prompt), and recoveries and giving up are told.
 */
export class SupervisorNetwork {
  private readonly ctx: SupervisorContext;
  private readonly onFailure: (failure: FailureOf<'network_error'>) => Promise<void>;
  private readonly states = new Map<string, RetryState>();

  constructor(ctx: SupervisorContext, onFailure: (failure: FailureOf<'network_error'>) => Promise<void>) {
    this.ctx = ctx;
    this.onFailure = onFailure;
  }

  async check(agent: AgentRecord, paneId: string): Promise<void> {
    const { options } = this.ctx;
    const profile = agent.profile ? options.topology.profiles.get(agent.profile) : undefined;
    if (!profile?.screen || profile.screen.network_error.length === 0 || !profile.continue_prompt) return;
    const text = await captureScreen(this.ctx.client, paneId);
    if (text === undefined) return;
    const now = Date.now();
    const failure = readNetworkFailure(profile, text, new Date(now));
    const seen = { error: failure !== undefined, resetAt: failure?.resetAt, busy: readScreen(profile, text).state === 'busy' };
    const handling = options.topology.error_handling;
    const { state, step } = stepRetry(this.states.get(agent.name), seen, handling.network_retry, now, handling.network_error);
    if (state) this.states.set(agent.name, state);
    else this.states.delete(agent.name);
    const attempts = handling.network_retry.attempts;
    switch (step.kind) {
      case 'none':
        return;
      case 'failure':
        await this.onFailure({
          kind: 'network_error', agent: agent.name, paneId, line: failure!.line, resetAt: failure!.resetAt,
          retry: { attempt: step.attempt, attempts, dueAt: step.dueAt, waitMs: step.waitMs, reset: step.reset },
        });
        return;
      case 'type': {
        await holdPane(this.ctx.client, paneId, now + HOLD_MS);
        try {
          const outcome = await typePrompt(this.ctx.client, paneId, agent, profile.continue_prompt);
          await this.ctx.announce({ event: 'network_continue', agent: agent.name, attempt: step.attempt, confirmed: outcome.status === 'typed' && outcome.confirmed });
          if (outcome.status !== 'typed') options.log(`continue prompt for ${agent.name} not typed: ${outcome.reason}`);
        } finally {
          await holdPane(this.ctx.client, paneId, 0);
        }
        return;
      }
      case 'recovered':
        await this.ctx.announce({ event: 'network_recovered', agent: agent.name, attempts: step.attempts });
        return;
      case 'gave_up':
        await this.ctx.announce({ event: 'network_gave_up', agent: agent.name, attempts: step.attempts });
    }
  }

  forget(name: string): void {
    this.states.delete(name);
  }
}
