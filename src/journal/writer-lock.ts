import fs from 'node:fs';
import lockfile from 'proper-lockfile';
import { RouterAlreadyRunningError, unlessFsRace } from '../bus/errors.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';
import type { Layout } from '../bus/layout.js';
import { pidAlive } from '../bus/pid-alive.js';

// The lock directory's mtime is refreshed every UPDATE ms; a holder killed with
// -9 leaves a lock that counts as stale after STALE ms.
const STALE_MS = 5_000;
const UPDATE_MS = 1_000;

export interface WriterLock {
  release(): Promise<void>;
  /** Set when the lock was lost (its holder stalled past the stale time and someone took it over). */
  readonly compromised: Error | undefined;
}

/**
 * Takes the root's writer lock: exactly one process (the keeper, a foreground
 * router, or `send` while nothing else runs) writes the journal. `waitMs`
 * covers a previous holder that was killed and whose lock is going stale.
 */
export async function acquireWriterLock(
  layout: Layout,
  options: { waitMs?: number; onCompromised?: (error: Error) => void } = {},
): Promise<WriterLock> {
  return acquireProcessLock(
    layout.routerLockTarget,
    () => new RouterAlreadyRunningError(`A router already runs for ${layout.root}${holderText(layout)} (stop it with \`bmad-bus stop\`)`),
    options,
  );
}

/**
 * A lock one long-running process holds while it lives (proper-lockfile: a
 * directory whose mtime the holder refreshes). `busy` makes the error for
 * when another live process holds it.
 */
export async function acquireProcessLock(
  target: string,
  busy: () => Error,
  options: { waitMs?: number; onCompromised?: (error: Error) => void } = {},
): Promise<WriterLock> {
  const waitMs = options.waitMs ?? 0;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      stale: STALE_MS,
      update: UPDATE_MS,
      realpath: false,
      retries: waitMs > 0 ? { retries: Math.ceil(waitMs / 100), factor: 1, minTimeout: 100, maxTimeout: 100 } : 0,
      // The default handler throws from a timer; the holder decides what losing it means.
      onCompromised: (error) => {
        compromised = error;
        options.onCompromised?.(error);
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      const busyError = busy();
      (busyError as Error & { cause?: unknown }).cause = error;
      throw busyError;
    }
    throw error;
  }
  return {
    release: async () => {
      await release().catch(() => undefined);
    },
    get compromised() {
      return compromised;
    },
  };
}

/** Whether some live process holds the writer lock. */
export async function isWriterLocked(layout: Layout): Promise<boolean> {
  return lockfile.check(layout.routerLockTarget, { stale: STALE_MS, realpath: false });
}

function holderText(layout: Layout): string {
  for (const file of [layout.keeperStatusFile, layout.routerStatusFile]) {
    // No status yet (or one being replaced): say nothing about the holder.
    const text = unlessFsRace(() => fs.readFileSync(file, 'utf8'), undefined, ['ENOENT']);
    const status = text === undefined ? undefined : parseJsonOrUndefined<{ pid?: number }>(text);
    if (status?.pid && pidAlive(status.pid)) return ` (pid ${status.pid})`;
  }
  return '';
}

