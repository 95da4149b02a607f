import fs from 'node:fs';
import path from 'node:path';
import { unlessFsRace } from './errors.js';
import { describeType } from './fs-safety.js';
import type { Layout } from './layout.js';

/**
 * The permission_denied handler's eyes and hands: what of a bus root has a
 * mode that is not the bus's own (after a `chmod`, a strange umask, a copy),
 * and the repair of what is safely ours.
 *
 * Every entry of the bus is the user's own: directories are 0700, FIFOs and
 * files 0600. A repair sets exactly that mode, so it only ever takes group
 * and other bits away (and gives the owner back the bits the bus needs):
 * nothing is loosened. What is not safely ours is never touched, only
 * reported: an entry owned by someone else, a symlink (it would redirect the
 * repair), or an entry of a type the bus never makes there.
 */

export type PermissionFinding =
  /** Ours, of the right type, with the wrong mode: chmod to `want`. */
  | { kind: 'repair'; path: string; was: number; want: number }
  /** Not safely ours: left alone, reported. */
  | { kind: 'refuse'; path: string; reason: string };

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Transient entries of other tools (lock directories, atomic-write temps), which come and go within a moment. */
const TRANSIENT = /\.(lock|tmp)$/;

/** What a mode looks like in an event: `0777`. */
export function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * The finding for one entry from its `lstat`, or undefined when it is fine.
 * Pure: `uid` is the bus's owner; `expected` the type the layout names for
 * this path, when it names one.
 */
export function judgeEntry(file: string, st: Pick<fs.Stats, 'uid' | 'mode'> & TypeChecks, uid: number, expected?: 'directory' | 'fifo' | 'file'): PermissionFinding | undefined {
  if (st.isSymbolicLink()) return { kind: 'refuse', path: file, reason: 'a symlink (a repair would follow it)' };
  if (st.uid !== uid) return { kind: 'refuse', path: file, reason: `owned by uid ${st.uid}, not by the bus's owner (uid ${uid})` };
  const type = st.isDirectory() ? 'directory' : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : undefined;
  if (!type) return { kind: 'refuse', path: file, reason: `${describeType(st as fs.Stats)}, which the bus never makes` };
  if (expected && type !== expected) return { kind: 'refuse', path: file, reason: `expected a ${expected}, found ${describeType(st as fs.Stats)}` };
  const want = type === 'directory' ? DIR_MODE : FILE_MODE;
  if ((st.mode & 0o7777) === want) return undefined;
  return { kind: 'repair', path: file, was: st.mode & 0o7777, want };
}

type TypeChecks = Pick<fs.Stats, 'isSymbolicLink' | 'isDirectory' | 'isFIFO' | 'isFile' | 'isSocket'>;

/**
 * Every finding under the bus root, the root first. Directories that are not
 * safely ours are not entered. An entry that vanishes while it is looked at
 * is skipped (files come and go).
 */
export function auditBusRoot(layout: Layout, uid: number = process.getuid?.() ?? 0): PermissionFinding[] {
  const findings: PermissionFinding[] = [];
  const expected = new Map<string, 'directory' | 'fifo' | 'file'>([[layout.root, 'directory']]);
  for (const dir of layout.directories) expected.set(dir, 'directory');
  for (const pipe of layout.fixedPipes) expected.set(pipe, 'fifo');
  const visit = (file: string): void => {
    const st = unlessFsRace(() => fs.lstatSync(file), undefined);
    if (!st) return;
    const finding = judgeEntry(file, st, uid, expected.get(file));
    if (finding) findings.push(finding);
    if (!st.isDirectory() || finding?.kind === 'refuse') return;
    const names = unlessFsRace(() => fs.readdirSync(file), [] as string[]);
    for (const name of names.sort()) if (!TRANSIENT.test(name)) visit(path.join(file, name));
  };
  visit(layout.root);
  return findings;
}

/**
 * Sets a repair's mode through a descriptor opened without following links,
 * after checking it is still the same entry, ours, with the mode seen: an
 * entry swapped meanwhile is not touched. True when the mode was set.
 */
export function applyRepair(finding: Extract<PermissionFinding, { kind: 'repair' }>, uid: number = process.getuid?.() ?? 0): boolean {
  const before = unlessFsRace(() => fs.lstatSync(finding.path), undefined);
  if (!before || before.isSymbolicLink() || before.uid !== uid || (before.mode & 0o7777) !== finding.was) return false;
  // O_NONBLOCK: opening a FIFO to read must not wait for a writer.
  let fd: number | undefined;
  try {
    fd = fs.openSync(finding.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') return unlessFsRace(() => { throw error; }, false);
    // A mode without the owner's read bit cannot be opened: set it by path (just checked: ours, not a symlink, in a root only we can enter).
    fs.chmodSync(finding.path, finding.want);
    return true;
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.ino !== before.ino || st.dev !== before.dev || st.uid !== uid) return false;
    fs.fchmodSync(fd, finding.want);
    return true;
  } finally {
    fs.closeSync(fd);
  }
}
