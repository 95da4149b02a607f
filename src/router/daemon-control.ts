import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusError, RouterNotRunningError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { pidAlive } from '../bus/pid-alive.js';
import { readLiveKeeperStatus, readLiveRouterStatus } from './router-status.js';

/** The CLI entry point, for starting the keeper and routers as child processes. */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/bmad-bus');

export interface StartOptions {
  tmuxSocket?: string;
  topologyFile?: string;
  /** Router options passed through (`--durability`, `--hold`...). */
  routerArgs?: string[];
  /** Run the NATS bridge too, with these settings (`BMAD_NATS_URL`…: environment, so that no credential is ever on a command line). */
  bridgeEnv?: Record<string, string>;
  /** Run the web view too. */
  web?: boolean;
  timeoutMs?: number;
}

export interface StartResult {
  keeperPid: number;
  routerPid: number;
  alreadyRunning: boolean;
}

/**
 * Starts the keeper (which runs the router) in the background, detached from
 * the terminal, and waits until the router is ready — or fails fast with the
 * log's last lines if the keeper exits first.
 */
export async function startDaemon(layout: Layout, options: StartOptions = {}): Promise<StartResult> {
  const running = readLiveKeeperStatus(layout);
  if (running?.router_pid) return { keeperPid: running.pid, routerPid: running.router_pid, alreadyRunning: true };
  const foreground = readLiveRouterStatus(layout);
  if (foreground && !foreground.keeper_pid) {
    throw new BusError(`A foreground router (pid ${foreground.pid}) already runs for ${layout.root}; stop it first`);
  }
  fs.mkdirSync(layout.logDir, { recursive: true, mode: 0o700 });
  const logFd = fs.openSync(layout.routerLog, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  const args = [BIN, '--dir', layout.root];
  if (options.tmuxSocket) args.push('--tmux-socket', options.tmuxSocket);
  args.push('_keeper', ...(options.topologyFile ? ['--topology', options.topologyFile] : []), ...(options.bridgeEnv ? ['--bridge'] : []), ...(options.web ? ['--web'] : []), ...(options.routerArgs ?? []));
  const keeper = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, ...options.bridgeEnv } });
  fs.closeSync(logFd);
  let exited: number | null | undefined;
  keeper.on('exit', (code) => (exited = code));
  keeper.unref();
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const keeperStatus = readLiveKeeperStatus(layout);
    const router = readLiveRouterStatus(layout);
    if (keeperStatus && keeperStatus.pid === keeper.pid && router?.ready && router.pid === keeperStatus.router_pid) {
      return { keeperPid: keeperStatus.pid, routerPid: router.pid, alreadyRunning: false };
    }
    if (exited !== undefined) {
      // Two `start`s at once: the other one won the lock, and its router is what we wanted.
      const winner = readLiveKeeperStatus(layout);
      if (winner?.router_pid && readLiveRouterStatus(layout)?.ready) return { keeperPid: winner.pid, routerPid: winner.router_pid, alreadyRunning: true };
      if (!winner) throw new BusError(`The router did not start (exit ${exited}): ${lastLogLine(layout)}`);
    }
    if (Date.now() > deadline) {
      throw new BusError(`The router did not become ready in time; see ${layout.routerLog}`);
    }
    await sleep(25);
  }
}

/** Stops the keeper and its router (or a foreground router) and waits until they are gone. */
export async function stopDaemon(layout: Layout, timeoutMs = 20_000): Promise<{ stopped: number[] }> {
  const keeper = readLiveKeeperStatus(layout);
  const router = readLiveRouterStatus(layout);
  const pids = keeper ? [keeper.pid, ...(keeper.router_pid ? [keeper.router_pid] : [])] : router ? [router.pid] : [];
  if (pids.length === 0) throw new RouterNotRunningError(`No router runs for ${layout.root}`);
  process.kill(pids[0]!, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive)) {
    if (Date.now() > deadline) throw new BusError(`Router still running after ${timeoutMs / 1000}s (pids ${pids.join(', ')})`);
    await sleep(25);
  }
  return { stopped: pids };
}

function lastLogLine(layout: Layout): string {
  try {
    const lines = fs.readFileSync(layout.routerLog, 'utf8').trim().split('\n');
    return lines.slice(-3).join(' | ');
  } catch {
    return 'no log';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
