import fs from 'node:fs';
import { listDir } from '../bus/fs-safety.js';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, UnsafeBusRootError, UsageError, errnoCode } from '../bus/errors.js';
import type { AgentRecord, GroupRecord } from '../bus/registry.js';

/**
 * The checkpoint file format and where checkpoints live. A checkpoint is one
 * JSON file describing a team's tmux sessions (windows, panes, layouts, cwd,
 * commands, env), its agents and their delivery positions, so that
 * `restore` can rebuild it after a crash or a reboot.
 */

export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_KIND = 'bmad-bus-checkpoint';

export interface CheckpointPane {
  /** Position in the window (`#{pane_index}`). */
  index: number;
  /** The pane id when the checkpoint was taken (informational: restore gets new ids). */
  id: string;
  /** `@bmad_pane`: `session/window/index` as `up` tagged it. */
  key?: string;
  agent?: string;
  /** `select-pane -T` title and `@bmad_title`. */
  title?: string;
  label?: string;
  /** `#{pane_current_path}`. */
  cwd: string;
  /** The command the pane was started with (what `up` ran); undefined: the default shell. */
  command?: string;
  /** The environment `up` set for it (`-e`), bus variables included. */
  env: Record<string, string>;
  /** What ran in it when the checkpoint was taken (`#{pane_current_command}`). */
  current_command: string;
  dead: boolean;
  active: boolean;
  /** The last lines of its output (`capture-pane -J`), oldest first. */
  last_lines: string[];
}

export interface CheckpointWindow {
  index: number;
  name: string;
  id: string;
  /** `#{window_layout}`: `select-layout` takes it back as is. */
  layout: string;
  width: number;
  height: number;
  active: boolean;
  remain_on_exit: boolean;
  panes: CheckpointPane[];
}

export interface CheckpointSession {
  name: string;
  id: string;
  /** The topology file whose `up` made it, if any. */
  team?: string;
  windows: CheckpointWindow[];
}

export interface Checkpoint {
  kind: typeof CHECKPOINT_KIND;
  version: typeof CHECKPOINT_VERSION;
  /** ISO 8601. */
  created: string;
  host: string;
  /** The bus root the team talks on. */
  root: string;
  /** tmux `-L` socket; absent: the default server. */
  socket?: string;
  /** The first team's topology file (absolute), if the sessions came from one. */
  topology?: string;
  teams: Array<{ file: string; name: string }>;
  sessions: CheckpointSession[];
  /** The registry entries of the agents in these panes, and the groups. */
  agents: Record<string, AgentRecord>;
  groups: Record<string, GroupRecord>;
  /** Delivery positions (journal offsets) of these agents' consumers: `inbox:NAME`, `tmux:NAME`. */
  cursors: Record<string, number>;
  journal_end: number;
}

/** `$BMAD_CHECKPOINT_DIR`, else `$XDG_STATE_HOME/bmad-bus/checkpoints`, XDG_STATE_HOME defaulting to ~/.local/state. */
export function defaultCheckpointDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BMAD_CHECKPOINT_DIR) return path.resolve(env.BMAD_CHECKPOINT_DIR);
  const state = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'bmad-bus', 'checkpoints');
}

/**
 * Creates the checkpoint directory (mode 0700) or checks the one there:
 * ours, a real directory, not open to others (a looser mode of our own
 * directory is tightened: checkpoints hold environments).
 */
export function ensureCheckpointDir(dir: string): string {
  const absolute = path.resolve(dir);
  fs.mkdirSync(absolute, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(absolute);
  const uid = process.getuid?.() ?? st.uid;
  if (st.isSymbolicLink() || !st.isDirectory()) throw new UnsafeBusRootError(`Refusing checkpoint directory ${absolute}: not a directory of its own (a symlink or a file)`);
  if (st.uid !== uid) throw new UnsafeBusRootError(`Refusing checkpoint directory ${absolute}: owned by uid ${st.uid}, not by you (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(absolute, 0o700);
  return absolute;
}

/** Reads and checks one checkpoint file. */
export function readCheckpoint(file: string): Checkpoint {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new UsageError(`No checkpoint file ${file} (see \`bmad-bus checkpoints\`)`);
    throw error;
  }
  let value: Partial<Checkpoint>;
  try {
    value = JSON.parse(text) as Partial<Checkpoint>;
  } catch (error) {
    throw new ConfigError(`${file} is not a checkpoint: ${(error as Error).message}`, { cause: error });
  }
  if (value?.kind !== CHECKPOINT_KIND) throw new ConfigError(`${file} is not a bmad-bus checkpoint (expected kind ${CHECKPOINT_KIND})`);
  if (value.version !== CHECKPOINT_VERSION) {
    throw new ConfigError(`${file} is a checkpoint of version ${String(value.version)}; this bmad-bus reads version ${CHECKPOINT_VERSION}`);
  }
  if (!Array.isArray(value.sessions)) throw new ConfigError(`${file}: expected \`sessions\` to be a list`);
  return { agents: {}, groups: {}, cursors: {}, teams: [], ...value } as Checkpoint;
}

/** One line of `bmad-bus checkpoints`. */
export interface CheckpointSummary {
  file: string;
  created: string;
  root: string;
  socket?: string;
  topology?: string;
  sessions: string[];
  agents: string[];
  panes: number;
}

/** The checkpoints in `dir`, oldest first; files that are not checkpoints are skipped. */
export function listCheckpoints(dir: string = defaultCheckpointDir()): CheckpointSummary[] {
  const names = listDir(dir);
  const out: CheckpointSummary[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    let checkpoint: Checkpoint;
    try {
      checkpoint = readCheckpoint(file);
    } catch {
      continue;
    }
    out.push({
      file,
      created: checkpoint.created,
      root: checkpoint.root,
      ...(checkpoint.socket ? { socket: checkpoint.socket } : {}),
      ...(checkpoint.topology ? { topology: checkpoint.topology } : {}),
      sessions: checkpoint.sessions.map((s) => s.name),
      agents: Object.keys(checkpoint.agents).sort(),
      panes: checkpoint.sessions.reduce((n, s) => n + s.windows.reduce((m, w) => m + w.panes.length, 0), 0),
    });
  }
  return out.sort((a, b) => a.created.localeCompare(b.created) || a.file.localeCompare(b.file));
}

/**
 * A checkpoint named on the command line: a path, a file name in the
 * checkpoint directory, or `latest` (the newest there).
 */
export function findCheckpoint(name: string, dir: string = defaultCheckpointDir()): string {
  if (name === 'latest') {
    const newest = listCheckpoints(dir).at(-1);
    if (!newest) throw new UsageError(`No checkpoints in ${dir}`);
    return newest.file;
  }
  if (fs.existsSync(name)) return path.resolve(name);
  const inDir = path.join(dir, name.endsWith('.json') ? name : `${name}.json`);
  if (!name.includes('/') && fs.existsSync(inDir)) return inDir;
  throw new UsageError(`No checkpoint ${name} (a file, a name in ${dir}, or \`latest\`; see \`bmad-bus checkpoints\`)`);
}
