import fs from 'node:fs';
import path from 'node:path';
import { InvalidMessageError } from '../bus/errors.js';
import { normalize, parseLine, type Normalized, type Origin } from '../bus/envelope.js';
import { checkEntry } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { BROADCAST, ORCHESTRATOR, parsePairPipeName } from '../bus/names.js';

const SPOOL_NAME = /^[0-9A-Z]{26}\.json$/;

/** What the router learns from one line. */
export type Ingested =
  | { kind: 'blank' }
  | { kind: 'accepted'; normalized: Normalized; spoolFile?: string }
  | { kind: 'rejected'; error: InvalidMessageError };

/** What a pipe's location and name say about the lines written into it. */
export function originOf(layout: Layout, file: string): Origin | undefined {
  const name = path.basename(file);
  if (file === layout.orchestratorPipe) return { pipe: name, to: ORCHESTRATOR };
  if (file === layout.broadcastPipe) return { pipe: name, to: BROADCAST };
  if (file === layout.busPipe) return { pipe: name };
  if (path.dirname(file) === layout.agentsDir) {
    const pair = parsePairPipeName(name);
    if (pair) return { pipe: `agents/${name}`, from: pair.from, to: pair.to };
  }
  return undefined;
}

/**
 * Turns one raw line into an accepted envelope or a rejection. A spool
 * reference (`{"$spool":"<file>"}`, what `send` writes for messages longer
 * than PIPE_BUF) is resolved here to the message in the spool file.
 */
export function ingestLine(
  layout: Layout,
  bytes: Buffer,
  origin: Origin,
  now: number,
  makeId?: (now: number) => string,
  maxLineBytes = Infinity,
): Ingested {
  try {
    const parsed = parseLine(bytes);
    if (parsed.kind === 'blank') return { kind: 'blank' };
    if (parsed.kind === 'object' && typeof parsed.value.$spool === 'string' && Object.keys(parsed.value).length === 1) {
      const spoolFile = resolveSpool(layout, parsed.value.$spool);
      // The size limit holds for a message however it came.
      const size = fs.statSync(spoolFile).size - 1;
      if (size > maxLineBytes) {
        throw new InvalidMessageError('too_long', `Spooled message of ${size} bytes is longer than ${maxLineBytes} bytes`);
      }
      const inner = parseLine(fs.readFileSync(spoolFile).subarray(0, -1));
      if (inner.kind === 'blank') throw new InvalidMessageError('invalid_spool', `Spool file ${parsed.value.$spool} is empty`);
      return { kind: 'accepted', normalized: normalize(inner, origin, now, makeId), spoolFile };
    }
    return { kind: 'accepted', normalized: normalize(parsed, origin, now, makeId) };
  } catch (error) {
    if (error instanceof InvalidMessageError) return { kind: 'rejected', error };
    throw error;
  }
}

function resolveSpool(layout: Layout, name: string): string {
  if (!SPOOL_NAME.test(name)) throw new InvalidMessageError('invalid_spool', `Invalid spool reference \`${name.slice(0, 40)}\``);
  const file = path.join(layout.spoolDir, name);
  try {
    checkEntry(file, 'file');
  } catch (error) {
    throw new InvalidMessageError('invalid_spool', `Spool file ${name} unusable: ${(error as Error).message}`);
  }
  return file;
}
