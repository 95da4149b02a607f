import type { PermissionFinding } from '../bus/permissions.js';
import type { FailureKind } from './resource-types.js';

/**
 * The failure classes of the seed's error table, as the supervisor sees
 * them: a tagged union, one case per class, each with what its handler needs.
 * The handlers are in supervisor-failures.ts, one table keyed by `kind`.
 */
export type Failure =
  /** A pane died, went missing, or its program exited; `server`: the tmux server died and the whole team is gone. */
  | { kind: 'session_died'; agent: string; paneId: string | undefined; reason: string; server?: false }
  | { kind: 'session_died'; server: true; agents: string[]; reason: string }
  /** The agent's process tree is over its memory limit, or was killed by SIGKILL (or ended with no exit status tmux could read) while near it. */
  | { kind: 'out_of_memory'; agent: string; paneId: string | undefined; rssBytes: number; limitBytes: number; killed: boolean }
  /** A file of the bus has a mode that is not the bus's own, or is not safely ours. */
  | { kind: 'permission_denied'; finding: PermissionFinding }
  /** The agent's screen shows an API or network error it gave up on (`resetAt`: a rate-limit screen names when it ends). */
  | { kind: 'network_error'; agent: string; paneId: string; line: string; resetAt?: number | undefined; retry: ScheduledRetry };

/** When retry_with_backoff types the continue prompt for this failure. */
export interface ScheduledRetry {
  attempt: number;
  attempts: number;
  dueAt: number;
  waitMs: number;
  /** The wait is until the reset time the screen names. */
  reset: boolean;
}

/** Every failure of one kind has that kind: the table's handlers get exactly their case. */
export type FailureOf<K extends FailureKind> = Extract<Failure, { kind: K }>;

/** One line for the `failure` event. */
export function describeFailure(failure: Failure): string {
  switch (failure.kind) {
    case 'session_died':
      return failure.server ? `the tmux server died (${failure.reason})` : failure.reason;
    case 'out_of_memory':
      return `${failure.killed ? 'killed (SIGKILL, or no exit status) at' : 'its processes use'} ${mib(failure.rssBytes)} MiB, limit ${mib(failure.limitBytes)} MiB`;
    case 'permission_denied':
      return failure.finding.kind === 'repair'
        ? `${failure.finding.path} has mode ${(failure.finding.was).toString(8).padStart(4, '0')}`
        : `${failure.finding.path}: ${failure.finding.reason}`;
    case 'network_error':
      return `its screen shows \`${failure.line.trim().slice(0, 120)}\``;
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(1);
}
