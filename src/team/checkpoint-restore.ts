import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionExistsError, TmuxError, UnknownAgentError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { addAgent, readRegistry, removeAgent, setGroups, type AgentInput, type AgentRecord } from '../bus/registry.js';
import { inboxConsumer, tmuxConsumer } from '../journal/cursors.js';
import { BIN, startDaemon } from '../router/daemon-control.js';
import { readLiveRouterStatus } from '../router/router-status.js';
import { TmuxClient } from '../tmux/client.js';
import { PaneInjector } from '../tmux/injector.js';
import { readPaneInfo, shellMismatch } from '../tmux/pane-info.js';
import { runTmux, tryTmux } from '../tmux/plain.js';
import { LINE_BREAK_MARK } from '../tmux/render.js';
import { sanitizeText } from '../tmux/sanitize.js';
import { saveTeam, type TeamRecord } from '../tmux/team-state.js';
import { readCheckpoint, type Checkpoint, type CheckpointPane, type CheckpointSession } from './checkpoint-model.js';

export interface RestoreOptions {
  /** tmux `-L` socket to rebuild on; default the checkpoint's. */
  socket?: string | undefined;
  /** Kill sessions of the same names first instead of refusing. */
  force?: boolean | undefined;
  /** Start the router if none runs (default true). */
  router?: boolean | undefined;
  /** Inject each agent's restore prompt (default true). */
  prompt?: boolean | undefined;
  /** How long to wait for an agent's program before giving up on its prompt (default 10 s). */
  readyTimeoutMs?: number | undefined;
  print?: ((line: string) => void) | undefined;
}

export interface RestoreResult {
  file: string;
  socket?: string;
  sessions: string[];
  panes: Array<{ session: string; window: string; index: number; old: string; id: string; agent?: string }>;
  agents: string[];
  /** Agents whose restore prompt was typed in. */
  prompted: string[];
  /** Agents whose prompt was not typed, and why. */
  skipped: Array<{ agent: string; reason: string }>;
  /** Windows whose saved layout tmux refused (they got `tiled`). */
  layoutWarnings: string[];
  router?: { pid: number; alreadyRunning: boolean };
}

const SEP = '\u001f';
const DEFAULT_READY_TIMEOUT_MS = 10_000;

/**
 * Rebuilds what a checkpoint describes: the sessions, windows and panes with
 * their layouts, cwd, commands and env; re-registers the agents with their new
 * pane ids and their delivery positions (so the router resumes each agent's
 * delivery where the checkpoint left it: messages sent meanwhile, even while
 * the team was down, arrive after the restore); types each agent's restore
 * prompt before its backlog; starts the router if none runs. Refuses when a
 * session of the checkpoint exists already, unless `force`.
 *
 * @example
 * await restoreCheckpoint(layout, findCheckpoint('latest'), { socket: 'team' });
 */
export async function restoreCheckpoint(layout: Layout, file: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const checkpoint = readCheckpoint(file);
  const socket = options.socket ?? checkpoint.socket;
  const live = new Set((await tryTmux(['list-sessions', '-F', '#{session_name}'], { socket }))?.split('\n').filter(Boolean) ?? []);
  const clashing = checkpoint.sessions.map((s) => s.name).filter((n) => live.has(n));
  if (clashing.length > 0) {
    if (!options.force) {
      throw new SessionExistsError(
        `Cannot restore ${file}: session${clashing.length > 1 ? 's' : ''} ${clashing.join(', ')} already exist${clashing.length > 1 ? '' : 's'}` +
          `${socket ? ` on tmux socket ${socket}` : ''}; take the team down first (bmad-bus down) or use --force to replace them`,
      );
    }
    await unregisterClashing(layout, checkpoint, clashing, socket);
    for (const name of clashing) await runTmux(['kill-session', '-t', `=${name}`], { socket });
  }

  const result: RestoreResult = {
    file, ...(socket ? { socket } : {}), sessions: [], panes: [], agents: [], prompted: [], skipped: [], layoutWarnings: [],
  };
  const teamRecords = new Map<string, TeamRecord>();
  const agentPanes: Array<{ pane: CheckpointPane; id: string }> = [];
  for (const session of checkpoint.sessions) {
    const built = await buildSession(session, checkpoint, layout, socket, result);
    result.sessions.push(session.name);
    const teamFile = session.team ?? `checkpoint:${file}`;
    const record = teamRecords.get(teamFile) ?? {
      file: teamFile,
      name: checkpoint.teams.find((t) => t.file === session.team)?.name ?? 'restored',
      ...(socket ? { socket } : {}),
      updated: new Date().toISOString(),
      sessions: [], windows: [], panes: [], agents: [],
    };
    record.sessions.push({ name: session.name, id: built.sessionId, created: true });
    for (const w of session.windows) record.windows.push({ session: session.name, name: w.name, id: built.windows.get(w.index)!, created: true });
    for (const { pane, id, window } of built.panes) {
      record.panes.push({
        id, session: session.name, window, index: pane.index,
        ...(pane.agent ? { agent: pane.agent } : pane.label ? { title: pane.label } : {}),
        ...(pane.command ? { command: pane.command } : {}), cwd: pane.cwd,
      });
      if (pane.agent) {
        record.agents.push(pane.agent);
        agentPanes.push({ pane, id });
      }
    }
    teamRecords.set(teamFile, record);
  }

  // Each agent: its program up, its restore prompt typed, then registered — so the backlog follows the prompt.
  const client = new TmuxClient({ socket, mode: 'plain' });
  try {
    await Promise.all(agentPanes.map(({ pane, id }) => reviveAgent(layout, checkpoint, pane, id, socket, client, options, result)));
  } finally {
    client.close();
  }
  if (Object.keys(checkpoint.groups).length > 0) await setGroups(layout, checkpoint.groups);
  for (const record of teamRecords.values()) await saveTeam(layout, record);

  if (options.router !== false && !readLiveRouterStatus(layout)) {
    const topologyFile = checkpoint.topology && fs.existsSync(checkpoint.topology) ? checkpoint.topology : undefined;
    const started = await startDaemon(layout, { ...(socket ? { tmuxSocket: socket } : {}), ...(topologyFile ? { topologyFile } : {}) });
    result.router = { pid: started.routerPid, alreadyRunning: started.alreadyRunning };
  }
  return result;
}

