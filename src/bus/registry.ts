import fs from 'node:fs';
import { UnknownAgentError, UsageError, errnoCode } from './errors.js';
import { ensureFifo } from './fs-safety.js';
import type { Layout } from './layout.js';
import type { PriorityLevel } from './priority.js';
import { assertName, isValidName } from './names.js';
import { readStateFile, updateStateFile } from './state-file.js';

/**
 * How an agent gets its messages: its inbox FIFO, pasted into its tmux pane,
 * both, handed over by its CLI's own hooks at turn boundaries (`hooks`: only a
 * short nudge is ever typed, to wake an idle agent), or not at all.
 */
export type DeliveryMode = 'inbox' | 'tmux' | 'both' | 'hooks' | 'none';
export const DELIVERY_MODES: readonly DeliveryMode[] = ['inbox', 'tmux', 'both', 'hooks', 'none'];

/**
 * When messages are typed into an agent's pane. `when-idle`: only while the
 * agent is idle, one turn at a time. `immediate`: as soon as they come. Under
 * both, nothing is ever typed into a permission prompt, a modal or a
 * rate-limit screen: that would answer a question the human was asked.
 */
export type DeliveryPolicy = 'when-idle' | 'immediate';
export const DELIVERY_POLICIES: readonly DeliveryPolicy[] = ['when-idle', 'immediate'];

export interface AgentRecord {
  name: string;
  role?: string;
  deliver: DeliveryMode;
  /** tmux target of the agent's pane (`%12` or `session:window.pane`). */
  tmux?: string;
  /** The agent's profile (`bmad-bus profiles`): how to type into its CLI and read its screen. Unset: `auto`. */
  profile?: string;
  /** When its pane is typed into; unset: the profile's default. */
  policy?: DeliveryPolicy;
  /** Line breaks in a pasted message: `join` into one line (default) or `keep` (for multi-line input boxes). */
  multiline?: 'join' | 'keep';
  /** The key that submits a pasted message (`Enter`, `C-m`...). */
  submit?: string;
  /** Milliseconds between the paste and the submit key. */
  submit_delay?: number;
  /** The program the agent runs (`up` sets it); a pane running a bare shell instead is not typed into. */
  command?: string;
  /** Rendering template for pane injection; `{from}`, `{to}`, `{body}`, `{id}`, `{type}`, `{ts}`. */
  template?: string;
  project?: string;
  /** Which topology file (or `cli`) registered it; `down FILE` removes only its own. */
  owner?: string;
  registered: string;
  /** Working directory and environment the team layer started the agent with. */
  cwd?: string;
  env?: Record<string, string>;
  /** Text injected after a restart so the agent can pick up its work. */
  restore_prompt?: string;
  /** tmux server socket name (tmux -L) of the agent's pane; the user's default server when unset. */
  tmux_socket?: string;
  /** The tmux server instance (`<pid>:<start_time>`, tmux/server-instance.ts) the pane was made on: pane ids are reused after a server restart. */
  tmux_server?: string;
  /** Journal offset at registration: where delivery to a new agent starts. */
  since?: number;
  /** Set by the supervisor: `failed`, `dead` and `stopped` agents are skipped by role addressing. */
  status?: 'running' | 'idle' | 'dead' | 'failed' | 'restarting' | 'stopped';
  /** Its level in the topology's `resource_management.priorities`: the router serves waiting deliveries highest first. Unset: `normal`. */
  priority?: PriorityLevel;
  /**
   * Set for an agent that lives on another machine, registered here by the
   * NATS bridge (`owner: bridge`, `deliver: none`): addresses resolve to it
   * like to any agent, and the bridge carries its messages there.
   */
  machine?: string;
}

/** The owner of the agents the NATS bridge registers for other machines. */
export const BRIDGE_OWNER = 'bridge';

export interface GroupRecord {
  leader?: string;
  members: string[];
}

export interface Registry {
  agents: Record<string, AgentRecord>;
  /** This machine's groups (the topology sets them). */
  groups: Record<string, GroupRecord>;
  /**
   * The groups other machines define, merged (the NATS bridge keeps them):
   * `group:G` reaches the members of both, `leader:G` this machine's leader
   * when it names one, else theirs.
   */
  remote_groups?: Record<string, GroupRecord>;
}

const EMPTY: Registry = { agents: {}, groups: {} };

export function readRegistry(layout: Layout): Registry {
  const registry = readStateFile<Registry>(layout.registryFile, EMPTY);
  return { ...registry, agents: registry.agents ?? {}, groups: registry.groups ?? {} };
}

export type AgentInput = Omit<AgentRecord, 'registered' | 'deliver'> & { deliver?: DeliveryMode };

