import { saveTopologyProfiles } from '../agents/profile-store.js';
import type { Layout } from '../bus/layout.js';
import { addAgent, setGroups } from '../bus/registry.js';
import { TmuxClient } from '../tmux/client.js';
import { HOLD_OPTION } from '../tmux/pane-info.js';
import { runTmux, tryTmux } from '../tmux/plain.js';
import { serverInstance } from '../tmux/server-instance.js';
import { BIN } from '../router/daemon-control.js';
import { installTeamHooks, type HookInstall } from './agent-hooks.js';
import { installTeamMcp, type McpInstall } from './agent-mcp.js';
import { readTeamState, saveTeam, type TeamRecord } from './team-state.js';
import { layoutCommands } from './layouts.js';
import { applyTeamPriorities } from './priorities.js';
import { assertWithinLimits } from './session-limits.js';
import {
  agentPaneStart, helperPaneStart, startSession, startSplit, startWindow, type BusContext, type PaneStart, type TmuxRun,
} from './pane-start.js';
import type { AgentSpec, PaneSpec, SessionSpec, Topology, WindowSpec } from './topology-types.js';

export interface UpOptions {
  socket?: string | undefined;
  /** Print the commands instead of running them (reads of the server still happen). */
  dryRun?: boolean;
  /** The bmad-bus executable agents should call (exported to panes as BMAD_BUS_BIN). */
  busBin?: string | undefined;
  /** Where commands are reported (dry-run) and progress lines go. */
  print?: ((line: string) => void) | undefined;
  /** Hold every agent pane against the router (`@bmad_hold`) until then, from before the agents are registered (a recovery types restore prompts first). */
  holdUntil?: number | undefined;
}

export interface UpResult {
  created: { sessions: string[]; windows: string[]; panes: string[] };
  /** Every command that changed the server (or would have, with dryRun). */
  commands: string[][];
  agents: string[];
  record: TeamRecord;
  /** The CLI settings files the agents' hooks went into (or, dry, would). */
  hooks: HookInstall[];
  /** Where the bus's MCP server was registered for the agents with `mcp: true` (or, dry, would be). */
  mcp: McpInstall[];
}

/** Width × height of detached sessions up creates: large enough to split a development window. */
const SESSION_WIDTH = 220;
const SESSION_HEIGHT = 60;
const SEP = '\t';

/**
 * Brings a topology up in tmux: creates the sessions, windows and panes that
 * are missing (nothing else: a second run on a live team creates nothing),
 * starts each pane (pane-start.ts: its command, cwd and env reach that pane
 * only), keeps a crashed agent's pane visible (`remain-on-exit`), applies
 * layouts, tags each pane (`@bmad_pane`, `@bmad_agent`), registers every agent
 * with its pane id and the tmux server instance, and records what it made.
 */
