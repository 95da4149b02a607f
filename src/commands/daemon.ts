import fs from 'node:fs';
import { BusError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { openOrInitRoot, openRoot } from '../bus/root.js';
import { normalizeBridgeOptions } from '../channels/bridge-options.js';
import { startDaemon, stopDaemon } from '../router/daemon-control.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export async function startCommand(options: GlobalOptions & { durability?: string; hold?: string; nats?: string; web?: boolean; json?: boolean }): Promise<void> {
  const layout = openOrInitRoot(rootOf(options));
  const routerArgs = [...(options.durability ? ['--durability', options.durability] : []), ...(options.hold ? ['--hold', options.hold] : [])];
  const tmuxSocket = tmuxSocketOf(options);
  // Checked here, so that a bad setting fails `start`, not the bridge in the background.
  if (options.nats !== undefined) normalizeBridgeOptions({ nats: options.nats });
  const result = await startDaemon(layout, { routerArgs, ...(tmuxSocket ? { tmuxSocket } : {}), ...(options.nats !== undefined ? { bridgeEnv: { BMAD_NATS_URL: options.nats } } : {}), ...(options.web ? { web: true } : {}) });
  const web = options.web ? await webUrl(layout) : undefined;
  if (options.json) printJson({ root: layout.root, keeper_pid: result.keeperPid, router_pid: result.routerPid, already_running: result.alreadyRunning, ...(web ? { web } : {}) });
  else {
    if (result.alreadyRunning) printLine(`already running: keeper pid ${result.keeperPid}, router pid ${result.routerPid} (${layout.root})`);
    else printLine(`started: keeper pid ${result.keeperPid}, router pid ${result.routerPid} (${layout.root}; log ${layout.routerLog})`);
    if (web) printLine(`web: ${web}`);
  }
}

export async function stopCommand(options: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const { stopped } = await stopDaemon(layout);
  printLine(`stopped (pids ${stopped.join(', ')})`);
}

/** The URL of the web view the keeper started, with its token, once it listens (it says so in state/web.json). */
async function webUrl(layout: Layout): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const status = JSON.parse(fs.readFileSync(layout.webStatusFile, 'utf8')) as { url: string; pid: number };
      process.kill(status.pid, 0); // one left by a web view that died: wait for the new one
      return `${status.url}?token=${fs.readFileSync(layout.webTokenFile, 'utf8').trim()}`;
    } catch {
      if (Date.now() > deadline) throw new BusError(`The web view did not start; see ${layout.routerLog}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
