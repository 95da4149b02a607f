import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Layout } from '../bus/layout.js';
import type { AgentRecord } from '../bus/registry.js';
import type { TmuxClient } from '../tmux/client.js';
import { PaneInjector, type InjectResult } from '../tmux/injector.js';
import { HOLD_OPTION, readPaneInfo, shellMismatch, type PaneInfo } from '../tmux/pane-info.js';
import { LINE_BREAK_MARK } from '../tmux/render.js';
import { sanitizeText } from '../tmux/sanitize.js';

/**
 * The supervisor's hands in tmux: start an agent again in its pane (or in a
 * new one), hold the pane against the router while the restore prompt goes
 * in, and read what the pane shows. Every call goes through one TmuxClient
 * (control mode when it can), each with the client's time limit.
 */

/** How an agent's pane is started: what `up` gave it, so a restart is the same start. */
export interface PaneStart {
  cwd: string;
  env: Record<string, string>;
  command?: string | undefined;
}

const SEP = '\t';
/** Width × height of a session the supervisor has to make (as `up` does). */
const SESSION_SIZE = ['-x', '220', '-y', '60'];

/** The start of an agent's pane, with the bus's own variables so the agent can answer (as `up` sets them). */
export function paneStartOf(layout: Layout, agent: AgentRecord, socket: string | undefined, busBin: string | undefined): PaneStart {
  const env: Record<string, string> = { ...agent.env, BMAD_BUS_DIR: layout.root };
  if (socket) env.BMAD_TMUX_SOCKET = socket;
  if (busBin) env.BMAD_BUS_BIN = busBin;
  env.BMAD_AGENT = agent.name;
  return { cwd: agent.cwd ?? process.cwd(), env, command: agent.command };
}

/** `-c cwd -e K=V... [command]` (the command last: tmux runs it with the default shell). */
export function startArgs(start: PaneStart): string[] {
  return ['-c', start.cwd, ...Object.entries(start.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ...(start.command ? [start.command] : [])];
}

/** Kills whatever runs in the pane and starts the agent again in place (the pane id stays). */
export async function respawnPane(client: TmuxClient, paneId: string, start: PaneStart): Promise<void> {
  await client.command(['respawn-pane', '-k', '-t', paneId, ...startArgs(start)]);
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
  /** The window the pane was in, if it still exists. */
  windowId?: string | undefined;
  windowName: string;
  /** The `@bmad_pane` tag (`session/window/index`) `up` gives panes. */
  key: string;
  agent: string;
}

export interface MadePane {
  paneId: string;
  windowId: string;
  /** `window` or `session` when it had to make those too. */
  made: 'pane' | 'window' | 'session';
}

/**
 * Makes a pane for an agent whose pane is gone: split its old window if that
 * still exists, else a new window in its session, else the session itself.
 * The new pane is tagged like `up`'s (`@bmad_pane`, `@bmad_agent`, title) and
 * keeps its content when the agent exits (`remain-on-exit`).
 */
export async function createPane(client: TmuxClient, place: PanePlace, start: PaneStart): Promise<MadePane> {
  let made: MadePane;
  const window = place.windowId ? await client.tryCommand(['display-message', '-p', '-t', place.windowId, '#{window_id}']) : undefined;
  if (window && window === place.windowId) {
    const paneId = await client.command(['split-window', '-d', '-P', '-F', '#{pane_id}', '-t', window, ...startArgs(start)]);
    made = { paneId, windowId: window, made: 'pane' };
  } else if ((await client.tryCommand(['has-session', '-t', `=${place.session}`])) !== undefined) {
    const out = await client.command(['new-window', '-d', '-P', '-F', `#{window_id}${SEP}#{pane_id}`, '-t', `=${place.session}:`, '-n', place.windowName, ...startArgs(start)]);
    const [windowId, paneId] = out.split(SEP);
    made = { paneId: paneId!, windowId: windowId!, made: 'window' };
  } else {
    const out = await client.command([
      'new-session', '-d', '-P', '-F', `#{window_id}${SEP}#{pane_id}`, '-s', place.session, '-n', place.windowName, ...SESSION_SIZE, ...startArgs(start),
    ]);
    const [windowId, paneId] = out.split(SEP);
    made = { paneId: paneId!, windowId: windowId!, made: 'session' };
  }
  // A crashed agent's pane stays, dead, so the next check sees it and restarts it in place.
  await client.tryCommand(['set-option', '-w', '-t', made.windowId, 'remain-on-exit', 'on']);
  await client.tryCommand(['set-option', '-p', '-t', made.paneId, '@bmad_pane', place.key]);
  await client.tryCommand(['set-option', '-p', '-t', made.paneId, '@bmad_agent', place.agent]);
  await client.tryCommand(['select-pane', '-t', made.paneId, '-T', place.agent]);
  return made;
}

/** Kills a window the supervisor made, only if the id still names the window it made. */
export async function killWindow(client: TmuxClient, windowId: string, name: string): Promise<boolean> {
  const seen = await client.tryCommand(['display-message', '-p', '-t', windowId, `#{window_id}${SEP}#{window_name}`]);
  if (seen !== `${windowId}${SEP}${name}`) return false;
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
  if (info.dead) return { state: 'dead', info, reason: 'pane dead' };
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

/** Pastes a text (the restore prompt) into the agent's pane the way the router pastes a message, and submits it. */
export async function pasteText(client: TmuxClient, agent: AgentRecord, paneId: string, text: string): Promise<InjectResult> {
  const injector = new PaneInjector({ client, paneId, submitKey: agent.submit, submitDelayMs: agent.submit_delay });
  const safe = sanitizeText(text).replace(/\n+$/, '');
  return injector.inject(agent.multiline === 'keep' ? safe : safe.split('\n').join(LINE_BREAK_MARK));
}
