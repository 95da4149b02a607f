import fs from 'node:fs';
import type { Layout } from '../bus/layout.js';
import { writeReport } from '../bus/fs-safety.js';
import { rootIdentity, verifyRoot } from '../bus/root.js';
import { IntakePump } from './intake-pump.js';
import { IntakeWriter } from './intake-writer.js';
import { acquireWriterLock } from '../journal/writer-lock.js';
import { ManagedChild } from './managed-child.js';
import type { KeeperStatus } from './router-status.js';

export interface KeeperOptions {
  /** The command line that runs one router (the CLI's `router` command with its options). */
  routerCommand: string[];
  /** The command line of the supervisor (`bmad-bus supervise --topology FILE`), when a team file is known. */
  supervisorCommand?: string[] | undefined;
  /** The command line of the NATS bridge (`bmad-bus bridge`, its settings in the environment), when there is one. */
  bridgeCommand?: string[] | undefined;
  /** The command line of the web view (`bmad-bus web`), when there is one. */
  webCommand?: string[] | undefined;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * The small process `bmad-bus start` runs. It holds the root's lock, reads
 * every pipe writers write into (including pair pipes made later) and
 * writes each read into the intake before anything parses it (IntakePump),
 * so neither a router crash nor a bug in message handling can lose a byte a
 * writer wrote. It runs the router as a child, tells it when the intake
 * grew, and restarts it with backoff whenever it dies; given a team file,
 * it runs the supervisor (`bmad-bus supervise`) the same way, and so the
 * NATS bridge (`bmad-bus bridge`) and the web view (`bmad-bus web`) when
 * they are asked for.
 */
export async function runKeeper(layout: Layout, options: KeeperOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} bmad-bus keeper: ${line}\n`));
  verifyRoot(layout);
  const lock = await acquireWriterLock(layout, { waitMs: 6_000, onCompromised: (e) => log(`lost the lock: ${e.message}`) });
  // The keeper reads the pipes and writes every read into the intake; the router consumes it.
  // No message handling happens here, so no input can crash this process, and a
  // router killed at any moment loses nothing a writer wrote.
  const writer = new IntakeWriter(layout.journalDir);
  const identity = rootIdentity(layout);
  const pump = new IntakePump(layout, writer, {
    onAppend: () => router.send({ intake: 'appended', end: writer.end }),
    log,
  });
  const rootTimer = setInterval(() => {
    if (rootIdentity(layout) !== identity) {
      log(`the bus root ${layout.root} was removed or replaced; stopping`);
      stop();
      return;
    }
    // The disk state changes without any event: keep the status current.
    const full = pump.diskFullSince?.toISOString();
    if (full !== status.disk_full_since) {
      setOrDelete(status, 'disk_full_since', full);
      writeStatus();
    }
  }, 1000);

  const status: KeeperStatus = { pid: process.pid, root: layout.root, started: new Date().toISOString(), restarts: 0 };
  // A status that cannot be written (a full disk) is skipped: never a reason to stop.
  const writeStatus = (): void => {
    if (rootIdentity(layout) !== identity) return;
    try {
      writeReport(layout.keeperStatusFile, `${JSON.stringify(status)}\n`);
    } catch (error) {
      log(`status: ${(error as Error).message}`);
    }
  };

  const env = (restarts: number): NodeJS.ProcessEnv => ({ ...process.env, ...options.env, BMAD_BUS_KEEPER_PID: String(process.pid), BMAD_BUS_RESTARTS: String(restarts) });
  const router = new ManagedChild({
    name: 'router', command: options.routerCommand, env, log,
    onChange: () => {
      // A router just started replays the intake by itself; a word now starts it on what came since.
      if (router.pid !== undefined) router.send({ intake: 'appended', end: writer.end });
      status.restarts = router.restarts;
      setOrDelete(status, 'router_pid', router.pid);
      setOrDelete(status, 'last_exit', router.lastExit);
      writeStatus();
    },
  });
  // The supervisor, the bridge and the web view use the bus pipes this keeper holds: they start after the router and stop before it.
  const companions = ([['supervisor', options.supervisorCommand], ['bridge', options.bridgeCommand], ['web', options.webCommand]] as const).flatMap(([name, command]) => {
    if (!command) return [];
    const key = `${name}_pid` as const;
    const child: ManagedChild = new ManagedChild({
      name, command, env, log,
      onChange: () => {
        setOrDelete(status, key, child.pid);
        writeStatus();
      },
    });
    return [child];
  });
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
      for (const child of companions) await child.stop();
      // Stop reading (what the pipes hold is read into the intake first), then let the router journal it all.
      pump.close();
      router.send({ intake: 'appended', end: writer.end });
      await router.stop();
      clearInterval(rootTimer);
      writer.close();
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
  pump.start();
  router.start();
  for (const child of companions) child.start();
  return done;
}

function setOrDelete<K extends 'router_pid' | 'supervisor_pid' | 'bridge_pid' | 'web_pid' | 'last_exit' | 'disk_full_since'>(status: KeeperStatus, key: K, value: KeeperStatus[K] | undefined): void {
  if (value === undefined) delete status[key];
  else status[key] = value;
}
