import { paneSinks } from '../agents/pane-sinks.js';
import { initRoot } from '../bus/root.js';
import { runKeeper } from '../router/keeper.js';
import { Router } from '../router/router.js';
import { BIN } from '../router/daemon-control.js';
import { readTeamState } from '../team/team-state.js';
import { rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface RouterCommandOptions extends GlobalOptions {
  durability?: string;
  hold?: string;
  maxLine?: string;
}

/**
 * `bmad-bus router`: runs until SIGTERM / SIGINT, then stops reading, makes
 * everything durable, persists cursors and exits 0. Prints one `ready` line
 * on stdout once it reads every pipe (scripts and tests wait for it).
 */
export async function routerCommand(options: RouterCommandOptions): Promise<void> {
  const layout = initRoot(rootOf(options));
  const tmuxSocket = tmuxSocketOf(options);
  const router = new Router(layout, {
    ...(options.durability ? { durability: options.durability } : {}),
    ...(options.hold ? { holdMs: options.hold } : {}),
    ...(options.maxLine ? { maxLineBytes: options.maxLine } : {}),
    ...(tmuxSocket ? { tmuxSocket } : {}),
    paneSinks,
  });
  let exitCode = 0;
  const finished = new Promise<void>((resolve) => {
    const stop = (): void => void router.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Started by a keeper: if the keeper goes, so does this router.
    process.once('disconnect', stop);
    router.on('error', () => {
      exitCode = 1;
      stop();
    });
  });
  // Under a keeper: it writes the intake and says when it grew.
  process.on('message', (message: { intake?: string; end?: { seq: number; offset: number } } | undefined) => {
    if (!message?.intake) return;
    const end = message.end;
    router.intakeAppended(end && Number.isSafeInteger(end.seq) && Number.isSafeInteger(end.offset) ? end : undefined);
  });
  await router.start();
  process.stdout.write(`bmad-bus router ready pid=${process.pid} root=${layout.root} durability=${router.options.durability}\n`);
  await finished;
  process.exitCode = exitCode;
  // Under a keeper the IPC channel would keep this process alive after shutdown
  // (until the keeper's SIGKILL): let go of it so the process exits now.
  if (process.connected) process.disconnect();
}

/** `bmad-bus _keeper`: what `start` runs in the background. */
export async function keeperCommand(options: GlobalOptions & { topology?: string; bridge?: boolean; web?: boolean }, routerArgs: string[]): Promise<void> {
  const layout = initRoot(rootOf(options));
  const tmuxSocket = tmuxSocketOf(options);
  const base = [process.execPath, BIN, '--dir', layout.root, ...(tmuxSocket ? ['--tmux-socket', tmuxSocket] : [])];
  // The supervisor runs when a team file is known: given by `up`, else the one team `up` recorded.
  const teams = Object.keys(readTeamState(layout).teams);
  const topology = options.topology ?? (teams.length === 1 ? teams[0] : undefined);
  process.exitCode = await runKeeper(layout, {
    routerCommand: [...base, 'router', ...routerArgs],
    ...(topology ? { supervisorCommand: [...base, 'supervise', '--topology', topology] } : {}),
    // Its settings came in the environment (BMAD_NATS_URL…), which the keeper's children inherit.
    ...(options.bridge ? { bridgeCommand: [...base, 'bridge'] } : {}),
    ...(options.web ? { webCommand: [...base, 'web'] } : {}),
  });
}
