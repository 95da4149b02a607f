import fs from 'node:fs';
import path from 'node:path';
import { BusError, ConfigError, SessionExistsError, UnknownAgentError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { addAgent, readRegistry, removeAgent, setGroups, type AgentInput } from '../bus/registry.js';
import { inboxConsumer, tmuxConsumer } from '../journal/cursors.js';
import { acquireProcessLock } from '../journal/writer-lock.js';
import { BIN, startDaemon } from '../router/daemon-control.js';
import { readLiveRouterStatus } from '../router/router-status.js';
import { TmuxClient } from '../tmux/client.js';
import { runTmux, tryTmux } from '../tmux/plain.js';
import { serverInstance } from '../tmux/server-instance.js';
import { readTeamState, saveTeam, type TeamRecord } from './team-state.js';
import { readCheckpoint, type Checkpoint, type CheckpointPane, type CheckpointSession } from './checkpoint-model.js';
import { endPaneProcesses, panesOf } from './pane-processes.js';
import { startSession, startSplit, startWindow, type PaneStart, type TmuxRun } from './pane-start.js';
import type { SessionLimits } from './resource-types.js';
import { typeRestorePrompt } from './restore-prompt.js';
import { assertWithinLimits } from './session-limits.js';
import { loadTopology } from './topology.js';

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
  /** Set by the supervisor's recovery after a tmux server death (a later `restore` of the same checkpoint is then a no-op). */
  recovery?: boolean | undefined;
  /** Hard caps on the agents rebuilt; default the checkpoint's topology's `session_limits`, when it can be read. */
  limits?: SessionLimits | undefined;
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
  /** True when nothing was done: the supervisor had already rebuilt this checkpoint's sessions on this tmux server, after a server death. */
  alreadyRestored?: boolean;
  router?: { pid: number; alreadyRunning: boolean };
}

const SEP = '\u001f';
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** How long the program's screen must stay the same before its prompt is typed. */
const PROMPT_SETTLE_MS = 300;
/** A restore waits this long for another restore (the supervisor's recovery) to finish. */
const RESTORE_LOCK_WAIT_MS = 120_000;

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
  return withRestoreLock(layout, () => restoreLocked(layout, file, options));
}

/**
 * One rebuild of a team at a time per bus: the supervisor's recovery after a
 * server death and a `restore` typed meanwhile must not both build (the
 * second then finds the first's sessions and knows they are restored).
 */
/** The session limits of a checkpoint's topology; none when it names none or it cannot be read any more (its limits are then unknown). */
function limitsOfTopology(file: string | undefined): SessionLimits {
  if (!file) return {};
  try {
    return loadTopology(file).resource_management.session_limits;
  } catch (error) {
    if (error instanceof ConfigError) return {};
    throw error;
  }
}