/** Adds or updates an agent and creates its inbox FIFO. */
export async function addAgent(layout: Layout, input: AgentInput): Promise<AgentRecord> {
  assertName(input.name);
  if (input.role !== undefined) assertName(input.role, 'role');
  const deliver = input.deliver ?? (input.tmux ? 'tmux' : 'inbox');
  if (!DELIVERY_MODES.includes(deliver)) {
    throw new UsageError(`Expected delivery mode inbox, tmux, both, hooks or none, got \`${String(deliver)}\``);
  }
  if ((deliver === 'tmux' || deliver === 'both') && !input.tmux) {
    throw new UsageError(`Delivery mode ${deliver} needs a tmux target (--tmux TARGET)`);
  }
  ensureFifo(layout.inboxPipe(input.name));
  return updateStateFile(layout.registryFile, EMPTY, (registry) => {
    const previous = registry.agents?.[input.name];
    // Names are global to a team across machines: one the bridge registered for another machine is taken.
    if (previous?.owner === BRIDGE_OWNER && input.owner !== BRIDGE_OWNER) {
      throw new UsageError(`Agent name \`${input.name}\` belongs to machine ${previous.machine ?? '?'} (the NATS bridge registered it): choose another name`);
    }
    const record: AgentRecord = { ...previous, ...dropUndefined(input), deliver, registered: previous?.registered ?? new Date().toISOString() };
    return { value: { ...registry, agents: { ...registry.agents, [input.name]: record }, groups: registry.groups ?? {} }, result: record };
  });
}

/** Removes an agent from the registry and deletes its inbox FIFO. */
export async function removeAgent(layout: Layout, name: string): Promise<void> {
  assertName(name);
  await updateStateFile(layout.registryFile, EMPTY, (registry) => {
    if (!registry.agents?.[name]) throw new UnknownAgentError(`No agent named \`${name}\` (see \`bmad-bus agents\`)`);
    const agents = { ...registry.agents };
    delete agents[name];
    return { value: { ...registry, agents, groups: registry.groups ?? {} }, result: undefined };
  });
  try {
    fs.unlinkSync(layout.inboxPipe(name));
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
}

/**
 * Makes the agents of other machines (`owner: bridge`) exactly `remote`, and
 * their groups exactly `groups`, in one locked write: added, updated or
 * removed, never touching an agent of this machine (a local agent of the
 * same name wins here). Returns the names that were left out because a
 * local agent has them.
 */
export async function replaceBridgedAgents(layout: Layout, remote: ReadonlyArray<Pick<AgentRecord, 'name' | 'machine' | 'role' | 'status'>>, groups: Record<string, GroupRecord> = {}): Promise<string[]> {
  for (const r of remote) assertName(r.name);
  assertGroups(groups);
  return updateStateFile(layout.registryFile, EMPTY, (registry) => {
    const agents: Record<string, AgentRecord> = {};
    for (const [name, record] of Object.entries(registry.agents ?? {})) if (record.owner !== BRIDGE_OWNER) agents[name] = record;
    const clashes: string[] = [];
    for (const r of remote) {
      if (agents[r.name]) {
        clashes.push(r.name);
        continue;
      }
      const previous = registry.agents?.[r.name];
      agents[r.name] = { ...dropUndefined(r), name: r.name, deliver: 'none', owner: BRIDGE_OWNER, registered: previous?.registered ?? new Date().toISOString() };
    }
    const remoteGroups = Object.keys(groups).length > 0 ? { remote_groups: groups } : {};
    const same = JSON.stringify(agents) === JSON.stringify(registry.agents ?? {}) && JSON.stringify(groups) === JSON.stringify(registry.remote_groups ?? {});
    if (same) return { result: clashes };
    const rest: Partial<Registry> = { ...registry };
    delete rest.remote_groups;
    return { value: { ...rest, agents, groups: registry.groups ?? {}, ...remoteGroups }, result: clashes };
  });
}

/** Replaces the groups owned by the registry (the topology sets them). */
export async function setGroups(layout: Layout, groups: Record<string, GroupRecord>): Promise<void> {
  assertGroups(groups);
  await updateStateFile(layout.registryFile, EMPTY, (registry) => ({
    value: { ...registry, agents: registry.agents ?? {}, groups: { ...registry.groups, ...groups } },
    result: undefined,
  }));
}

function assertGroups(groups: Record<string, GroupRecord>): void {
  for (const [name, group] of Object.entries(groups)) {
    assertName(name, 'group name');
    if (group.leader !== undefined) assertName(group.leader, 'group leader');
    if (!Array.isArray(group.members)) throw new UsageError(`Expected group ${name}'s members to be a list of agent names`);
    for (const member of group.members) assertName(member, 'group member');
  }
}

export function getAgent(layout: Layout, name: string): AgentRecord {
  if (!isValidName(name)) assertName(name);
  const agent = readRegistry(layout).agents[name];
  if (!agent) throw new UnknownAgentError(`No agent named \`${name}\` (see \`bmad-bus agents\`)`);
  return agent;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
