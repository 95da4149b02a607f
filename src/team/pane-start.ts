import type { Layout } from '../bus/layout.js';

/**
 * How a pane of a team is started — one implementation for `up`, the
 * supervisor (restarts, re-made panes, scaling) and `restore`: the argv
 * (`-c cwd -e K=V... [command]`), the environment with the bus's own
 * variables, and the tags that say whose pane it is.
 *
 * The environment goes to the pane only: `new-session -e` would set the
 * tmux *session* environment, which every later window and pane of the
 * session inherits, so a session's first pane starts as a placeholder and is
 * then respawned with its real start (`respawn-pane -e` is per pane). New
 * windows start the same way, so `remain-on-exit` is on before the real
 * program runs: an agent that exits at once still leaves its pane to be seen.
 */

/** The tags a pane carries (tmux pane options): whose pane it is and what to call it. */
export interface PaneTags {
  /** `@bmad_pane`: `session/window/index` as the topology places it. */
  key?: string | undefined;
  /** `@bmad_agent`: the agent the pane belongs to (none for a helper pane). */
  agent?: string | undefined;
  /** `@bmad_title`: the role of an agent pane, the title of a helper pane. */
  label?: string | undefined;
  /** The pane title (`select-pane -T`). */
  title?: string | undefined;
}

/** Everything a pane is started with. */
export interface PaneStart {
  /** Working directory; undefined: tmux's default. */
  cwd?: string | undefined;
  /** The pane's own variables, bus variables included. */
  env: Record<string, string>;
  /** A command line tmux runs with the default shell; undefined: the user's shell. */
  command?: string | undefined;
  tags: PaneTags;
}

/** Where the bus and its tmux server are, for the bus's own variables. */
export interface BusContext {
  layout: Layout;
  /** tmux `-L` socket; undefined: the default server. */
  socket?: string | undefined;
  /** The bmad-bus executable (BMAD_BUS_BIN). */
  busBin?: string | undefined;
}

/** `BMAD_BUS_DIR`, `BMAD_TMUX_SOCKET`, `BMAD_BUS_BIN`, and `BMAD_AGENT` for an agent's pane only. */
export function busEnv(bus: BusContext, agent?: string): Record<string, string> {
  const env: Record<string, string> = { BMAD_BUS_DIR: bus.layout.root };
  if (bus.socket) env.BMAD_TMUX_SOCKET = bus.socket;
  if (bus.busBin) env.BMAD_BUS_BIN = bus.busBin;
  if (agent) env.BMAD_AGENT = agent;
  return env;
}

/** What an agent's pane needs to know about the agent (a topology spec, a template, a registry record). */
export interface AgentStartInput {
  name: string;
  role?: string | undefined;
  command?: string | undefined;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
}

/** The start of an agent's pane: its command, cwd and env plus the bus's variables and its identity. */
export function agentPaneStart(bus: BusContext, agent: AgentStartInput, place: { key: string; label?: string | undefined }): PaneStart {
  return {
    cwd: agent.cwd ?? process.cwd(),
    env: { ...agent.env, ...busEnv(bus, agent.name) },
    command: agent.command,
    tags: { key: place.key, agent: agent.name, label: place.label ?? agent.role, title: agent.name },
  };
}

/** The start of a helper pane (`agent: false`): its own command or the user's shell, no agent identity. */
export function helperPaneStart(
  bus: BusContext, pane: { command?: string | undefined; cwd: string; env: Record<string, string>; title?: string | undefined }, key: string,
): PaneStart {
  const env = { ...pane.env, ...busEnv(bus) };
  delete env.BMAD_AGENT;
  return { cwd: pane.cwd, env, command: pane.command, tags: { key, label: pane.title, title: pane.title } };
}

