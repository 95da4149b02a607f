import fs from 'node:fs';
import path from 'node:path';
import type { Layout } from '../bus/layout.js';
import { writeFileAtomic } from '../bus/fs-safety.js';
import { rootIdentity, verifyRoot } from '../bus/root.js';
import { originOf } from './ingest.js';
import { acquireWriterLock } from '../journal/writer-lock.js';
import { ManagedChild } from './managed-child.js';
import type { KeeperStatus } from './router-status.js';

export interface KeeperOptions {
  /** The command line that runs one router (the CLI's `router` command with its options). */
  routerCommand: string[];
  /** The command line of the supervisor (`bmad-bus supervise --topology FILE`), when a team file is known. */
  supervisorCommand?: string[] | undefined;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * The small process `bmad-bus start` runs. It holds the root's lock and an fd
 * on every pipe writers write into (including pair pipes made later), so
 * bytes written while the router is down stay in the kernel's pipe buffer —
 * which the kernel would throw away when the last fd closes. It runs the
 * router as a child and restarts it, with backoff, whenever it dies; given a
 * team file, it runs the supervisor (`bmad-bus supervise`) the same way.
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
  const identity = rootIdentity(layout);
  const watcher = fs.watch(layout.agentsDir, () => rescan());
  watcher.on('error', () => undefined);
  // fs.watch can miss events (a full inotify queue): look again every second.
  const rescanTimer = setInterval(() => {
    if (rootIdentity(layout) !== identity) {
      log(`the bus root ${layout.root} was removed or replaced; stopping`);
      stop();
      return;
    }
    rescan();
  }, 1000);

  const status: KeeperStatus = { pid: process.pid, root: layout.root, started: new Date().toISOString(), restarts: 0 };
  const writeStatus = (): void => {
    if (rootIdentity(layout) === identity) writeFileAtomic(layout.keeperStatusFile, `${JSON.stringify(status)}\n`);
  };

  const env = (restarts: number): NodeJS.ProcessEnv => ({ ...process.env, ...options.env, BMAD_BUS_KEEPER_PID: String(process.pid), BMAD_BUS_RESTARTS: String(restarts) });
  const router = new ManagedChild({
    name: 'router', command: options.routerCommand, env, log,
    onChange: () => {
      status.restarts = router.restarts;
      setOrDelete(status, 'router_pid', router.pid);
      setOrDelete(status, 'last_exit', router.lastExit);
      writeStatus();
    },
  });
  // The supervisor sends its events through the bus pipes this keeper holds: it starts after the router and stops before it.
  const supervisor = options.supervisorCommand
    ? new ManagedChild({
      name: 'supervisor', command: options.supervisorCommand, env, log,
      onChange: () => {
        setOrDelete(status, 'supervisor_pid', supervisor?.pid);
        writeStatus();
      },
    })
    : undefined;
  writeStatus();

  let stopping = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    status.stopping = true;
    writeStatus();
    void (async () => {
      await supervisor?.stop();
      await router.stop();
      clearInterval(rescanTimer);
      watcher.close();
      // The router has drained the pipes; only now may their buffers go.
      for (const fd of held.values()) fs.closeSync(fd);
      held.clear();
      // A root replaced under us is someone else's now: leave its files alone.
      if (rootIdentity(layout) === identity) {
        fs.rmSync(layout.keeperStatusFile, { force: true });
        await lock.release();
      }
      resolveDone(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
  router.start();
  supervisor?.start();
  return done;
}

function setOrDelete<K extends 'router_pid' | 'supervisor_pid' | 'last_exit'>(status: KeeperStatus, key: K, value: KeeperStatus[K] | undefined): void {
  if (value === undefined) delete status[key];
  else status[key] = value;
}