/**
 * Before --force kills sessions: unregisters the checkpoint's agents and any
 * agent whose pane is in those sessions, so that a supervisor does not
 * "restart" them into the sessions being replaced (they are registered again
 * with their new panes below).
 */
async function unregisterClashing(layout: Layout, checkpoint: Checkpoint, sessions: string[], socket: string | undefined): Promise<void> {
  const panes = new Set<string>();
  for (const name of sessions) {
    for (const id of ((await tryTmux(['list-panes', '-s', '-t', `=${name}`, '-F', '#{pane_id}'], { socket })) ?? '').split('\n')) if (id) panes.add(id);
  }
  const registry = readRegistry(layout);
  for (const agent of Object.values(registry.agents)) {
    const here = agent.tmux !== undefined && panes.has(agent.tmux) && (agent.tmux_socket ?? undefined) === socket;
    if (!here && !checkpoint.agents[agent.name]) continue;
    try {
      await removeAgent(layout, agent.name);
    } catch (error) {
      if (!(error instanceof UnknownAgentError)) throw error;
    }
  }
}

interface BuiltSession {
  sessionId: string;
  /** Window index → new window id. */
  windows: Map<number, string>;
  panes: Array<{ pane: CheckpointPane; id: string; window: string }>;
}

async function buildSession(session: CheckpointSession, checkpoint: Checkpoint, layout: Layout, socket: string | undefined, result: RestoreResult): Promise<BuiltSession> {
  const tmux = (args: string[]) => runTmux(args, { socket });
  const built: BuiltSession = { sessionId: '', windows: new Map(), panes: [] };
  const width = Math.max(80, ...session.windows.map((w) => w.width));
  const height = Math.max(24, ...session.windows.map((w) => w.height));
  for (const [n, window] of session.windows.entries()) {
    const [first, ...rest] = window.panes;
    if (!first) continue;
    let windowId: string;
    let firstId: string;
    if (n === 0 || built.sessionId === '') {
      const out = await tmux(['new-session', '-d', '-P', '-F', `#{session_id}${SEP}#{window_id}${SEP}#{pane_id}${SEP}#{window_index}`,
        '-s', session.name, '-n', window.name, '-x', String(width), '-y', String(height), ...startArgs(first, checkpoint, layout, socket)]);
      const [sid, wid, pid, index] = out.split(SEP);
      built.sessionId = sid!;
      windowId = wid!;
      firstId = pid!;
      // Keep the window's number: people and scripts address windows as session:N.
      if (Number(index) !== window.index) await tryTmux(['move-window', '-s', windowId, '-t', `${built.sessionId}:${window.index}`], { socket });
    } else {
      const out = await tmux(['new-window', '-d', '-P', '-F', `#{window_id}${SEP}#{pane_id}`, '-t', `${built.sessionId}:${window.index}`, '-n', window.name,
        ...startArgs(first, checkpoint, layout, socket)]);
      [windowId, firstId] = out.split(SEP) as [string, string];
    }
    // Before anything can exit: a crashed agent's pane stays visible, as `up` makes it.
    if (window.remain_on_exit) await tmux(['set-option', '-w', '-t', windowId, 'remain-on-exit', 'on']);
    built.windows.set(window.index, windowId);
    const ids = [firstId];
    for (const pane of rest) {
      ids.push(await tmux(['split-window', '-d', '-P', '-F', '#{pane_id}', '-t', windowId, ...startArgs(pane, checkpoint, layout, socket)]));
      // Rebalance after each split so the next one has room.
      await tmux(['select-layout', '-t', windowId, 'tiled']);
    }
    if ((await tryTmux(['select-layout', '-t', windowId, window.layout], { socket })) === undefined) {
      result.layoutWarnings.push(`${session.name}:${window.name}`);
    }
    for (const [i, pane] of window.panes.entries()) {
      const id = ids[i]!;
      await tagPane(id, pane, socket);
      if (pane.active) await tryTmux(['select-pane', '-t', id], { socket });
      built.panes.push({ pane, id, window: window.name });
      result.panes.push({ session: session.name, window: window.name, index: pane.index, old: pane.id, id, ...(pane.agent ? { agent: pane.agent } : {}) });
    }
    if (window.active) await tryTmux(['select-window', '-t', windowId], { socket });
  }
  return built;
}

