import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Layout } from '../bus/layout.js';
import { writeFileAtomic } from '../bus/fs-safety.js';
import { verifyRoot } from '../bus/root.js';
import { originOf } from './ingest.js';
import { acquireWriterLock } from '../journal/writer-lock.js';
import type { KeeperStatus } from './router-status.js';

export interface KeeperOptions {
  /** The command line that runs one router (the CLI's `router` command with its options). */
  routerCommand: string[];
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** A router that ran this long before dying starts the backoff over. */
const HEALTHY_RUN_MS = 30_000;

/**
 * The small process `bmad-bus start` runs. It holds the root's lock and an fd
 * on every pipe writers write into (including pair pipes made later), so
 * bytes written while the router is down stay in the kernel's pipe buffer —
 * which the kernel would throw away when the last fd closes. It runs the
 * router as a child and restarts it, with backoff, whenever it dies.
 */
export async function runKeeper(layout: Layout, options: KeeperOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} bmad-bus keeper: ${line}\n`));
  verifyRoot(layout);
  const lock = await acquireWriterLock(layout, { waitMs: 6_000, onCompromised: (e) => log(`lost the lock: ${e.message}`) });
  const held = new Map<string, number>();
  const hold = (file: string): void => {
    if (held.has(file) || !originOf(layout, file)) return;
    try {
      const st = fs.lstatSync(file);
      if (!st.isFIFO() || st.uid !== process.getuid?.()) return;
      // O_RDWR never blocks and never fails for want of a reader; the keeper never reads.
      held.set(file, fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW));
    } catch (error) {
      log(`could not hold ${file}: ${(error as Error).message}`);
    }
  };
  const rescan = (): void => {
    for (const file of layout.fixedPipes) hold(file);
    let names: string[] = [];
    try {
      names = fs.readdirSync(layout.agentsDir);
    } catch {
      return;
    }
    const present = new Set(names.map((n) => path.join(layout.agentsDir, n)));
    for (const file of present) hold(file);
    for (const [file, fd] of held) {
      if (path.dirname(file) === layout.agentsDir && !present.has(file)) {
        fs.closeSync(fd);
        held.delete(file);
      }
    }
  };
  rescan();
  const watcher = fs.watch(layout.agentsDir, () => rescan());
  watcher.on('error', () => undefined);
  // fs.watch can miss events (a full inotify queue): look again every second.
  const rescanTimer = setInterval(rescan, 1000);

  const status: KeeperStatus = { pid: process.pid, root: layout.root, started: new Date().toISOString(), restarts: 0 };
  const writeStatus = (): void => writeFileAtomic(layout.keeperStatusFile, `${JSON.stringify(status)}\n`);
  writeStatus();

  let child: ChildProcess | undefined;
  let stopping = false;
  let backoff = MIN_BACKOFF_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const startRouter = (): void => {
    restartTimer = undefined;
    if (stopping) return;
    const startedAt = Date.now();
    const [command, ...args] = options.routerCommand;
    const routerChild = spawn(command!, args, {
      env: { ...process.env, ...options.env, BMAD_BUS_KEEPER_PID: String(process.pid), BMAD_BUS_RESTARTS: String(status.restarts) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = routerChild;
    status.router_pid = routerChild.pid;
    writeStatus();
    routerChild.on('exit', (code, signal) => {
      child = undefined;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      status.last_exit = `${new Date().toISOString()} ${how}`;
      delete status.router_pid;
      if (stopping) {
        writeStatus();
        return;
      }
      if (Date.now() - startedAt > HEALTHY_RUN_MS) backoff = MIN_BACKOFF_MS;
      status.restarts++;
      writeStatus();
      log(`router (pid ${routerChild.pid}) exited with ${how}; restarting in ${backoff} ms (restart ${status.restarts})`);
      restartTimer = setTimeout(startRouter, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    });
  };

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    status.stopping = true;
    writeStatus();
    if (restartTimer) clearTimeout(restartTimer);
    const finish = async (): Promise<void> => {
      clearInterval(rescanTimer);
      watcher.close();
      // The router has drained the pipes; only now may their buffers go.
      for (const fd of held.values()) fs.closeSync(fd);
      held.clear();
      fs.rmSync(layout.keeperStatusFile, { force: true });
      await lock.release();
      resolveDone(0);
    };
    if (!child) {
      void finish();
      return;
    }
    const running = child;
    const killTimer = setTimeout(() => running.kill('SIGKILL'), 15_000);
    running.once('exit', () => {
      clearTimeout(killTimer);
      void finish();
    });
    running.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
  startRouter();
  return done;
}
