import type { AgentHealth } from './supervisor-types.js';

/**
 * What the supervisor remembers about one agent between passes, and the
 * decisions each pass takes from it. The functions here touch no tmux, no
 * file and no clock (the caller passes `now`): they change the watch and say
 * what to do; supervisor-health.ts does it.
 */
export interface Watch {
  /** Restarts since the agent was last healthy for `healthyAfterMs`. */
  attempts: number;
  lastRestartAt: number;
  nextRestartAt: number;
  /** The restart in flight (settling, pasting the restore prompt); checks skip the agent meanwhile. */
  restart: Promise<void> | undefined;
  /** Passes in a row that saw a bare shell where the agent's program belongs (one may be a start-up moment). */
  exitedSeen: number;
  hash: string | undefined;
  lastChange: number;
  firstSeen: number;
  /** When the last resource-limit warning went out (0: within limits). */
  breachAt: number;
  /** Resident memory of its tree at the last sample (bytes; 0 before one): a SIGKILL near the limit is out_of_memory. */
  lastRss: number;
  /** Its death was reported (session_died: report), not acted on: nothing more until it runs again. */
  reportedDead: boolean;
  /** The pane program whose tree got its nice value (a restart brings a new one). */
  nicedPid: number | undefined;
  /** Since when its pane shows dead without tmux knowing how the program ended (0: not so). */
  deadUnreapedAt: number;
}

/** A resource-limit warning is repeated at most this often while the agent stays over. */
export const LIMIT_REPEAT_MS = 5 * 60_000;
/** The longest backoff between two restarts. */
export const MAX_BACKOFF_MS = 5 * 60_000;

export function newWatch(now: number): Watch {
  return {
    attempts: 0, lastRestartAt: 0, nextRestartAt: 0, restart: undefined, exitedSeen: 0, hash: undefined, lastChange: now, firstSeen: now, breachAt: 0,
    lastRss: 0, reportedDead: false, nicedPid: undefined, deadUnreapedAt: 0,
  };
}

/**
 * Whether this pass acts on what it saw. A bare shell for one pass can be
 * the moment before the agent's program starts, so `exited` counts only the
 * second pass in a row.
 */
export function confirmed(watch: Watch, state: 'alive' | 'dead' | 'missing' | 'exited'): boolean {
  if (state !== 'exited') {
    watch.exitedSeen = 0;
    return true;
  }
  watch.exitedSeen++;
  return watch.exitedSeen >= 2;
}

/**
 * The agent is alive. True when it was dead or failed before (someone brought
 * it back by hand or it came back): a failed one gets its full retries again.
 * Alive for `healthyAfterMs` after its last restart, its count starts over.
 */
export function noteAlive(watch: Watch, status: AgentHealth | undefined, now: number, healthyAfterMs: number): boolean {
  const back = status === 'failed' || status === 'dead';
  if (status === 'failed') watch.attempts = 0;
  if (watch.attempts > 0 && now - watch.lastRestartAt >= healthyAfterMs) watch.attempts = 0;
  return back;
}

/**
 * The agent is not alive: leave it (it is failed already), fail it (out of
 * retries), wait (the backoff has not passed) or restart it.
 */
export function deadStep(watch: Watch, status: AgentHealth | undefined, maxRetries: number, now: number): 'leave' | 'fail' | 'wait' | 'restart' {
  if (status === 'failed' || status === 'stopped') return 'leave';
  if (watch.attempts >= maxRetries) return 'fail';
  if (now < watch.nextRestartAt) return 'wait';
  return 'restart';
}

/** A restart begins: one more attempt, and the next no sooner than the backoff, doubling each time up to MAX_BACKOFF_MS. */
export function noteRestart(watch: Watch, now: number, backoffMs: number): void {
  watch.attempts++;
  watch.lastRestartAt = now;
  watch.nextRestartAt = now + Math.min(backoffMs * 2 ** (watch.attempts - 1), MAX_BACKOFF_MS);
}

/**
 * What the pane's screen (its hash) says: `active` when an idle agent's pane
 * changed, `idle` when it showed nothing new for `idleTimeoutMs`, else nothing.
 */
export function noteScreen(
  watch: Watch, hash: string, status: AgentHealth | undefined, now: number, idleTimeoutMs: number,
): { change: 'active' } | { change: 'idle'; idleMs: number } | undefined {
  if (hash !== watch.hash) {
    watch.hash = hash;
    watch.lastChange = now;
    return status === 'idle' ? { change: 'active' } : undefined;
  }
  if (now - watch.lastChange >= idleTimeoutMs && status !== 'idle') return { change: 'idle', idleMs: now - watch.lastChange };
  return undefined;
}

/** Whether over-limit warnings go out now: on the first breach, then at most every LIMIT_REPEAT_MS while it lasts. */
export function limitWarningDue(watch: Watch, breached: boolean, now: number): boolean {
  if (!breached) {
    watch.breachAt = 0;
    return false;
  }
  if (watch.breachAt !== 0 && now - watch.breachAt < LIMIT_REPEAT_MS) return false;
  watch.breachAt = now;
  return true;
}