export async function withRestoreLock<T>(layout: Layout, work: () => Promise<T>): Promise<T> {
  const lock = await acquireProcessLock(
    path.join(layout.stateDir, 'restore'),
    () => new BusError(`Another restore of this bus is still running (${layout.root})`),
    { waitMs: RESTORE_LOCK_WAIT_MS },
  );
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

async function restoreLocked(layout: Layout, file: string, options: RestoreOptions): Promise<RestoreResult> {
  const checkpoint = readCheckpoint(file);
  const socket = options.socket ?? checkpoint.socket;
  const live = new Map(
    ((await tryTmux(['list-sessions', '-F', `#{session_name}${SEP}#{session_id}`], { socket }))?.split('\n').filter(Boolean) ?? []).map((line) => {
      const [name, id] = line.split(SEP);
      return [name!, id!] as const;
    }),
  );
  // Before anything is made or replaced: a team over its session limits is refused whole.
  assertWithinLimits(`restore of ${file}`, options.limits ?? limitsOfTopology(checkpoint.topology), [], Object.values(checkpoint.agents));
  const clashing = checkpoint.sessions.map((s) => s.name).filter((n) => live.has(n));
  const instance = await currentInstance(socket);
  if (clashing.length > 0 && !options.force && restoredHere(layout, file, clashing, live, instance)) {
    return {
      file, ...(socket ? { socket } : {}), sessions: clashing, panes: [], agents: [], prompted: [], skipped: [], layoutWarnings: [], alreadyRestored: true,
    };
  }
  if (clashing.length > 0) {
    if (!options.force) {
      throw new SessionExistsError(
        `Cannot restore ${file}: session${clashing.length > 1 ? 's' : ''} ${clashing.join(', ')} already exist${clashing.length > 1 ? '' : 's'}` +
          `${socket ? ` on tmux socket ${socket}` : ''}; take the team down first (bmad-bus down) or use --force to replace them`,
      );
    }
    await unregisterClashing(layout, checkpoint, clashing, socket);
    for (const name of clashing) {
      await endPaneProcesses(await panesOf((args) => tryTmux(args, { socket }), `=${name}`, 'session'));
      await runTmux(['kill-session', '-t', `=${name}`], { socket });
    }
  }

  const result: RestoreResult = {
    file, ...(socket ? { socket } : {}), sessions: [], panes: [], agents: [], prompted: [], skipped: [], layoutWarnings: [],
  };
  const teamRecords = new Map<string, TeamRecord>();
  const agentPanes: Array<{ pane: CheckpointPane; id: string }> = [];
  for (const session of checkpoint.sessions) {
    const built = await buildSession(session, layout, socket, result);
    result.sessions.push(session.name);
    const teamFile = session.team ?? `checkpoint:${file}`;
    const record = teamRecords.get(teamFile) ?? {
      file: teamFile,
      name: checkpoint.teams.find((t) => t.file === session.team)?.name ?? 'restored',
      ...(socket ? { socket } : {}),
      restored_from: file,
      ...(options.recovery ? { recovered: true } : {}),
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

  // The server the panes are on now (the first new session starts one if none ran, or if --force killed the last).
  const client = new TmuxClient({ socket, mode: 'plain' });
  const server = await serverInstance(client);
  for (const record of teamRecords.values()) if (server) record.tmux_server = server;
  // Each agent: its program up, its restore prompt typed, then registered — so the backlog follows the prompt.
  try {
    await Promise.all(agentPanes.map(({ pane, id }) => reviveAgent(layout, checkpoint, pane, id, socket, server, client, options, result)));
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

async function buildSession(session: CheckpointSession, layout: Layout, socket: string | undefined, result: RestoreResult): Promise<BuiltSession> {
  const tmux: TmuxRun = (args) => runTmux(args, { socket });
  const built: BuiltSession = { sessionId: '', windows: new Map(), panes: [] };
  const width = Math.max(80, ...session.windows.map((w) => w.width));
  const height = Math.max(24, ...session.windows.map((w) => w.height));
  for (const [n, window] of session.windows.entries()) {
    const [first, ...rest] = window.panes;
    if (!first) continue;
    let windowId: string;
    let firstId: string;
    if (n === 0 || built.sessionId === '') {
      const made = await startSession(
        tmux, { session: session.name, window: window.name, width, height, remainOnExit: window.remain_on_exit }, restoredPaneStart(first, layout, socket),
      );
      built.sessionId = made.sessionId;
      windowId = made.windowId;
      firstId = made.paneId;
      // Keep the window's number: people and scripts address windows as session:N.
      if (made.windowIndex !== window.index) await tryTmux(['move-window', '-s', windowId, '-t', `${built.sessionId}:${window.index}`], { socket });
    } else {
      const made = await startWindow(
        tmux, { target: `${built.sessionId}:${window.index}`, window: window.name, remainOnExit: window.remain_on_exit }, restoredPaneStart(first, layout, socket),
      );
      windowId = made.windowId;
      firstId = made.paneId;
    }
    built.windows.set(window.index, windowId);
    const ids = [firstId];
    for (const pane of rest) {
      ids.push(await startSplit(tmux, windowId, restoredPaneStart(pane, layout, socket)));
      // Rebalance after each split so the next one has room.
      await tmux(['select-layout', '-t', windowId, 'tiled']);
    }
    if ((await tryTmux(['select-layout', '-t', windowId, window.layout], { socket })) === undefined) {
      result.layoutWarnings.push(`${session.name}:${window.name}`);
    }
    for (const [i, pane] of window.panes.entries()) {
      const id = ids[i]!;
      if (pane.active) await tryTmux(['select-pane', '-t', id], { socket });
      built.panes.push({ pane, id, window: window.name });
      result.panes.push({ session: session.name, window: window.name, index: pane.index, old: pane.id, id, ...(pane.agent ? { agent: pane.agent } : {}) });
    }
    if (window.active) await tryTmux(['select-window', '-t', windowId], { socket });
  }
  return built;
}

/** A checkpoint pane's start, with the bus's own variables pointing at this bus and server (pane-start.ts starts it). */
function restoredPaneStart(pane: CheckpointPane, layout: Layout, socket: string | undefined): PaneStart {
  const env = { ...pane.env };
  if ('BMAD_BUS_DIR' in env) env.BMAD_BUS_DIR = layout.root;
  if ('BMAD_BUS_BIN' in env) env.BMAD_BUS_BIN = BIN;
  if (socket && ('BMAD_TMUX_SOCKET' in env || 'BMAD_BUS_DIR' in env)) env.BMAD_TMUX_SOCKET = socket;
  else if (!socket) delete env.BMAD_TMUX_SOCKET;
  // Only an agent's pane has an agent identity (checkpoints taken while helper panes inherited one included).
  if (!pane.agent) delete env.BMAD_AGENT;
  return {
    cwd: pane.cwd && fs.existsSync(pane.cwd) ? pane.cwd : undefined,
    env,
    command: pane.command,
    tags: { key: pane.key, agent: pane.agent, label: pane.label, title: pane.title },
  };
}

/** The tmux server instance on the socket, undefined when none runs. */
async function currentInstance(socket: string | undefined): Promise<string | undefined> {
  const client = new TmuxClient({ socket, mode: 'plain' });
  try {
    return await serverInstance(client);
  } finally {
    client.close();
  }
}

/**
 * True when every clashing session is one the supervisor's recovery made
 * from this same checkpoint on this very tmux server (same ids, same server
 * instance), after a server death: the checkpoint is restored already, so
 * there is nothing to do and nothing to refuse. (Restoring over sessions a
 * `restore` made is refused, as over any live session.)
 */
function restoredHere(layout: Layout, file: string, clashing: string[], live: Map<string, string>, instance: string | undefined): boolean {
  if (!instance) return false;
  const teams = Object.values(readTeamState(layout).teams).filter((t) => t.recovered === true && t.restored_from === file && t.tmux_server === instance);
  return clashing.every((name) => teams.some((t) => t.sessions.some((s) => s.name === name && s.id === live.get(name))));
}

/** Where an agent's delivery resumes: the least advanced of its consumers at checkpoint time. */
export function resumePosition(checkpoint: Checkpoint, agent: string): number {
  const positions = [checkpoint.cursors[inboxConsumer(agent)], checkpoint.cursors[tmuxConsumer(agent)]].filter((v): v is number => typeof v === 'number');
  if (positions.length > 0) return Math.min(...positions);
  return checkpoint.agents[agent]?.since ?? checkpoint.journal_end;
}

async function reviveAgent(
  layout: Layout, checkpoint: Checkpoint, pane: CheckpointPane, paneId: string, socket: string | undefined, server: string | undefined,
  client: TmuxClient, options: RestoreOptions, result: RestoreResult,
): Promise<void> {
  const name = pane.agent!;
  const saved = checkpoint.agents[name];
  if (saved && options.prompt !== false && saved.restore_prompt) {
    const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const outcome = await typeRestorePrompt(client, paneId, saved, saved.restore_prompt, { settleMs: Math.max(PROMPT_SETTLE_MS, saved.submit_delay ?? 0), timeoutMs });
    if (outcome.status === 'typed') result.prompted.push(name);
    else result.skipped.push({ agent: name, reason: outcome.reason });
  }
  if (!saved) {
    result.skipped.push({ agent: name, reason: 'not in the checkpoint registry: not registered' });
    return;
  }
  const { registered: _registered, status: _status, tmux_socket: _socket, tmux_server: _server, since: _since, ...rest } = saved;
  const input: AgentInput = {
    ...rest, tmux: paneId, ...(socket ? { tmux_socket: socket } : {}), ...(server ? { tmux_server: server } : {}), since: resumePosition(checkpoint, name),
  };
  await addAgent(layout, input);
  result.agents.push(name);
}
