import fs from 'node:fs';
import path from 'node:path';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { AddressBook, consumerKindOf } from '../bus/address-book.js';
import { readCursors } from './cursors.js';
import { listSegments } from './segments.js';
import { readStateFile } from '../bus/state-file.js';
import { BusError, errnoCode } from '../bus/errors.js';

export interface PruneResult {
  deleted: string[];
  bytes: number;
  /** The oldest position some cursor still needs. */
  oldestNeeded: number;
  keptBecause?: string;
}

/**
 * Deletes whole journal segments last written more than `olderThanMs` ago,
 * oldest first, never the segment being written, and never one holding a
 * position a delivery cursor or a `read` position still needs.
 */
export async function pruneJournal(layout: Layout, options: { olderThanMs: number; dryRun?: boolean }): Promise<PruneResult> {
  const segments = listSegments(layout.journalDir);
  const oldestNeeded = oldestPositionNeeded(layout, segments.at(-1) ? segments.at(-1)!.start + segments.at(-1)!.size : 0);
  const cutoff = Date.now() - options.olderThanMs;
  const result: PruneResult = { deleted: [], bytes: 0, oldestNeeded };
  for (const segment of segments.slice(0, -1)) {
    const end = segment.start + segment.size;
    if (segment.mtimeMs > cutoff) {
      result.keptBecause = `segments newer than the cutoff`;
      break;
    }
    if (end > oldestNeeded) {
      result.keptBecause = `a cursor still needs offset ${oldestNeeded}`;
      break;
    }
    if (!options.dryRun) fs.rmSync(segment.file, { force: true });
    result.deleted.push(path.basename(segment.file));
    result.bytes += segment.size;
  }
  return result;
}

function refusal(why: string, cause?: unknown): BusError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new BusError(`Refusing to prune: ${why}${detail} (a reader may still need the journal; fix or remove it, then prune again)`, { cause });
}

/** The smallest position any consumer still needs: saved cursors, the live router's, and `read` positions. */
function oldestPositionNeeded(layout: Layout, end: number): number {
  const registry = readRegistry(layout);
  const book = new AddressBook(registry);
  const saved = readCursors(layout);
  const live = readStateFile<{ agents?: Record<string, { consumers?: Record<string, { cursor: number }> }> }>(layout.routerStatusFile, {});
  let oldest = end;
  for (const name of book.names) {
    for (const key of book.consumersOf(name)) {
      const liveCursor = live.agents?.[name]?.consumers?.[consumerKindOf(key)]?.cursor;
      const candidates = [saved[key], liveCursor, saved[key] === undefined ? registry.agents[name]?.since : undefined].filter(
        (v): v is number => typeof v === 'number',
      );
      if (candidates.length > 0) oldest = Math.min(oldest, ...candidates);
    }
  }
  // Fail closed: a reader whose position cannot be read may still need every segment.
  let names: string[] = [];
  try {
    names = fs.readdirSync(layout.readCursorsDir);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw refusal(`cannot list the read positions in ${layout.readCursorsDir}`, error);
  }
  for (const file of names) {
    if (!file.endsWith('.json')) continue;
    const where = path.join(layout.readCursorsDir, file);
    let offset: unknown;
    try {
      offset = readStateFile<{ offset?: unknown }>(where, {}).offset;
    } catch (error) {
      throw refusal(`cannot read the read position ${where}`, error);
    }
    if (typeof offset !== 'number' || !Number.isFinite(offset)) throw refusal(`the read position ${where} holds no offset`);
    oldest = Math.min(oldest, offset);
  }
  return oldest;
}
