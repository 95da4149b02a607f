import { writeCheckpoint } from './checkpoint.js';
import type { SupervisorContext } from './supervisor-context.js';

/**
 * Periodic checkpoints: every `checkpoint_interval` the supervisor writes one
 * (as `bmad-bus checkpoint` does), so a reboot or a lost tmux server can be
 * recovered from a recent one. 0 turns them off.
 */
export class SupervisorCheckpoints {
  private readonly ctx: SupervisorContext;
  private lastAt: number;

  /** The first checkpoint is due one interval after `now`: a team that was just brought up has nothing to save yet. */
  constructor(ctx: SupervisorContext, now = Date.now()) {
    this.ctx = ctx;
    this.lastAt = now;
  }

  /** True when one is due; the next interval counts from now, however the write goes (a failing one is not retried every pass). */
  due(now: number): boolean {
    const every = this.ctx.options.checkpointIntervalMs;
    if (every <= 0 || now - this.lastAt < every) return false;
    this.lastAt = now;
    return true;
  }

  /** Writes a checkpoint of the team's tmux server; returns its file. */
  async write(): Promise<string> {
    const { socket } = this.ctx.options;
    const file = await writeCheckpoint(this.ctx.layout, socket ? { socket } : {});
    this.ctx.options.log(`checkpoint written: ${file}`);
    return file;
  }
}
