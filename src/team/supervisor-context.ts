import type { Layout } from '../bus/layout.js';
import type { TmuxClient } from '../tmux/client.js';
import type { ResolvedSupervisorOptions, SupervisorEvent } from './supervisor-types.js';

/**
 * What the supervisor's parts (health, restart, recovery, results, scaling,
 * checkpoints) share, handed to each by the `Supervisor` that owns it: one
 * bus, one set of options, one tmux client, one way to speak and to fail.
 */
export interface SupervisorContext {
  readonly layout: Layout;
  readonly options: ResolvedSupervisorOptions;
  readonly client: TmuxClient;
  /** The tmux server instance the current pass sees (undefined: no server answers). */
  instance(): string | undefined;
  /** An event: on the bus (type `event`, from `supervisor`) and to the supervisor's listeners. */
  announce(event: SupervisorEvent): Promise<void>;
  /** Logs a failure and emits it as `error`; the loop goes on. */
  fail(what: string, error: unknown): void;
  /** Runs `work`, turning a throw into `fail(what, error)`. */
  guard(what: string, work: () => Promise<unknown>): Promise<void>;
  /** Logs a line the first time only (a skipped scaling rule would repeat every pass). */
  logOnce(line: string): void;
}
