import type { Envelope } from './envelope.js';
import { parseAddress } from './names.js';
import type { AgentRecord, Registry } from './registry.js';

/** Names of delivery consumers: an agent's inbox FIFO, its tmux pane and its CLI's hooks each have a cursor. */
export const inboxConsumer = (agent: string): string => `inbox:${agent}`;
export const tmuxConsumer = (agent: string): string => `tmux:${agent}`;
export const hooksConsumer = (agent: string): string => `hooks:${agent}`;
/** The kind part of a consumer key (`inbox:dev-1` → `inbox`): how the router's status file keys an agent's consumers. */
export type ConsumerKind = 'inbox' | 'tmux' | 'hooks';
export const consumerOf = (kind: ConsumerKind, agent: string): string => `${kind}:${agent}`;
export const consumerKindOf = (key: string): ConsumerKind => key.slice(0, key.indexOf(':')) as ConsumerKind;

/** Keeps each role's round-robin position (bus/role-turns.ts persists it). */
export interface RoleTurnKeeper {
  next(role: string, candidates: readonly string[]): string | undefined;
}

/** Who a journaled message is for: known agents, and the one unknown name it was addressed to (if any). */
export interface Recipients {
  agents: string[];
  unknown?: string;
}

/**
 * Two sets of groups as one (the one rule for groups across machines): a
 * group in both has the members of both, and the first set's leader when it
 * names one, else the second's.
 */
export function mergeGroupSets(first: Registry['groups'], second: Registry['groups']): Registry['groups'] {
  if (Object.keys(second).length === 0) return first;
  const merged: Registry['groups'] = { ...second, ...first };
  for (const [name, theirs] of Object.entries(second)) {
    const ours = first[name];
    if (!ours) continue;
    const leader = ours.leader ?? theirs.leader;
    merged[name] = { ...(leader !== undefined ? { leader } : {}), members: [...new Set([...ours.members, ...theirs.members])] };
  }
  return merged;
}

/**
 * Resolves addresses against the registry: a name, `*` (everyone but the
 * sender), `role:R` (one live agent of the role, chosen once when the message
 * is accepted and written into it as `rcpt`), `group:G` and `leader:G`.
 */
export class AddressBook {
  private agents = new Map<string, AgentRecord>();
  private groups: Registry['groups'] = {};

  constructor(registry: Registry) {
    this.update(registry);
  }

  update(registry: Registry): void {
    this.agents = new Map(Object.entries(registry.agents));
    // This machine's groups first: its leader wins here.
    this.groups = mergeGroupSets(registry.groups, registry.remote_groups ?? {});
  }

  get names(): string[] {
    return [...this.agents.keys()];
  }

  get(name: string): AgentRecord | undefined {
    return this.agents.get(name);
  }

  /** Round robin over the live agents of a role, skipping failed and dead ones; `turns` keeps the position. */
  chooseForRole(role: string, turns: RoleTurnKeeper): string | undefined {
    const candidates = [...this.agents.values()]
      .filter((a) => a.role === role && a.status !== 'failed' && a.status !== 'dead' && a.status !== 'stopped')
      .map((a) => a.name)
      .sort();
    return turns.next(role, candidates);
  }

  recipients(envelope: Envelope): Recipients {
    const address = parseAddress(envelope.to);
    switch (address.kind) {
      case 'agent':
        return this.agents.has(address.name) ? { agents: [address.name] } : { agents: [], unknown: address.name };
      case 'broadcast':
        return { agents: this.names.filter((n) => n !== envelope.from) };
      case 'role':
        if (envelope.rcpt === undefined) return { agents: [], unknown: envelope.to };
        return this.agents.has(envelope.rcpt) ? { agents: [envelope.rcpt] } : { agents: [], unknown: envelope.rcpt };
      case 'group': {
        const group = this.groups[address.name];
        if (!group) return { agents: [], unknown: envelope.to };
        return { agents: group.members.filter((m) => this.agents.has(m) && m !== envelope.from) };
      }
      case 'leader': {
        const leader = this.groups[address.name]?.leader;
        if (!leader) return { agents: [], unknown: envelope.to };
        return this.agents.has(leader) ? { agents: [leader] } : { agents: [], unknown: leader };
      }
    }
  }

  /** The consumers an agent's delivery mode asks for. */
  consumersOf(name: string): string[] {
    const agent = this.agents.get(name);
    if (!agent) return [];
    switch (agent.deliver) {
      case 'inbox':
        return [inboxConsumer(name)];
      case 'tmux':
        return [tmuxConsumer(name)];
      case 'both':
        return [inboxConsumer(name), tmuxConsumer(name)];
      case 'hooks':
        return [hooksConsumer(name)];
      case 'none':
        return [];
    }
  }
}