async function tagPane(id: string, pane: CheckpointPane, socket: string | undefined): Promise<void> {
  const set = (name: string, value: string) => runTmux(['set-option', '-p', '-t', id, name, value], { socket });
  if (pane.key) await set('@bmad_pane', pane.key);
  if (pane.agent) await set('@bmad_agent', pane.agent);
  if (pane.label) await set('@bmad_title', pane.label);
  if (pane.title) await runTmux(['select-pane', '-t', id, '-T', pane.title], { socket });
}

/** `-c cwd -e K=V... [command]`, with the bus's own variables pointing at this bus and server. */
function startArgs(pane: CheckpointPane, _checkpoint: Checkpoint, layout: Layout, socket: string | undefined): string[] {
  const env = { ...pane.env };
  if ('BMAD_BUS_DIR' in env) env.BMAD_BUS_DIR = layout.root;
  if ('BMAD_BUS_BIN' in env) env.BMAD_BUS_BIN = BIN;
  if (socket && ('BMAD_TMUX_SOCKET' in env || 'BMAD_BUS_DIR' in env)) env.BMAD_TMUX_SOCKET = socket;
  else if (!socket) delete env.BMAD_TMUX_SOCKET;
  const cwd = pane.cwd && fs.existsSync(pane.cwd) ? ['-c', pane.cwd] : [];
  return [...cwd, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ...(pane.command ? [pane.command] : [])];
}

/** Where an agent's delivery resumes: the least advanced of its consumers at checkpoint time. */
export function resumePosition(checkpoint: Checkpoint, agent: string): number {
  const positions = [checkpoint.cursors[inboxConsumer(agent)], checkpoint.cursors[tmuxConsumer(agent)]].filter((v): v is number => typeof v === 'number');
  if (positions.length > 0) return Math.min(...positions);
  return checkpoint.agents[agent]?.since ?? checkpoint.journal_end;
}

async function reviveAgent(
  layout: Layout, checkpoint: Checkpoint, pane: CheckpointPane, paneId: string, socket: string | undefined,
  client: TmuxClient, options: RestoreOptions, result: RestoreResult,
): Promise<void> {
  const name = pane.agent!;
  const saved = checkpoint.agents[name];
  if (saved && options.prompt !== false && saved.restore_prompt && (saved.deliver === 'tmux' || saved.deliver === 'both')) {
    const outcome = await typePrompt(client, paneId, saved, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    if (outcome === true) result.prompted.push(name);
    else result.skipped.push({ agent: name, reason: outcome });
  }
  if (!saved) {
    result.skipped.push({ agent: name, reason: 'not in the checkpoint registry: not registered' });
    return;
  }
  const { registered: _registered, status: _status, tmux_socket: _socket, since: _since, ...rest } = saved;
  const input: AgentInput = { ...rest, tmux: paneId, ...(socket ? { tmux_socket: socket } : {}), since: resumePosition(checkpoint, name) };
  await addAgent(layout, input);
  result.agents.push(name);
}

/** Waits until the agent's program runs in the pane, then pastes and submits its restore prompt. */
async function typePrompt(client: TmuxClient, paneId: string, agent: AgentRecord, readyTimeoutMs: number): Promise<true | string> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const info = await readPaneInfo(client, paneId);
    if (!info || info.dead) return 'pane died before the prompt';
    // A bare shell where the agent's program was expected would run the prompt as a command.
    if (!shellMismatch(info, agent.command)) break;
    if (Date.now() > deadline) return `its program did not start within ${Math.round(readyTimeoutMs / 1000)}s`;
    await sleep(100);
  }
  // Give the program a moment to set its terminal up (readline, raw mode) before typing.
  await sleep(Math.max(200, agent.submit_delay ?? 0));
  const text = sanitizeText(agent.restore_prompt!);
  const rendered = agent.multiline === 'keep' ? text : text.split('\n').join(LINE_BREAK_MARK);
  try {
    const injector = new PaneInjector({ client, paneId, submitKey: agent.submit, submitDelayMs: agent.submit_delay });
    const outcome = await injector.inject(rendered);
    return outcome.status === 'failed' ? outcome.reason : true;
  } catch (error) {
    if (error instanceof TmuxError) return error.message;
    throw error;
  }
}
