import type { Layout } from '../bus/layout.js';
import { addAgent, setGroups } from '../bus/registry.js';
import type { AgentSpec, PaneSpec, SessionSpec, Topology, WindowSpec } from '../team/topology-types.js';
import { layoutCommands } from './layouts.js';
import { runTmux, tryTmux } from './plain.js';
import { readTeamState, saveTeam, type TeamRecord } from './team-state.js';

export interface UpOptions {
  socket?: string | undefined;
  /** Print the commands instead of running them (reads of the server still happen). */
  dryRun?: boolean;
  /** The bmad-bus executable agents should call (exported to panes as BMAD_BUS_BIN). */
  busBin?: string;
  /** Where commands are reported (dry-run) and progress lines go. */
  print?: (line: string) => void;
}

export interface UpResult {
  created: { sessions: string[]; windows: string[]; panes: string[] };
  /** Every command that changed the server (or would have, with dryRun). */
  commands: string[][];
  agents: string[];
  record: TeamRecord;
}

/** Width × height of detached sessions up creates: large enough to split a development window. */
const SESSION_SIZE = ['-x', '220', '-y', '60'];
const SEP = '\t';

/**
 * Brings a topology up in tmux: creates the sessions, windows and panes that
 * are missing (nothing else: a second run on a live team creates nothing),
 * starts each pane's command with its cwd and env, keeps a crashed agent's pane
 * visible (`remain-on-exit`), applies layouts, tags each pane (`@bmad_pane`),
 * registers every agent with its pane id, and records what it made.
 */
export async function up(layout: Layout, topology: Topology, options: UpOptions = {}): Promise<UpResult> {
  const socket = options.socket;
  const commands: string[][] = [];
  const created = { sessions: [] as string[], windows: [] as string[], panes: [] as string[] };
  let fakeId = 0;
  const mutate = async (args: string[], fake: () => string = () => ''): Promise<string> => {
    commands.push(args);
    if (options.dryRun) {
      options.print?.(['tmux', ...(socket ? ['-L', socket] : []), ...args].map(shellWord).join(' '));
      return fake();
    }
    return runTmux(args, { socket });
  };
  const read = async (args: string[]): Promise<string> => (await tryTmux(args, { socket })) ?? '';

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
  };
  const paneOf = new Map<string, string>();
  const existingSessions = new Map(
    (await read(['list-sessions', '-F', `#{session_id}${SEP}#{session_name}`])).split('\n').filter(Boolean).map((l) => {
      const [id, name] = l.split(SEP);
      return [name!, id!] as const;
    }),
  );

  for (const session of topology.sessions) {
    let sessionId = existingSessions.get(session.name);
    const sessionCreated = !sessionId || previous?.sessions.some((s) => s.name === session.name && s.id === sessionId && s.created) === true;
    const windows = new Map<string, string>();
    if (!sessionId) {
      const first = session.windows[0]!;
      const pane = first.panes[0]!;
      const out = await mutate(
        ['new-session', '-d', '-P', '-F', `#{session_id}${SEP}#{window_id}${SEP}#{pane_id}`, '-s', session.name, '-n', first.name, ...SESSION_SIZE,
          ...startArgs(layout, session, pane, options)],
        () => `$new${++fakeId}${SEP}@new${fakeId}${SEP}%new${fakeId}`,
      );
      const [sid, wid, pid] = out.split(SEP);
      sessionId = sid!;
      windows.set(first.name, wid!);
      created.sessions.push(session.name);
      created.windows.push(`${session.name}:${first.name}`);
      await prepareWindow(mutate, wid!);
      await tagPane(mutate, pid!, session, first, pane);
      created.panes.push(pid!);
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
        const pane = window.panes[0]!;
        const out = await mutate(
          ['new-window', '-d', '-P', '-F', `#{window_id}${SEP}#{pane_id}`, '-t', `${sessionId}:`, '-n', window.name, ...startArgs(layout, session, pane, options)],
          () => `@new${++fakeId}${SEP}%new${fakeId}`,
        );
        const [wid, pid] = out.split(SEP);
        windowId = wid!;
        created.windows.push(`${session.name}:${window.name}`);
        await prepareWindow(mutate, windowId);
        await tagPane(mutate, pid!, session, window, pane);
        created.panes.push(pid!);
        changed = true;
      }
      record.windows.push({ session: session.name, name: window.name, id: windowId, created: windowCreated });
      const tagged = new Map<string, string>();
      for (const line of (await read(['list-panes', '-t', windowId, '-F', `#{pane_id}${SEP}#{@bmad_pane}`])).split('\n').filter(Boolean)) {
        const [id, tag] = line.split(SEP);
        if (tag) tagged.set(tag, id!);
      }
      for (const id of created.panes) {
        // Panes made above in this run are not visible to list-panes in a dry run.
        const key = fakeKeys.get(id);
        if (key) tagged.set(key, id);
      }
      for (const pane of window.panes) {
        const key = paneKey(session, window, pane);
        let paneId = tagged.get(key);
        if (!paneId) {
          paneId = await mutate(
            ['split-window', '-d', '-P', '-F', '#{pane_id}', '-t', windowId, ...startArgs(layout, session, pane, options)],
            () => `%new${++fakeId}`,
          );
          // Rebalance after each split so the next one has room.
          await mutate(['select-layout', '-t', windowId, 'tiled']);
          await tagPane(mutate, paneId, session, window, pane);
          created.panes.push(paneId);
          changed = true;
        }
        paneOf.set(key, paneId);
        record.panes.push({
          id: paneId, session: session.name, window: window.name, index: pane.index,
          ...(pane.agent ? { agent: pane.agent.name } : {}), ...(pane.title ? { title: pane.title } : {}),
          ...((pane.agent?.command ?? pane.command) ? { command: pane.agent?.command ?? pane.command } : {}), cwd: pane.cwd,
        });
      }
      if (changed && window.layout) for (const args of layoutCommands(windowId, window.layout)) await mutate(args);
    }
  }

  if (!options.dryRun) {
    for (const session of topology.sessions) {
      for (const window of session.windows) {
        for (const pane of window.panes) {
          if (pane.agent) await register(layout, topology, pane.agent, paneOf.get(paneKey(session, window, pane))!, socket);
        }
      }
    }
    const groups = Object.fromEntries(
      Object.entries(topology.groups).map(([name, g]) => [name, { ...(g.leader ? { leader: g.leader } : {}), members: g.members }]),
    );
    if (Object.keys(groups).length > 0) await setGroups(layout, groups);
    await saveTeam(layout, record);
  }
  fakeKeys.clear();
  return { created, commands, agents: topology.agents.map((a) => a.name), record };
}

