import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../bus/errors.js';
import { writeFileAtomic } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type AgentRecord } from '../bus/registry.js';
import { inboxConsumer, readCursors, tmuxConsumer } from '../journal/cursors.js';
import { consumerKindOf } from '../bus/address-book.js';
import { journalEnd } from '../journal/segments.js';
import { BIN } from '../router/daemon-control.js';
import { readLiveRouterStatus } from '../router/router-status.js';
import { runTmux, tryTmux } from '../tmux/plain.js';
import { readTeamState, type TeamRecord } from './team-state.js';
import {
  CHECKPOINT_KIND,
  CHECKPOINT_VERSION,
  defaultCheckpointDir,
  ensureCheckpointDir,
  type Checkpoint,
  type CheckpointPane,
  type CheckpointSession,
  type CheckpointWindow,
} from './checkpoint-model.js';
import { loadTopology } from './topology.js';
import type { Topology } from './topology-types.js';

export * from './checkpoint-model.js';
export { restoreCheckpoint, type RestoreOptions, type RestoreResult } from './checkpoint-restore.js';

export interface CheckpointOptions {
  /** tmux `-L` socket; default: the socket the team was brought up on. */
  socket?: string | undefined;
  /** Only this session (any session on the server); default: every session `up` made on this bus. */
  session?: string | undefined;
  /** Every session on the tmux server. */
  all?: boolean | undefined;
  /** Where to write; default `defaultCheckpointDir()`. */
  dir?: string | undefined;
  /** Lines of each pane's output to keep (default 50). */
  lines?: number | undefined;
}

export const DEFAULT_CHECKPOINT_LINES = 50;
const SEP = '\u001f';

/**
 * Takes a checkpoint and writes it, atomically, into the checkpoint
 * directory; returns the file's path. The supervisor calls this periodically.
 *
 * @example
 * const file = await writeCheckpoint(layout, { socket: 'team' });
 * // later, after a reboot: await restoreCheckpoint(layout, file, { socket: 'team' });
 */
export async function writeCheckpoint(layout: Layout, options: CheckpointOptions = {}): Promise<string> {
  const checkpoint = await takeCheckpoint(layout, options);
  const dir = ensureCheckpointDir(options.dir ?? defaultCheckpointDir());
  const label = (options.session ?? (options.all ? 'all' : (checkpoint.teams[0]?.name ?? 'team'))).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, 40);
  const stamp = checkpoint.created.replace(/[:.]/g, '-');
  let file = path.join(dir, `${stamp}-${label}.json`);
  for (let n = 2; fs.existsSync(file); n++) file = path.join(dir, `${stamp}-${label}-${n}.json`);
  writeFileAtomic(file, `${JSON.stringify(checkpoint, null, 2)}\n`, 0o600);
  return file;
}

