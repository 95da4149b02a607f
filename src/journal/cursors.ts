import type { Layout } from '../bus/layout.js';
import { readStateFile, updateStateFile } from '../bus/state-file.js';
import { writeReport } from '../bus/fs-safety.js';

/**
 * Delivery positions: for each consumer (`inbox:<agent>`, `tmux:<agent>`), the
 * journal offset before which every message for it has been handed over.
 * Persisted after the handing-over, so a crash re-delivers (at-least-once)
 * and never skips.
 */
export interface CursorFile {
  cursors: Record<string, number>;
  updated?: string;
}

export { inboxConsumer, tmuxConsumer } from '../bus/address-book.js';

export function readCursors(layout: Layout): Record<string, number> {
  return readStateFile<CursorFile>(layout.cursorsFile, { cursors: {} }).cursors ?? {};
}

/**
 * Only the router writes this file (under the root's single-router lock), so
 * no state-file lock: a router killed while holding one would leave the next
 * router unable to save its cursors until the lock went stale, and a second
 * crash then re-delivered far more. Atomic (rename), without fsync: after a
 * power loss the cursors may be older, which re-delivers, never skips.
 */
export async function writeCursors(layout: Layout, cursors: Record<string, number>): Promise<void> {
  writeReport(layout.cursorsFile, `${JSON.stringify({ cursors, updated: new Date().toISOString() } satisfies CursorFile)}\n`);
}

/** A `read` client's own position for an agent (independent of the router's delivery). */
export function readReadCursor(layout: Layout, agent: string): number | undefined {
  return readStateFile<{ offset?: number }>(layout.readCursorFile(agent), {}).offset;
}

export async function writeReadCursor(layout: Layout, agent: string, offset: number): Promise<void> {
  await updateStateFile<{ offset?: number }>(layout.readCursorFile(agent), {}, (current) => ({
    // Two readers of one agent may race: the position only moves forward.
    value: { offset: Math.max(current.offset ?? 0, offset) },
    result: undefined,
  }));
}