export async function up(layout: Layout, topology: Topology, options: UpOptions = {}): Promise<UpResult> {
  // Before anything is created: a team over its session limits is refused whole.
  assertWithinLimits(`up of ${topology.file}`, topology.resource_management.session_limits, [], topology.agents);
  const socket = options.socket;
  const bus: BusContext = { layout, socket, busBin: options.busBin };
  const commands: string[][] = [];
  const created = { sessions: [] as string[], windows: [] as string[], panes: [] as string[] };
  let fakeId = 0;
  const mutate: TmuxRun = async (args) => {
    commands.push(args);
    if (options.dryRun) {
      options.print?.(['tmux', ...(socket ? ['-L', socket] : []), ...args].map(shellWord).join(' '));
      return fakeAnswer(args, ++fakeId);
    }
    return runTmux(args, { socket });
  };
  const read = async (args: string[]): Promise<string> => (await tryTmux(args, { socket })) ?? '';
  // Before any pane starts: a CLI reads its hooks when it starts.
  const hooks = installTeamHooks(topology, options.busBin ?? BIN, options.dryRun ?? false);
  const mcp = installTeamMcp(topology, options.busBin ?? BIN, options.dryRun ?? false, (agent) => agent.mcp);

  const previous = readTeamState(layout).teams[topology.file];
  const record: TeamRecord = {
    file: topology.file,
    name: topology.name,
    ...(socket ? { socket } : {}),
    updated: new Date().toISOString(),
    sessions: [],
    windows: [],
    panes: [],
    agents: topology.agents.map((a) => a.name),
    ...(Object.keys(topology.resource_management.session_limits).length > 0 ? { session_limits: topology.resource_management.session_limits } : {}),
  };
  const paneOf = new Map<string, string>();
  const existingSessions = new Map(
    (await read(['list-sessions', '-F', `#{session_id}${SEP}#{session_name}`])).split('\n').filter(Boolean).map((l) => {
      const [id, name] = l.split(SEP);
      return [name!, id!] as const;
    }),
  );
  // Panes made in this run, by their tag: a dry run's fake ids are not visible to list-panes.
  const madeKeys = new Map<string, string>();

  for (const session of topology.sessions) {
    let sessionId = existingSessions.get(session.name);
    const sessionCreated = !sessionId || previous?.sessions.some((s) => s.name === session.name && s.id === sessionId && s.created) === true;
    const windows = new Map<string, string>();
    if (!sessionId) {
      const first = session.windows[0]!;
      const pane = first.panes[0]!;
      const start = paneStartOf(bus, session, first, pane);
      const made = await startSession(mutate, { session: session.name, window: first.name, width: SESSION_WIDTH, height: SESSION_HEIGHT }, start);
      sessionId = made.sessionId;
      windows.set(first.name, made.windowId);
      created.sessions.push(session.name);
      created.windows.push(`${session.name}:${first.name}`);
      created.panes.push(made.paneId);
      madeKeys.set(start.tags.key!, made.paneId);
    } else {
      for (const line of (await read(['list-windows', '-t', sessionId, '-F', `#{window_id}${SEP}#{window_name}`])).split('\n').filter(Boolean)) {
        const [id, name] = line.split(SEP);
        if (!windows.has(name!)) windows.set(name!, id!);
      }
    }
    record.sessions.push({ name: session.name, id: sessionId, created: sessionCreated });

    for (const window of session.windows) {
      let windowId = windows.get(window.name);
      const windowCreated = !windowId || sessionCreated || previous?.windows.some((w) => w.id === windowId && w.created) === true;
      let changed = false;
      if (!windowId) {
        const start = paneStartOf(bus, session, window, window.panes[0]!);
        const made = await startWindow(mutate, { target: `${sessionId}:`, window: window.name }, start);
        windowId = made.windowId;
        created.windows.push(`${session.name}:${window.name}`);
        created.panes.push(made.paneId);
        madeKeys.set(start.tags.key!, made.paneId);
        changed = true;
      }
      record.windows.push({ session: session.name, name: window.name, id: windowId, created: windowCreated });
      const tagged = new Map<string, string>();
      for (const line of (await read(['list-panes', '-t', windowId, '-F', `#{pane_id}${SEP}#{@bmad_pane}`])).split('\n').filter(Boolean)) {
        const [id, tag] = line.split(SEP);
        if (tag) tagged.set(tag, id!);
      }
      for (const [key, id] of madeKeys) tagged.set(key, id);
      for (const pane of window.panes) {
        const key = paneKey(session, window, pane);
        let paneId = tagged.get(key);
        if (!paneId) {
          const start = paneStartOf(bus, session, window, pane);
          paneId = await startSplit(mutate, windowId, start);
          // Rebalance after each split so the next one has room.
          await mutate(['select-layout', '-t', windowId, 'tiled']);
          created.panes.push(paneId);
          madeKeys.set(key, paneId);
          changed = true;
        }
        paneOf.set(key, paneId);
        const command = pane.agent ? pane.agent.command : pane.command;
        record.panes.push({
          id: paneId, session: session.name, window: window.name, index: pane.index,
          ...(pane.agent ? { agent: pane.agent.name } : {}), ...(pane.title ? { title: pane.title } : {}),
          ...(command ? { command } : {}), cwd: pane.cwd,
        });
      }
      if (changed && window.layout) for (const args of layoutCommands(windowId, window.layout)) await mutate(args);
    }
  }

  if (!options.dryRun) {
    const instance = await currentServer(socket);
    if (instance) record.tmux_server = instance;
    // Before the agents: the router resolves their profile names through what the bus saved.
    await saveTopologyProfiles(layout, topology.file, topology.profiles);
    for (const session of topology.sessions) {
      for (const window of session.windows) {
        for (const pane of window.panes) {
          if (!pane.agent) continue;
          if (options.holdUntil) await mutate(['set-option', '-p', '-t', paneOf.get(paneKey(session, window, pane))!, HOLD_OPTION, String(options.holdUntil)]);
          await register(layout, topology, pane.agent, paneOf.get(paneKey(session, window, pane))!, socket, instance);
        }
      }
    }
    const groups = Object.fromEntries(
      Object.entries(topology.groups).map(([name, g]) => [name, { ...(g.leader ? { leader: g.leader } : {}), members: g.members }]),
    );
    if (Object.keys(groups).length > 0) await setGroups(layout, groups);
    await saveTeam(layout, record);
    await applyTeamPriorities(topology, paneOfAgent(topology, paneOf), read);
  }
  return { created, commands, agents: topology.agents.map((a) => a.name), record, hooks, mcp };
}

