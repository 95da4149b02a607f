import path from 'node:path';
import { parseDuration } from '../bus/duration.js';
import { BusError, UsageError } from '../bus/errors.js';
import { acquireProcessLock } from '../journal/writer-lock.js';
import type { Layout } from '../bus/layout.js';
import { openRoot } from '../bus/root.js';
import { BIN } from '../router/daemon-control.js';
import { describeEvent, Supervisor } from '../team/supervisor.js';
import { loadTopology } from '../team/topology.js';
import { readTeamState } from '../team/team-state.js';
import { printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface SuperviseOptions extends GlobalOptions {
  topology?: string;
  interval?: string;
  json?: boolean;
}

/**
 * `bmad-bus supervise`: runs the supervisor in the foreground until SIGTERM /
 * SIGINT (or, started by the keeper, until the keeper goes). Events go to the
 * bus and, one line each, to stdout; the log goes to stderr.
 */
export async function superviseCommand(options: SuperviseOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const file = options.topology ? path.resolve(options.topology) : teamFile(layout);
  const topology = loadTopology(file);
  // Two supervisors of one team would restart the same panes twice: one per bus.
  // The wait covers a predecessor killed with -9 (the keeper restarts it at once).
  const lock = await acquireProcessLock(
    path.join(layout.stateDir, 'supervisor'),
    () => new BusError(`A supervisor already runs for ${layout.root} (the daemon's, or another \`bmad-bus supervise\`)`),
    { waitMs: 6_000 },
  );
  const socket = tmuxSocketOf(options);
  const supervisor = new Supervisor(layout, {
    topology,
    socket,
    ...(options.interval ? { intervalMs: parseDuration(options.interval, '--interval') } : {}),
    busBin: BIN,
  });
  const finished = new Promise<void>((resolve) => {
    const stop = (signal?: string): void => {
      // Said on stderr: a signal nobody meant to send (seen once in CI) must show where it came in.
      if (signal) process.stderr.write(`bmad-bus supervisor: ${signal}, stopping\n`);
      void supervisor.close().then(resolve);
    };
    // `on`, not `once`: a second SIGTERM while it shuts down must not kill it halfway (close() is idempotent).
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Started by a keeper: if the keeper goes, so does this supervisor.
    process.once('disconnect', () => stop());
    // Stopped by itself (its bus root went away): nothing to wait for.
    supervisor.once('closed', resolve);
  });
  if (!topology.supervisor.enabled) {
    // Stay up doing nothing, so a keeper does not restart us in a loop.
    process.stderr.write(`bmad-bus supervisor: disabled in ${file} (supervisor.enabled: false)\n`);
    await finished;
    await lock.release();
    if (process.connected) process.disconnect();
    return;
  }
  supervisor.on('event', (event) => printLine(options.json ? JSON.stringify(event) : `${new Date().toISOString()} ${describeEvent(event)}`));
  await supervisor.start();
  process.stderr.write(`bmad-bus supervisor ready pid=${process.pid} topology=${file} interval=${supervisor.options.intervalMs}ms\n`);
  await finished;
  await lock.release().catch(() => undefined); // the lock went with a removed root
  if (supervisor.rootLost) process.exitCode = 1;
  // Under a keeper the IPC channel would keep this process alive after shutdown.
  if (process.connected) process.disconnect();
}

/** The topology file `up` recorded: the only team on this bus, else the user must choose. */
function teamFile(layout: Layout): string {
  const files = Object.keys(readTeamState(layout).teams);
  if (files.length === 1) return files[0]!;
  if (files.length === 0) throw new UsageError('No team is up on this bus: pass --topology FILE, or bring one up with `bmad-bus up FILE`');
  throw new UsageError(`Several teams are up on this bus; choose one with --topology: ${files.join(', ')}`);
}
