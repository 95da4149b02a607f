import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { readJournal } from '../../src/journal/reader.js';
import type { Envelope } from '../../src/bus/envelope.js';

/** A bash loop writing `count` numbered JSON lines into a pipe, one `echo > pipe` per message (a careless script). */
export function shellWriter(pipe: string, sender: string, count: number, to?: string, ignorePipeErrors = false): ChildProcess {
  const toField = to ? `\\"to\\":\\"${to}\\",` : '';
  const fromField = to ? `\\"from\\":\\"${sender}\\",` : '';
  const script = `${ignorePipeErrors ? "trap '' PIPE; " : ''}for i in $(seq 1 ${count}); do echo "{${fromField}${toField}\\"body\\":{\\"s\\":\\"${sender}\\",\\"i\\":$i}}" > "$1"; done`;
  return spawn('bash', ['-c', script, 'writer', pipe], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The exit code; null when a signal ended it (that happened already, or happens later). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export interface Numbered {
  s: string;
  i: number;
}

/** Every numbered body in the journal, in journal order. */
export function journalBodies(journalDir: string): { bodies: Numbered[]; envelopes: Envelope[] } {
  const bodies: Numbered[] = [];
  const envelopes: Envelope[] = [];
  let position = 0;
  for (;;) {
    const { lines, next } = readJournal(journalDir, position, 8 * 1024 * 1024);
    for (const l of lines) {
      const envelope = JSON.parse(l.line) as Envelope;
      envelopes.push(envelope);
      const body = envelope.body as Partial<Numbered> | null;
      if (body && typeof body === 'object' && typeof body.s === 'string' && typeof body.i === 'number') bodies.push(body as Numbered);
    }
    if (next === position) break;
    position = next;
  }
  return { bodies, envelopes };
}

/** Numbered bodies in NDJSON lines read from an inbox (a file a reader appended to). */
export function inboxBodies(file: string): Numbered[] {
  if (!fs.existsSync(file)) return [];
  const out: Numbered[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const body = (JSON.parse(line) as Envelope).body as Numbered;
    if (body && typeof body.i === 'number') out.push(body);
  }
  return out;
}

/**
 * Checks numbered messages per sender: each of 1..count present (exactly once
 * when `exactlyOnce`), and the first arrivals in increasing order.
 */
export function checkSequences(bodies: Numbered[], counts: Record<string, number>, exactlyOnce: boolean): string[] {
  const problems: string[] = [];
  const seen = new Map<string, Map<number, number>>();
  const lastFirst = new Map<string, number>();
  for (const { s, i } of bodies) {
    const mine = seen.get(s) ?? new Map<number, number>();
    seen.set(s, mine);
    const n = (mine.get(i) ?? 0) + 1;
    mine.set(i, n);
    if (n === 1) {
      const last = lastFirst.get(s) ?? 0;
      if (i < last && problems.length < 10) problems.push(`${s}: ${i} arrived after ${last}`);
      lastFirst.set(s, Math.max(last, i));
    }
  }
  for (const [s, count] of Object.entries(counts)) {
    const mine = seen.get(s) ?? new Map();
    let missing = 0;
    let dup = 0;
    for (let i = 1; i <= count; i++) {
      const n = mine.get(i) ?? 0;
      if (n === 0) missing++;
      if (n > 1) dup++;
    }
    if (missing) problems.push(`${s}: ${missing} of ${count} missing`);
    if (exactlyOnce && dup) problems.push(`${s}: ${dup} duplicated`);
  }
  return problems;
}

/** Resident set size of a process in bytes (from /proc). */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}
