import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { errnoCode, unlessFsRace, UnsafeBusRootError } from './errors.js';

const uid = (): number => process.getuid?.() ?? 0;

type Kind = 'directory' | 'fifo' | 'file';

/**
 * Refuses anything on a shared /tmp that another user could have planted:
 * a symlink, an entry owned by someone else, the wrong file type, or (for
 * directories) a mode that lets group or others in.
 */
export function checkEntry(file: string, kind: Kind, stat?: fs.Stats): fs.Stats {
  const st = stat ?? fs.lstatSync(file);
  if (st.isSymbolicLink()) throw new UnsafeBusRootError(`Refusing ${file}: it is a symlink (expected a ${kind})`);
  const ok = kind === 'directory' ? st.isDirectory() : kind === 'fifo' ? st.isFIFO() : st.isFile();
  if (!ok) throw new UnsafeBusRootError(`Refusing ${file}: expected a ${kind}, found ${describeType(st)}`);
  if (st.uid !== uid()) throw new UnsafeBusRootError(`Refusing ${file}: owned by uid ${st.uid}, not by you (uid ${uid()})`);
  if (kind === 'directory' && (st.mode & 0o077) !== 0) {
    throw new UnsafeBusRootError(
      `Refusing ${file}: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets other users in (expected 0700; run \`chmod 700 ${file}\` if it is yours)`,
    );
  }
  return st;
}

/**
 * OpenSSH's StrictModes rule for the directories above the bus root: each
 * must be owned by you or root, and not writable by group or others unless
 * sticky (as /tmp is). Otherwise another user could rename the root away and
 * put a symlink of theirs in its place, and files made by path would land in
 * their directory.
 */
export function checkAncestors(dir: string): void {
  let current = path.dirname(path.resolve(dir));
  for (;;) {
    const st = fs.statSync(current);
    if (st.uid !== uid() && st.uid !== 0) {
      throw new UnsafeBusRootError(`Refusing ${dir}: the directory ${current} above it is owned by uid ${st.uid}, not by you or root`);
    }
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      throw new UnsafeBusRootError(
        `Refusing ${dir}: the directory ${current} above it is writable by other users and not sticky (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); use a directory only you can write, or /tmp`,
      );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

export function describeType(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isFile()) return 'a regular file';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

/** Creates a private directory, or checks the one that is there. */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  checkEntry(dir, 'directory');
}

/**
 * Creates a FIFO (mode 0600) unless a safe one is there. Node has no mkfifo,
 * so this runs coreutils' `mkfifo` — only on creation, never on a hot path.
 */
export function ensureFifo(file: string): boolean {
  try {
    checkEntry(file, 'fifo');
    return false;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  try {
    execFileSync('mkfifo', ['-m', '600', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    // A concurrent creator may have won the race: accept its FIFO if it is safe.
    if (!fs.existsSync(file)) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
      throw new UnsafeBusRootError(`Could not create FIFO ${file}: ${stderr || String(error)}`, { cause: error });
    }
  }
  checkEntry(file, 'fifo');
  return true;
}

/**
 * Writes a file atomically: temp file in the same directory, fsync, rename.
 * `durable: false` skips the fsync, for reports that are rewritten every
 * moment anyway (the router's status): readers still never see half a file.
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600, durable = true): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/**
 * Rewrites a report that is rewritten every moment anyway (a status file):
 * atomically when it can, else — the disk is full, and a new file needs
 * space — in place, over the blocks the old one already has, padded with
 * blanks (JSON readers ignore them). Throws when neither works.
 */
export function writeReport(file: string, text: string): void {
  try {
    writeFileAtomic(file, text, 0o600, false);
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw error;
  }
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    const room = Math.max(st.size, st.blocks * 512);
    const bytes = Buffer.from(text);
    if (bytes.length > room) throw new Error(`no space left for ${file} (${bytes.length} bytes, ${room} in place)`);
    const padded = Buffer.alloc(Math.max(bytes.length, st.size), 0x20);
    bytes.copy(padded);
    if (padded.length > bytes.length) padded[padded.length - 1] = 0x0a;
    fs.writeSync(fd, padded, 0, padded.length, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** The names in a directory; none when it does not exist (yet, or any more). */
export function listDir(dir: string): string[] {
  return unlessFsRace(() => fs.readdirSync(dir), [], ['ENOENT']);
}
