import fs from 'node:fs';
import path from 'node:path';
import { readChildren, readStat } from '../bus/proc-scan.js';

/** Interpreters whose script, not themselves, names the program (`node …/bin/gemini` is Gemini CLI). */
const INTERPRETERS = new Set(['node', 'nodejs', 'bun', 'deno', 'python', 'python3']);
/** A pane's tree is small; this bounds a fork bomb's. */
const MAX_PROCESSES = 256;

/**
 * The program names in a pane's process tree, root first (breadth first):
 * for each process its `comm`, the base name of its argv[0] and, for an
 * interpreter, of its script. What `--profile auto` matches the profiles'
 * `programs` against when the agent's command does not say.
 */
export function programsInTree(rootPid: number): string[][] {
  const out: string[][] = [];
  const queue = [rootPid];
  const seen = new Set<number>();
  while (queue.length > 0 && out.length < MAX_PROCESSES) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const names = programNames(pid);
    if (names.length > 0) out.push(names);
    queue.push(...(readChildren(pid) ?? []));
  }
  return out;
}

function programNames(pid: number): string[] {
  const stat = readStat(pid);
  if (!stat) return [];
  const names = new Set([stat.comm]);
  let argv: string[] = [];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // Gone since its stat was read: its comm is all there is.
  }
  const first = argv[0] ? path.basename(argv[0]) : undefined;
  if (first) names.add(first);
  if (first && INTERPRETERS.has(first)) {
    const script = argv.slice(1).find((a) => !a.startsWith('-'));
    if (script) names.add(path.basename(script));
  }
  return [...names];
}
