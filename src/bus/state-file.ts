import fs from 'node:fs';
import lockfile from 'proper-lockfile';
import { BusError, unlessFsRace } from './errors.js';
import { writeFileAtomic } from './fs-safety.js';

/** Reads a JSON state file; a missing file is `fallback`. Writes are atomic, so no lock is needed to read. */
export function readStateFile<T>(file: string, fallback: T): T {
  const text = unlessFsRace(() => fs.readFileSync(file, 'utf8'), undefined, ['ENOENT']);
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new BusError(`State file ${file} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

const LOCK_OPTIONS = {
  // A state-file lock is held for one read-modify-write, milliseconds.
  stale: 10_000,
  update: 2_000,
  realpath: false,
  retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100 },
} as const;

/**
 * Read-modify-write of a JSON state file under its lock (proper-lockfile).
 * `change` returns the new value, or undefined to leave the file as it is.
 * The lock is never held across anything slower than this one update.
 * `lockRetries` bounds the wait for a busy lock (the default waits seconds;
 * an agent's hook must not).
 */
export async function updateStateFile<T, R = void>(
  file: string,
  fallback: T,
  change: (current: T) => { value?: T; result: R } | Promise<{ value?: T; result: R }>,
  options: { lockRetries?: number } = {},
): Promise<R> {
  let compromised: Error | undefined;
  const release = await lockfile.lock(file, {
    ...LOCK_OPTIONS,
    ...(options.lockRetries !== undefined ? { retries: { ...LOCK_OPTIONS.retries, retries: options.lockRetries } } : {}),
    // The default handler throws from a timer and kills the process; note it instead.
    onCompromised: (error) => {
      compromised = error;
    },
  });
  try {
    const outcome = await change(readStateFile(file, fallback));
    if (compromised) throw new BusError(`Lost the lock on ${file} while updating it`, { cause: compromised });
    if (outcome.value !== undefined) writeFileAtomic(file, `${JSON.stringify(outcome.value, null, 2)}\n`);
    return outcome.result;
  } finally {
    await release().catch(() => undefined);
  }
}

/** Writes a state file under its lock, replacing what was there. */
export async function writeStateFile<T>(file: string, value: T): Promise<void> {
  await updateStateFile<T | undefined>(file, undefined, () => ({ value, result: undefined }));
}
