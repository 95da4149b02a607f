import type { NetworkRetry } from './resource-types.js';

/**
 * retry_with_backoff as a pure state machine per agent: what the screen
 * says each pass (the CLI gave up on an API error, or not; busy or not) goes
 * in, what to do comes out. No clock, no tmux: the caller passes `now` and
 * does the typing (supervisor-network.ts).
 *
 * - A fresh error: the continue prompt is due after `first_ms`, doubling with
 *   each attempt up to `max_ms`; a limit that names its reset waits until then.
 * - At the due time, with the error still the CLI's latest word: type it.
 * - After typing: the same error again is a new attempt; no error (and the CLI
 *   not busy, a moment after typing) is a recovery. Past `attempts`: give up
 *   until the screen changes.
 * - The count starts over only after `max_ms` without an error, so an agent
 *   that fails again and again stays bounded.
 */

export type RetryPhase = 'waiting' | 'typed' | 'ok' | 'gave_up' | 'reported';

export interface RetryState {
  phase: RetryPhase;
  /** Continue prompts typed so far. */
  attempts: number;
  /** When the next continue prompt is due (phase waiting). */
  dueAt: number;
  typedAt: number;
  /** Since when no error shows (phase ok). */
  okSince: number;
}

/** How long after typing the CLI gets to show it took the turn before "no error" counts as recovered. */
export const SETTLE_AFTER_TYPING_MS = 3000;
/** After the reset time a limit names, a little more: clocks and minute rounding differ. */
export const RESET_MARGIN_MS = 5000;

export type RetryStep =
  | { kind: 'none' }
  /** A new failure: announce it; then the prompt is due at `dueAt`. */
  | { kind: 'failure'; attempt: number; dueAt: number; waitMs: number; reset: boolean }
  | { kind: 'type'; attempt: number }
  | { kind: 'recovered'; attempts: number }
  | { kind: 'gave_up'; attempts: number };

export interface Observation {
  /** The CLI's screen shows an error it gave up on (readNetworkFailure). */
  error: boolean;
  /** When a limit on the error's line resets (ms since the epoch). */
  resetAt?: number | undefined;
  /** The screen shows the CLI working (a spinner). */
  busy: boolean;
}

/** The wait before continue prompt number `attempt` (1-based). */
export function backoffMs(retry: NetworkRetry, attempt: number): number {
  return Math.min(retry.first_ms * 2 ** (attempt - 1), retry.max_ms);
}

/** One step for one agent; `state` is undefined for an agent with no error history (the caller keeps what comes back). */
export function stepRetry(state: RetryState | undefined, seen: Observation, retry: NetworkRetry, now: number, handler: 'retry_with_backoff' | 'report'): { state: RetryState | undefined; step: RetryStep } {
  if (!seen.error) {
    if (!state) return { state, step: { kind: 'none' } };
    if (state.phase === 'typed') {
      if (seen.busy || now - state.typedAt < SETTLE_AFTER_TYPING_MS) return { state, step: { kind: 'none' } };
      return { state: { ...state, phase: 'ok', okSince: now }, step: { kind: 'recovered', attempts: state.attempts } };
    }
    if (state.phase === 'waiting' || state.phase === 'gave_up' || state.phase === 'reported') {
      // The error went away by itself (or someone typed): no prompt is needed any more.
      return { state: { ...state, phase: 'ok', okSince: now }, step: state.attempts > 0 ? { kind: 'recovered', attempts: state.attempts } : { kind: 'none' } };
    }
    // ok: forget the count after a long enough time without errors.
    return { state: now - state.okSince >= retry.max_ms ? undefined : state, step: { kind: 'none' } };
  }
  const attempts = state?.attempts ?? 0;
  const phase = state?.phase;
  if (phase === 'gave_up' || phase === 'reported') return { state, step: { kind: 'none' } };
  if (phase === 'waiting') {
    if (now < state!.dueAt) return { state, step: { kind: 'none' } };
    return { state: { ...state!, phase: 'typed', attempts: attempts + 1, typedAt: now }, step: { kind: 'type', attempt: attempts + 1 } };
  }
  // A fresh error: none before, the one after a recovery, or the answer to the prompt just typed.
  if (handler === 'report') {
    return { state: { phase: 'reported', attempts, dueAt: 0, typedAt: 0, okSince: 0 }, step: { kind: 'failure', attempt: attempts + 1, dueAt: 0, waitMs: 0, reset: false } };
  }
  if (attempts >= retry.attempts) return { state: { ...(state ?? fresh()), phase: 'gave_up' }, step: { kind: 'gave_up', attempts } };
  const reset = seen.resetAt !== undefined && seen.resetAt > now;
  const dueAt = reset ? seen.resetAt! + RESET_MARGIN_MS : now + backoffMs(retry, attempts + 1);
  return {
    state: { ...(state ?? fresh()), phase: 'waiting', attempts, dueAt },
    step: { kind: 'failure', attempt: attempts + 1, dueAt, waitMs: dueAt - now, reset },
  };
}

function fresh(): RetryState {
  return { phase: 'waiting', attempts: 0, dueAt: 0, typedAt: 0, okSince: 0 };
}
