import { UsageError } from '../bus/errors.js';
import { addAgent, readRegistry, removeAgent, type DeliveryMode, type DeliveryPolicy } from '../bus/registry.js';
import { loadProfileSet } from '../agents/profile-store.js';
import { AUTO_PROFILE } from '../agents/profiles.js';
import { currentAgentStates } from '../agents/screen-state.js';
import type { MultilineMode } from '../tmux/render.js';
import { assertName } from '../bus/names.js';
import { openOrInitRoot, openRoot } from '../bus/root.js';
import { renderTable } from '../bus/text-table.js';
import { journalEnd } from '../journal/segments.js';
import { readLiveRouterStatus } from '../router/router-status.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export async function listAgents(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const agents = Object.values(readRegistry(layout).agents).sort((a, b) => a.name.localeCompare(b.name));
  const states = await currentAgentStates(layout, agents, tmuxSocketOf(options));
  if (options.json) {
    // The record as registered, with what the agent is doing now (and the profile `auto` resolved to).
    printJson(agents.map((a) => {
      const { known, profile } = states.get(a.name) ?? {};
      return { ...a, ...(profile && !a.profile ? { profile_resolved: profile } : {}), ...(known ? { state: known.state, state_source: known.source } : {}) };
    }));
    return;
  }
  if (agents.length === 0) {
    printLine('no agents (add one with `bmad-bus agents add NAME`)');
    return;
  }
  const router = readLiveRouterStatus(layout);
  printLine(
    renderTable(
      ['NAME', 'ROLE', 'DELIVER', 'TMUX', 'PROFILE', 'STATE', 'UNDELIVERED'],
      agents.map((a) => {
        const { known, profile } = states.get(a.name) ?? {};
        return [a.name, a.role ?? '-', a.machine ? `on ${a.machine}` : a.deliver, a.tmux ?? '-', profile ?? (a.tmux ? 'auto' : '-'), known?.state ?? '-', router ? String(router.agents[a.name]?.undelivered ?? 0) : '?'];
      }),
    ).join('\n'),
  );
}

export interface AddAgentOptions extends GlobalOptions {
  role?: string;
  tmux?: string;
  deliver?: DeliveryMode;
  profile?: string;
  policy?: DeliveryPolicy;
  multiline?: MultilineMode;
  submit?: string;
  submitDelay?: string;
  command?: string;
  template?: string;
  json?: boolean;
}

export async function addAgentCommand(name: string, options: AddAgentOptions): Promise<void> {
  const layout = openOrInitRoot(rootOf(options));
  let submitDelay: number | undefined;
  if (options.submitDelay !== undefined) {
    submitDelay = Number(options.submitDelay);
    if (!Number.isInteger(submitDelay) || submitDelay < 0 || submitDelay > 60_000) {
      throw new UsageError(`Expected --submit-delay to be milliseconds between 0 and 60000, got \`${options.submitDelay}\``);
    }
  }
  const socket = tmuxSocketOf(options);
  assertName(name);
  // Checked now, against the profiles this bus knows (built-in, and those a topology's `up` saved): a typo fails here, not at delivery.
  const profile = options.profile === undefined || options.profile === AUTO_PROFILE ? undefined : loadProfileSet(layout).resolve(options.profile, options.command).name;
  // Registering a pane claims it: the router types only into panes tagged for their agent, on the server they were tagged on.
  const claimed = options.tmux ? await claimPane(socket, options.tmux, name) : undefined;
  if (options.tmux && !claimed && (options.deliver === 'tmux' || options.deliver === 'both' || options.deliver === 'hooks' || !options.deliver)) {
    process.stderr.write(`bmad-bus: warning: no tmux pane ${options.tmux} to tag; messages wait until it carries @bmad_agent ${name}\n`);
  }
  const record = await addAgent(layout, {
    name,
    ...(options.role ? { role: options.role } : {}),
    ...(options.tmux ? { tmux: options.tmux } : {}),
    ...(options.tmux && socket ? { tmux_socket: socket } : {}),
    ...(claimed?.server ? { tmux_server: claimed.server } : {}),
    ...(options.deliver ? { deliver: options.deliver } : {}),
    ...(profile ? { profile } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.multiline ? { multiline: options.multiline } : {}),
    ...(options.submit ? { submit: options.submit } : {}),
    ...(submitDelay !== undefined ? { submit_delay: submitDelay } : {}),
    ...(options.command ? { command: options.command } : {}),
    ...(options.template ? { template: options.template } : {}),
    owner: 'cli',
    since: journalEnd(layout.journalDir),
  });
  if (record.deliver === 'hooks') {
    // Nothing checks from here that the CLI will run the hooks: say what it takes, once.
    const nudge = record.tmux ? '' : '; with no --tmux pane an idle agent is not nudged, its messages go at its next turn end';
    process.stderr.write(`bmad-bus: note: deliver hooks: its CLI (Claude Code, Gemini CLI or Qwen Code) must run bmad-bus's hooks (bmad-bus hooks install --cwd DIR) with BMAD_AGENT=${name}${nudge}\n`);
  }
  if (options.json) printJson(record);
  else printLine(layout.inboxPipe(name));
}

export async function removeAgentCommand(name: string, options: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  await removeAgent(layout, name);
}

async function claimPane(socket: string | undefined, target: string, name: string): Promise<{ server: string | undefined } | undefined> {
  const { TmuxClient } = await import('../tmux/client.js');
  const { tagPane } = await import('../tmux/pane-owner.js');
  const client = new TmuxClient({ socket, mode: 'plain' });
  try {
    return await tagPane(client, target, name);
  } finally {
    client.close();
  }
}