/** Reads the state of the sessions, panes, agents and delivery positions into a Checkpoint (writes nothing). */
export async function takeCheckpoint(layout: Layout, options: CheckpointOptions = {}): Promise<Checkpoint> {
  const teams = Object.values(readTeamState(layout).teams);
  const owner = options.session ? teams.find((t) => t.sessions.some((s) => s.name === options.session)) : undefined;
  const socket = options.socket ?? owner?.socket ?? (options.session || options.all ? undefined : teams[0]?.socket);
  const onSocket = teams.filter((t) => (t.socket ?? undefined) === socket);
  const live = (await tryTmux(['list-sessions', '-F', '#{session_name}'], { socket }))?.split('\n').filter(Boolean) ?? [];

  let names: string[];
  if (options.session) {
    if (!live.includes(options.session)) throw new UsageError(`No tmux session \`${options.session}\`${socket ? ` on socket ${socket}` : ''}`);
    names = [options.session];
  } else if (options.all) {
    names = live;
  } else {
    const wanted = new Set(onSocket.flatMap((t) => t.sessions.map((s) => s.name)));
    names = live.filter((n) => wanted.has(n));
  }
  if (names.length === 0) {
    throw new UsageError(
      options.all
        ? `No tmux sessions to checkpoint${socket ? ` on socket ${socket}` : ''}`
        : `No team is up on this bus${socket ? ` (socket ${socket})` : ''}: name a session or use --all`,
    );
  }

  const registry = readRegistry(layout);
  const topologies = new Map<string, Topology | undefined>();
  const topologyOf = (file: string): Topology | undefined => {
    if (!topologies.has(file)) {
      try {
        topologies.set(file, loadTopology(file));
      } catch {
        topologies.set(file, undefined); // moved or edited since: env of helper panes is then unknown
      }
    }
    return topologies.get(file);
  };
  const lines = options.lines ?? DEFAULT_CHECKPOINT_LINES;
  const sessions: CheckpointSession[] = [];
  const usedTeams = new Map<string, TeamRecord>();
  for (const name of names) {
    const team = teams.find((t) => (t.socket ?? undefined) === socket && t.sessions.some((s) => s.name === name));
    if (team) usedTeams.set(team.file, team);
    sessions.push(await readSession(name, { socket, team, registry: registry.agents, layout, lines, topologyOf }));
  }

  const agentNames = new Set(sessions.flatMap((s) => s.windows.flatMap((w) => w.panes.flatMap((p) => (p.agent ? [p.agent] : [])))));
  const agents: Record<string, AgentRecord> = {};
  for (const name of agentNames) {
    const record = registry.agents[name];
    if (!record) continue;
    const { status: _status, ...rest } = record;
    agents[name] = rest;
  }
  return {
    kind: CHECKPOINT_KIND,
    version: CHECKPOINT_VERSION,
    created: new Date().toISOString(),
    host: os.hostname(),
    root: layout.root,
    ...(socket ? { socket } : {}),
    ...(usedTeams.size > 0 ? { topology: [...usedTeams.values()][0]!.file } : {}),
    teams: [...usedTeams.values()].map((t) => ({ file: t.file, name: t.name })),
    sessions,
    agents,
    groups: registry.groups,
    cursors: deliveryPositions(layout, Object.keys(agents)),
    journal_end: journalEnd(layout.journalDir),
  };
}

/**
 * Each consumer's position: the saved cursor or the live router's, whichever
 * is further (both only move forward; the file lags the router by a moment).
 */
export function deliveryPositions(layout: Layout, agents: string[]): Record<string, number> {
  const saved = readCursors(layout);
  const router = readLiveRouterStatus(layout);
  const out: Record<string, number> = {};
  for (const agent of agents) {
    for (const key of [inboxConsumer(agent), tmuxConsumer(agent)]) {
      // The router's status keys an agent's consumers by kind (`inbox`), the cursor file by full key.
      const liveCursor = router?.agents[agent]?.consumers[consumerKindOf(key)]?.cursor;
      const values = [saved[key], liveCursor].filter((v): v is number => typeof v === 'number');
      if (values.length > 0) out[key] = Math.max(...values);
    }
  }
  return out;
}

interface ReadContext {
  socket: string | undefined;
  team: TeamRecord | undefined;
  registry: Record<string, AgentRecord>;
  layout: Layout;
  lines: number;
  topologyOf: (file: string) => Topology | undefined;
}

const WINDOW_FORMAT = ['#{session_id}', '#{window_id}', '#{window_index}', '#{window_name}', '#{window_layout}', '#{window_width}', '#{window_height}', '#{window_active}', '#{remain-on-exit}'].join(SEP);
const PANE_FORMAT = [
  '#{window_id}', '#{pane_index}', '#{pane_id}', '#{pane_current_path}', '#{pane_current_command}', '#{pane_dead}', '#{pane_active}',
  '#{@bmad_pane}', '#{@bmad_agent}', '#{@bmad_title}', '#{pane_title}', '#{pane_start_command}',
].join(SEP);

