import { openOrInitRoot, openRoot } from '../bus/root.js';
import { normalizeBridgeOptions } from '../channels/bridge-options.js';
import { startDaemon, stopDaemon } from '../router/daemon-control.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export async function startCommand(options: GlobalOptions & { durability?: string; hold?: string; nats?: string; json?: boolean }): Promise<void> {
  const layout = openOrInitRoot(rootOf(options));
  const routerArgs = [...(options.durability ? ['--durability', options.durability] : []), ...(options.hold ? ['--hold', options.hold] : [])];
  const tmuxSocket = tmuxSocketOf(options);
  // Checked here, so that a bad setting fails `start`, not the bridge in the background.
  if (options.nats !== undefined) normalizeBridgeOptions({ nats: options.nats });
  const result = await startDaemon(layout, { routerArgs, ...(tmuxSocket ? { tmuxSocket } : {}), ...(options.nats !== undefined ? { bridgeEnv: { BMAD_NATS_URL: options.nats } } : {}) });
  if (options.json) printJson({ root: layout.root, keeper_pid: result.keeperPid, router_pid: result.routerPid, already_running: result.alreadyRunning });
  else if (result.alreadyRunning) printLine(`already running: keeper pid ${result.keeperPid}, router pid ${result.routerPid} (${layout.root})`);
  else printLine(`started: keeper pid ${result.keeperPid}, router pid ${result.routerPid} (${layout.root}; log ${layout.routerLog})`);
}

export async function stopCommand(options: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const { stopped } = await stopDaemon(layout);
  printLine(`stopped (pids ${stopped.join(', ')})`);
}
