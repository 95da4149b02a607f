import fs from 'node:fs';
import type { Layout } from './layout.js';
import { unlessFsRace } from './errors.js';
import { ensurePrivateDir } from './fs-safety.js';
import { parseJsonOrUndefined } from './json-scan.js';

/**
 * The steps of a pane or hook delivery after the journal took the message (`queued`):
 * - `typed`: pasted into the agent's input box;
 * - `submitted`: the profile saw the input box empty and the text in the transcript;
 * - `retry`: the text was not in the input box after the presses: it is typed again later;
 * - `unconfirmed`: the bounded presses ran out with no sign of a submission (an `event` went out);
 * - `nudged` (delivery mode `hooks`): a short wake-up was typed into the idle agent, whose hook then hands the message over;
 * - `handed` (`hooks`): the agent's hook gave it to the CLI (a turn-end block, or context for a prompt);
 * - `received`: the agent's own hook reported a submitted prompt holding the message, or (`hooks`) the CLI went on with what its hook handed over.
 */
export type TrailStage = 'typed' | 'submitted' | 'retry' | 'unconfirmed' | 'nudged' | 'handed' | 'received';
export const TRAIL_STAGES: readonly TrailStage[] = ['typed', 'submitted', 'retry', 'unconfirmed', 'nudged', 'handed', 'received'];

export interface TrailRecord {
  id: string;
  stage: TrailStage;
  /** ISO 8601. */
  at: string;
  /** Presses of the submit (and rescue) key, for submitted and unconfirmed. */
  presses?: number;
  /** What else is known: the CLI whose hook sent a receipt, why a retry. */
  detail?: string;
}

/** A trail past this size is moved to `<file>.1` (one older generation kept): pane deliveries are human-paced, so this is weeks of them. */
const ROTATE_BYTES = 4 * 1024 * 1024;

/**
 * Appends one step to state/trails/<agent>.ndjson: the router's pane and hook
 * sinks, and the agent's hooks, one line per write with O_APPEND (so their
 * lines never interleave).
 */
export function appendTrail(layout: Layout, agent: string, record: TrailRecord): void {
  ensurePrivateDir(layout.trailsDir);
  const file = layout.trailFile(agent);
  const size = unlessFsRace(() => fs.statSync(file).size, 0, ['ENOENT']);
  if (size > ROTATE_BYTES) fs.renameSync(file, `${file}.1`);
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(record)}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

/** The steps recorded for one message in an agent's trail, oldest first (by time: the router and the agent's hooks both write them). */
export function readTrail(layout: Layout, agent: string, id: string): TrailRecord[] {
  const file = layout.trailFile(agent);
  const needle = JSON.stringify(id);
  const records: TrailRecord[] = [];
  for (const name of [`${file}.1`, file]) {
    const text = unlessFsRace(() => fs.readFileSync(name, 'utf8'), '', ['ENOENT']);
    for (const line of text.split('\n')) {
      if (!line.includes(needle)) continue;
      const record = parseJsonOrUndefined<TrailRecord>(line);
      if (record && record.id === id && TRAIL_STAGES.includes(record.stage)) records.push(record);
    }
  }
  // ISO 8601 times in UTC compare as strings; the sort is stable, so steps of the same millisecond keep the order written.
  return records.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