async function readSession(name: string, ctx: ReadContext): Promise<CheckpointSession> {
  const { socket } = ctx;
  // `=name`: an exact match; a bare name is a prefix match in tmux.
  const windowLines = (await runTmux(['list-windows', '-t', `=${name}`, '-F', WINDOW_FORMAT], { socket })).split('\n').filter(Boolean);
  const paneLines = (await runTmux(['list-panes', '-s', '-t', `=${name}`, '-F', PANE_FORMAT], { socket })).split('\n').filter(Boolean);
  let sessionId = '';
  const windows: CheckpointWindow[] = windowLines.map((line) => {
    const [sid, id, index, wname, layoutText, width, height, active, remain] = line.split(SEP);
    sessionId = sid!;
    return {
      index: Number(index), name: wname!, id: id!, layout: layoutText!, width: Number(width), height: Number(height),
      active: active === '1', remain_on_exit: remain === 'on', panes: [],
    };
  });
  for (const line of paneLines) {
    const [wid, index, id, cwd, current, dead, active, key, agent, label, title, startCommand] = line.split(SEP);
    const window = windows.find((w) => w.id === wid);
    if (!window) continue;
    const recorded = ctx.team?.panes.find((p) => p.id === id) ?? (key ? ctx.team?.panes.find((p) => `${p.session}/${p.window}/${p.index}` === key) : undefined);
    const agentRecord = agent ? ctx.registry[agent] : undefined;
    const command = recorded?.command ?? agentRecord?.command ?? unquote(startCommand ?? '');
    const pane: CheckpointPane = {
      index: Number(index),
      id: id!,
      ...(key ? { key } : {}),
      ...(agent ? { agent } : {}),
      ...(label ? { label } : {}),
      ...(title ? { title } : {}),
      cwd: cwd || recorded?.cwd || agentRecord?.cwd || '',
      ...(command ? { command } : {}),
      env: paneEnv(ctx, key, agent, agentRecord),
      current_command: current ?? '',
      dead: dead === '1',
      active: active === '1',
      last_lines: await lastLines(id!, ctx.lines, socket),
    };
    window.panes.push(pane);
  }
  for (const w of windows) w.panes.sort((a, b) => a.index - b.index);
  windows.sort((a, b) => a.index - b.index);
  return { name, id: sessionId, ...(ctx.team ? { team: ctx.team.file } : {}), windows };
}

/** The environment `up` gave the pane: the topology's (or the registry's) variables plus the bus's own. */
function paneEnv(ctx: ReadContext, key: string | undefined, agent: string | undefined, record: AgentRecord | undefined): Record<string, string> {
  if (!key && !agent) return {}; // not made by up: its environment is not ours to know
  let env: Record<string, string> = {};
  if (record?.env) env = { ...record.env };
  else if (key && ctx.team) {
    const [session, window, index] = key.split('/');
    const spec = ctx.topologyOf(ctx.team.file)?.sessions.find((s) => s.name === session)?.windows.find((w) => w.name === window)?.panes.find((p) => String(p.index) === index);
    if (spec) env = { ...spec.env };
  }
  env.BMAD_BUS_DIR = ctx.layout.root;
  if (ctx.socket) env.BMAD_TMUX_SOCKET = ctx.socket;
  env.BMAD_BUS_BIN = BIN;
  if (agent) env.BMAD_AGENT = agent;
  return env;
}

async function lastLines(paneId: string, lines: number, socket: string | undefined): Promise<string[]> {
  if (lines <= 0) return [];
  const out = await tryTmux(['capture-pane', '-p', '-J', '-t', paneId, '-S', `-${lines}`], { socket });
  if (out === undefined) return [];
  const rows = out.split('\n').map((r) => r.replace(/\s+$/, ''));
  while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  return rows.slice(-lines);
}

/** `#{pane_start_command}` quotes a single-argument command: `"node agent.js"` → `node agent.js`. */
function unquote(text: string): string {
  const match = /^"(.*)"$/.exec(text);
  return match && !match[1]!.includes('"') ? match[1]! : text;
}