/** Dry runs hand out fake pane ids; this maps them to their tag so the pane loop finds them. */
const fakeKeys = new Map<string, string>();

type Mutate = (args: string[], fake?: () => string) => Promise<string>;

async function prepareWindow(mutate: Mutate, windowId: string): Promise<void> {
  // A crashed agent's pane stays, dead, so status shows it and the supervisor can respawn it in place.
  await mutate(['set-option', '-w', '-t', windowId, 'remain-on-exit', 'on']);
}

async function tagPane(mutate: Mutate, paneId: string, session: SessionSpec, window: WindowSpec, pane: PaneSpec): Promise<void> {
  const key = paneKey(session, window, pane);
  if (paneId.startsWith('%new')) fakeKeys.set(paneId, key);
  await mutate(['set-option', '-p', '-t', paneId, '@bmad_pane', key]);
  if (pane.agent) await mutate(['set-option', '-p', '-t', paneId, '@bmad_agent', pane.agent.name]);
  const title = pane.agent?.name ?? pane.title;
  if (title) {
    await mutate(['set-option', '-p', '-t', paneId, '@bmad_title', pane.title ?? pane.agent!.role]);
    await mutate(['select-pane', '-t', paneId, '-T', title]);
  }
}

function paneKey(session: SessionSpec, window: WindowSpec, pane: PaneSpec): string {
  return `${session.name}/${window.name}/${pane.index}`;
}

/** `-c cwd -e K=V... [command]`: the pane's start, with the bus's own variables so agents can answer. */
function startArgs(layout: Layout, _session: SessionSpec, pane: PaneSpec, options: UpOptions): string[] {
  const env: Record<string, string> = { ...pane.env, BMAD_BUS_DIR: layout.root };
  if (options.socket) env.BMAD_TMUX_SOCKET = options.socket;
  if (options.busBin) env.BMAD_BUS_BIN = options.busBin;
  if (pane.agent) env.BMAD_AGENT = pane.agent.name;
  const command = pane.agent ? pane.agent.command : pane.command;
  return ['-c', pane.cwd, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ...(command ? [command] : [])];
}

async function register(layout: Layout, topology: Topology, agent: AgentSpec, paneId: string, socket: string | undefined): Promise<void> {
  await addAgent(layout, {
    name: agent.name,
    role: agent.role,
    deliver: agent.deliver,
    tmux: paneId,
    ...(socket ? { tmux_socket: socket } : {}),
    submit: agent.submit,
    submit_delay: agent.submit_delay,
    ...(agent.command ? { command: agent.command } : {}),
    ...(agent.template ? { template: agent.template } : {}),
    multiline: agent.multiline,
    ...(agent.project ? { project: agent.project } : {}),
    owner: topology.file,
    cwd: agent.cwd,
    env: agent.env,
    ...((agent.restore_prompt ?? topology.supervisor.restore_prompt) ? { restore_prompt: agent.restore_prompt ?? topology.supervisor.restore_prompt } : {}),
  });
}

/** A word as a shell would need it, for printing dry-run commands people may paste. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
