import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { UnsafeBusRootError, errnoCode } from './errors.js';

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
