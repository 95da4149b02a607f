import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Layout } from '../bus/layout.js';
import type { AgentRecord } from '../bus/registry.js';
import type { TmuxClient } from '../tmux/client.js';
import { HOLD_OPTION, readPaneInfo, shellMismatch, type PaneInfo } from '../tmux/pane-info.js';
import { endPaneProcesses, panesOf } from './pane-processes.js';
import { agentPaneStart, respawn, startSession, startSplit, startWindow, type PaneStart, type TmuxRun } from './pane-start.js';

/**
 * The supervisor's hands in tmux: start an agent again in its pane (or in a
 * new one) the way `up` starts panes (pane-start.ts), hold the pane against
 * the router while the restore prompt goes in, and read what the pane shows. Every call goes through one TmuxClient
 * (control mode when it can), each with the client's time limit.
 */

const SEP = '\t';
/** Width × height of a session the supervisor has to make (as `up` does). */
const SESSION_WIDTH = 220;
const SESSION_HEIGHT = 60;

/** The start of an agent's pane from its registry record, as `up` gave it (pane-start.ts). */
export function paneStartOf(layout: Layout, agent: AgentRecord, socket: string | undefined, busBin: string | undefined, key?: string): PaneStart {
  return agentPaneStart({ layout, socket, busBin }, agent, { key: key ?? '' });
}

/** The client as a pane-start runner. */
export function runner(client: TmuxClient): TmuxRun {
  return (args) => client.command(args);
}

/**
 * Ends whatever runs in the pane — its whole process tree, found in /proc,
 * not only what the terminal's hang-up reaches — and starts the agent again
 * in place (the pane id stays).
 */
export async function respawnPane(client: TmuxClient, paneId: string, start: PaneStart): Promise<void> {
  await endPaneProcesses(await panesOf((args) => client.tryCommand(args), paneId, 'pane'));
  await respawn(runner(client), paneId, start);
}

/** Until `until` (ms since the epoch) the router does not type into the pane; 0 releases it. */
export async function holdPane(client: TmuxClient, paneId: string, until: number): Promise<void> {
  if (until <= 0) await client.tryCommand(['set-option', '-p', '-u', '-t', paneId, HOLD_OPTION]);
  else await client.tryCommand(['set-option', '-p', '-t', paneId, HOLD_OPTION, String(until)]);
}

/** A hash of what the pane shows (its visible screen); undefined when the pane is gone. */
export async function paneHash(client: TmuxClient, paneId: string): Promise<string | undefined> {
  const out = await client.tryCommand(['capture-pane', '-p', '-t', paneId]);
  return out === undefined ? undefined : crypto.createHash('sha1').update(out).digest('hex');
}

export interface PanePlace {
  session: string;
  /** The window the pane was in, if it still exists on the same tmux server. */
  windowId?: string | undefined;
  windowName: string;
  /** The `@bmad_pane` tag (`session/window/index`) `up` gives panes. */
  key: string;
}

export interface MadePane {
  paneId: string;
  windowId: string;
  /** `window` or `session` when it had to make those too. */
  made: 'pane' | 'window' | 'session';
}

/**
 * Makes a pane for an agent whose pane is gone: split its old window if the
 * caller knows it still exists, else a new window in its session, else the
 * session itself. The pane starts and is tagged as `up`'s are (pane-start.ts).
 */
export async function createPane(client: TmuxClient, place: PanePlace, start: PaneStart): Promise<MadePane> {
  const run = runner(client);
  const tagged: PaneStart = { ...start, tags: { ...start.tags, key: place.key } };
  const window = place.windowId ? await client.tryCommand(['display-message', '-p', '-t', place.windowId, '#{window_id}']) : undefined;
  if (window && window === place.windowId) {
    return { paneId: await startSplit(run, window, tagged), windowId: window, made: 'pane' };
  }
  if ((await client.tryCommand(['has-session', '-t', `=${place.session}`])) !== undefined) {
    const made = await startWindow(run, { target: `=${place.session}:`, window: place.windowName }, tagged);
    return { ...made, made: 'window' };
  }
  const made = await startSession(run, { session: place.session, window: place.windowName, width: SESSION_WIDTH, height: SESSION_HEIGHT }, tagged);
  return { paneId: made.paneId, windowId: made.windowId, made: 'session' };
}

/** Kills a window the supervisor made, only if the id still names the window it made. */
export async function killWindow(client: TmuxClient, windowId: string, name: string): Promise<boolean> {
  const seen = await client.tryCommand(['display-message', '-p', '-t', windowId, `#{window_id}${SEP}#{window_name}`]);
  if (seen !== `${windowId}${SEP}${name}`) return false;
  await endPaneProcesses(await panesOf((args) => client.tryCommand(args), windowId, 'window'));
  return (await client.tryCommand(['kill-window', '-t', windowId])) !== undefined;
}

export type Liveness = { state: 'alive'; info: PaneInfo } | { state: 'dead' | 'missing' | 'exited'; info?: PaneInfo; reason: string };

/**
 * Is the agent alive in its pane? `dead`: the pane's program ended
 * (`#{pane_dead}`), `missing`: no such pane, `exited`: the pane runs a bare
 * shell where the agent's program was expected (the agent ended inside it).
 */
export async function liveness(client: TmuxClient, paneId: string, command: string | undefined): Promise<Liveness> {
  const info = await readPaneInfo(client, paneId);
  if (!info) return { state: 'missing', reason: 'pane missing' };
  if (info.dead) return { state: 'dead', info, reason: `pane dead${info.deadSignal ? ` (signal ${info.deadSignal})` : info.deadStatus ? ` (exit ${info.deadStatus})` : ''}` };
  const mismatch = shellMismatch(info, command);
  if (mismatch) return { state: 'exited', info, reason: `agent exited (${mismatch})` };
  return { state: 'alive', info };
}

/**
 * After a (re)start: waits until the agent runs and its screen stayed the same
 * for `settleMs` (it printed its banner and waits for input), at most
 * `timeoutMs`. `dead` when it died meanwhile.
 */
export async function waitSettled(
  client: TmuxClient, paneId: string, command: string | undefined, options: { settleMs: number; timeoutMs: number },
): Promise<'ready' | 'dead'> {
  const deadline = Date.now() + options.timeoutMs;
  let last: string | undefined;
  let since = Date.now();
  for (;;) {
    const live = await liveness(client, paneId, command);
    if (live.state === 'dead' || live.state === 'missing') return 'dead';
    const hash = await paneHash(client, paneId);
    if (hash === undefined) return 'dead';
    if (hash !== last) {
      last = hash;
      since = Date.now();
    }
    if (live.state === 'alive' && Date.now() - since >= options.settleMs) return 'ready';
    if (Date.now() >= deadline) return live.state === 'alive' ? 'ready' : 'dead';
    await sleep(Math.min(100, Math.max(20, options.settleMs / 4)));
  }
}

/** The window name of an agent's own window: tmux reads `.` in a window name as a target separator (as `up` does). */
export function windowNameOf(agent: string): string {
  return agent.replace(/\./g, '_');
}
