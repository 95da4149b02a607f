import type { Layout } from './layout.js';
import { BusError } from './errors.js';
import { readStateFile } from './state-file.js';
import { writeReport } from './fs-safety.js';

interface RoleTurnsFile {
  turns: Record<string, number>;
}

/**
 * Where each role's round robin stands, persisted in `state/role-turns.json`.
 * A `role:` address is resolved by whoever journals the message: the router,
 * or a `send` that found no router. Both hold the journal's single-writer lock
 * while they choose, so that lock is this file's lock too: the two never
 * choose from different positions, and four `send`s with no router go to four
 * agents in turn, as they would through the router.
 *
 * Saved after every choice, without fsync: a position lost in a crash only
 * repeats one turn. The choice itself is journaled (`rcpt`), so it never
 * changes on re-delivery.
 */
export class RoleTurns {
  private constructor(private readonly file: string, private readonly turns: Record<string, number>) {}

  /** Reads the positions; call it only while holding the journal's writer lock. */
  static load(layout: Layout): RoleTurns {
    let turns: Record<string, number> = {};
    try {
      const saved = readStateFile<Partial<RoleTurnsFile>>(layout.roleTurnsFile, {}).turns;
      if (saved && typeof saved === 'object') turns = saved;
    } catch (error) {
      // A damaged file costs only the balance of the next choices, never a message: start over.
      if (!(error instanceof BusError)) throw error;
    }
    return new RoleTurns(layout.roleTurnsFile, turns);
  }

  /** The next of `candidates` (already sorted) for `role`; moves the position and saves it. */
  next(role: string, candidates: readonly string[]): string | undefined {
    if (candidates.length === 0) return undefined;
    const turn = Number.isSafeInteger(this.turns[role]) && this.turns[role]! >= 0 ? this.turns[role]! : 0;
    this.turns[role] = turn + 1;
    this.save();
    return candidates[turn % candidates.length];
  }

  private save(): void {
    try {
      writeReport(this.file, `${JSON.stringify({ turns: this.turns } satisfies RoleTurnsFile)}\n`);
    } catch {
      // Best effort (a full disk): the next choice repeats a turn, nothing is lost.
    }
  }
}
