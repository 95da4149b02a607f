import fs from 'node:fs';
import { listDir } from '../bus/fs-safety.js';
import path from 'node:path';
import { errnoCode } from '../bus/errors.js';

/**
 * The journal is a sequence of segment files `journal/<start>.ndjson`, where
 * `<start>` is the global byte offset of the segment's first line. A position
 * in the journal (a cursor) is one such global offset, so positions stay
 * valid when old segments are pruned.
 */
export interface Segment {
  start: number;
  file: string;
  size: number;
  mtimeMs: number;
}

const SEGMENT_PATTERN = /^(\d{16})\.ndjson$/;

export function segmentFileName(start: number): string {
  return `${String(start).padStart(16, '0')}.ndjson`;
}

export function listSegments(dir: string): Segment[] {
  const names = listDir(dir);
  const segments: Segment[] = [];
  for (const name of names) {
    const match = SEGMENT_PATTERN.exec(name);
    if (!match) continue;
    const file = path.join(dir, name);
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile()) continue;
      segments.push({ start: Number(match[1]), file, size: st.size, mtimeMs: st.mtimeMs });
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error; // pruned meanwhile
    }
  }
  return segments.sort((a, b) => a.start - b.start);
}

/** The offset after the last byte of the journal (0 for an empty journal). */
export function journalEnd(dir: string): number {
  const segments = listSegments(dir);
  const last = segments.at(-1);
  return last ? last.start + last.size : 0;
}

/** The offset of the oldest byte still kept (segments before it were pruned). */
export function journalStart(dir: string): number {
  return listSegments(dir)[0]?.start ?? 0;
}