/** `-c cwd -e K=V... [command]` (the command last: tmux runs it with the default shell). */
export function startArgs(start: PaneStart): string[] {
  return [
    ...(start.cwd ? ['-c', start.cwd] : []),
    ...Object.entries(start.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...(start.command ? [start.command] : []),
  ];
}

/** Runs one tmux command and returns its stdout (a plain call, a control-mode client, or a dry run). */
export type TmuxRun = (args: string[]) => Promise<string>;

const SEP = '\u001f';
/** What a session's first pane runs until it is respawned with its real start: no shell rc files, no env. */
const PLACEHOLDER = 'cat';

export interface StartedSession {
  sessionId: string;
  windowId: string;
  paneId: string;
  windowIndex: number;
}

/**
 * A new detached session whose first window's first pane runs `start`. The
 * session is made with a placeholder and no `-e` (so its environment stays
 * clean), then the pane is respawned with the real start.
 */
export async function startSession(
  run: TmuxRun, place: { session: string; window: string; width: number; height: number; remainOnExit?: boolean }, start: PaneStart,
): Promise<StartedSession> {
  const out = await run([
    'new-session', '-d', '-P', '-F', ['#{session_id}', '#{window_id}', '#{pane_id}', '#{window_index}'].join(SEP),
    '-s', place.session, '-n', place.window, '-x', String(place.width), '-y', String(place.height), PLACEHOLDER,
  ]);
  const [sessionId, windowId, paneId, index] = out.split(SEP);
  // Before the real start runs, so an agent that exits at once still leaves its pane to be seen.
  if (place.remainOnExit !== false) await keepDeadPanes(run, windowId!);
  await respawn(run, paneId!, start);
  await tagPane(run, paneId!, start.tags);
  return { sessionId: sessionId!, windowId: windowId!, paneId: paneId!, windowIndex: Number(index) || 0 };
}

/** A new window (`target` is `session:` or `session:index`) whose pane runs `start` (placeholder first, as startSession). */
export async function startWindow(
  run: TmuxRun, place: { target: string; window: string; remainOnExit?: boolean }, start: PaneStart,
): Promise<{ windowId: string; paneId: string }> {
  const out = await run(['new-window', '-d', '-P', '-F', `#{window_id}${SEP}#{pane_id}`, '-t', place.target, '-n', place.window, PLACEHOLDER]);
  const [windowId, paneId] = out.split(SEP);
  if (place.remainOnExit !== false) await keepDeadPanes(run, windowId!);
  await respawn(run, paneId!, start);
  await tagPane(run, paneId!, start.tags);
  return { windowId: windowId!, paneId: paneId! };
}

/** A new pane split off a window, running `start`. */
export async function startSplit(run: TmuxRun, windowId: string, start: PaneStart): Promise<string> {
  const paneId = await run(['split-window', '-d', '-P', '-F', '#{pane_id}', '-t', windowId, ...startArgs(start)]);
  await tagPane(run, paneId, start.tags);
  return paneId;
}

/** Starts the pane again in place (the pane id stays); whatever ran in it is killed. */
export async function respawn(run: TmuxRun, paneId: string, start: PaneStart): Promise<void> {
  await run(['respawn-pane', '-k', '-t', paneId, ...startArgs(start)]);
}

/** A crashed agent's pane stays, dead, so status shows it and the supervisor can restart it in place. */
export async function keepDeadPanes(run: TmuxRun, windowId: string): Promise<void> {
  await run(['set-option', '-w', '-t', windowId, 'remain-on-exit', 'on']);
}

export async function tagPane(run: TmuxRun, paneId: string, tags: PaneTags): Promise<void> {
  if (tags.key) await run(['set-option', '-p', '-t', paneId, '@bmad_pane', tags.key]);
  if (tags.agent) await run(['set-option', '-p', '-t', paneId, '@bmad_agent', tags.agent]);
  if (tags.label) await run(['set-option', '-p', '-t', paneId, '@bmad_title', tags.label]);
  if (tags.title) await run(['select-pane', '-t', paneId, '-T', tags.title]);
}