/** The tmux server instance now answering on the socket (pane ids are only meaningful with it). */
export async function currentServer(socket: string | undefined): Promise<string | undefined> {
  const client = new TmuxClient({ socket, mode: 'plain' });
  try {
    return await serverInstance(client);
  } finally {
    client.close();
  }
}

/** A dry run's answer to a command that prints ids (`-F`): fake ids in the same shape. */
function fakeAnswer(args: string[], n: number): string {
  const i = args.indexOf('-F');
  if (i < 0 || !args.includes('-P')) return '';
  return args[i + 1]!
    .replace('#{session_id}', `$new${n}`).replace('#{window_id}', `@new${n}`).replace('#{pane_id}', `%new${n}`).replace('#{window_index}', '0');
}

/** Agent name → its pane id, from the panes of this run. */
function paneOfAgent(topology: Topology, paneOf: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const session of topology.sessions) {
    for (const window of session.windows) {
      for (const pane of window.panes) if (pane.agent) out.set(pane.agent.name, paneOf.get(paneKey(session, window, pane))!);
    }
  }
  return out;
}

function paneKey(session: SessionSpec, window: WindowSpec, pane: PaneSpec): string {
  return `${session.name}/${window.name}/${pane.index}`;
}

/** The start of one pane of the topology: an agent's, or a helper pane's (no agent identity). */
function paneStartOf(bus: BusContext, session: SessionSpec, window: WindowSpec, pane: PaneSpec): PaneStart {
  const key = paneKey(session, window, pane);
  if (pane.agent) return agentPaneStart(bus, pane.agent, { key, label: pane.title ?? pane.agent.role });
  return helperPaneStart(bus, pane, key);
}

async function register(
  layout: Layout, topology: Topology, agent: AgentSpec, paneId: string, socket: string | undefined, instance: string | undefined,
): Promise<void> {
  await addAgent(layout, {
    name: agent.name,
    role: agent.role,
    deliver: agent.deliver,
    tmux: paneId,
    ...(socket ? { tmux_socket: socket } : {}),
    ...(instance ? { tmux_server: instance } : {}),
    profile: agent.profile,
    policy: agent.policy,
    submit: agent.submit,
    submit_delay: agent.submit_delay,
    ...(agent.command ? { command: agent.command } : {}),
    ...(agent.template ? { template: agent.template } : {}),
    multiline: agent.multiline,
    ...(agent.project ? { project: agent.project } : {}),
    owner: topology.file,
    priority: agent.priority,
    cwd: agent.cwd,
    env: agent.env,
    ...((agent.restore_prompt ?? topology.supervisor.restore_prompt) ? { restore_prompt: agent.restore_prompt ?? topology.supervisor.restore_prompt } : {}),
  });
}

/** A word as a shell would need it, for printing dry-run commands people may paste. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
