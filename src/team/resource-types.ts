import type { PriorityLevel } from '../bus/priority.js';
import type { SessionTier } from './topology-types.js';

export { PRIORITY_LEVELS, levelRank, type PriorityLevel } from '../bus/priority.js';

/**
 * The seed's `resource_management:` and `error_handling:`, after
 * normalisation: one model, whatever names the file used. The older fields
 * (`max_sessions`, `supervisor.max_retries`, `supervisor.idle_timeout`,
 * `resource_limits`) are read into these and exist nowhere else.
 */

/**
 * The nice value each level gives an agent's whole process tree. A normal
 * user can only lower a process's priority (raise its nice value), so
 * `highest` keeps the user's default (0) and the others step down from it; a
 * process already nicer than its level is left as it is.
 */
export const NICE_OF_LEVEL: Readonly<Record<PriorityLevel, number>> = { highest: 0, high: 5, normal: 10, low: 15 };

/** The seed writes the project tier as `development`: both names mean the same tier. */
export const TIER_ALIASES: Readonly<Record<string, SessionTier>> = { development: 'project' };

/** Hard caps on the number of agents of one team (the topology's and the scaled ones). */
export interface SessionLimits {
  max_total?: number;
  max_per_project?: number;
}

/** What happens to a topology agent idle for `idle_timeout`: marked `idle`, or stopped. Scaled agents are always stopped. */
export type CleanupAction = 'idle' | 'stop';

export interface Cleanup {
  idle_timeout_ms: number;
  /** Restarts of a dead agent before it is `failed` (alias: `supervisor.max_retries`). */
  failed_retry: number;
  action: CleanupAction;
}

/** Per-agent CPU and memory limits (alias: `resource_limits.per_session`). `action` is what a CPU breach does; memory is `error_handling.out_of_memory`. */
export interface PerSessionLimits {
  memory_bytes?: number;
  cpu_percent?: number;
  action: 'warn' | 'restart';
}

export interface ResourceManagement {
  session_limits: SessionLimits;
  cleanup: Cleanup;
  /** Tier, role or type → level, as written (tier aliases resolved). Empty: no priorities, nothing is reniced. */
  priorities: Record<string, PriorityLevel>;
  per_session?: PerSessionLimits;
}

/** The failure classes of the seed's error table. */
export type FailureKind = 'session_died' | 'out_of_memory' | 'permission_denied' | 'network_error';
export const FAILURE_KINDS: readonly FailureKind[] = ['session_died', 'out_of_memory', 'permission_denied', 'network_error'];

/** What may handle each class: its own handler, a plain restart where that makes sense, or `report` (an event, nothing else). */
export const HANDLERS_FOR = {
  session_died: ['restart', 'report'],
  out_of_memory: ['scale_down_and_restart', 'restart', 'report'],
  permission_denied: ['fix_permissions', 'report'],
  network_error: ['retry_with_backoff', 'report'],
} as const satisfies Record<FailureKind, readonly string[]>;

export type HandlerFor<K extends FailureKind> = (typeof HANDLERS_FOR)[K][number];
export type HandlerName = HandlerFor<FailureKind>;

/** The seed's table. */
export const DEFAULT_HANDLERS: { readonly [K in FailureKind]: HandlerFor<K> } = {
  session_died: 'restart',
  out_of_memory: 'scale_down_and_restart',
  permission_denied: 'fix_permissions',
  network_error: 'retry_with_backoff',
};

/** retry_with_backoff: the first wait, the longest, and how many continue prompts at most. */
export interface NetworkRetry {
  first_ms: number;
  max_ms: number;
  attempts: number;
}

export const DEFAULT_NETWORK_RETRY: NetworkRetry = { first_ms: 10_000, max_ms: 10 * 60_000, attempts: 8 };

export type ErrorHandling = { [K in FailureKind]: HandlerFor<K> } & { network_retry: NetworkRetry };

/** What an agent is, for finding its priority. */
export interface PriorityKeys {
  type?: string | undefined;
  role?: string | undefined;
  tier?: SessionTier | undefined;
}

/**
 * An agent's level: by its type, else its role, else its tier (the most
 * specific first); `normal` when none is listed.
 */
export function priorityOf(priorities: Readonly<Record<string, PriorityLevel>>, agent: PriorityKeys): PriorityLevel {
  for (const key of [agent.type, agent.role, agent.tier]) if (key !== undefined && priorities[key]) return priorities[key];
  return 'normal';
}
