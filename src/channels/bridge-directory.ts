import fs from 'node:fs';
import type { KV, KvEntry } from '@nats-io/kv';
import { unlessFsRace } from '../bus/errors.js';
import { mergeGroupSets } from '../bus/address-book.js';
import type { Layout } from '../bus/layout.js';
import { BRIDGE_OWNER, readRegistry, replaceBridgedAgents, type AgentRecord, type GroupRecord } from '../bus/registry.js';

/** What the directory says about one agent: the machine it lives on, and what addresses need (role, status). */
export interface DirectoryEntry {
  machine: string;
  role?: string;
  status?: AgentRecord['status'];
  /** ISO 8601: when its machine last published it. */
  at: string;
}

/** What the directory says about one machine's groups (its topology's), under the key `_groups.<machine>`. */
export interface DirectoryGroups {
  machine: string;
  groups: Record<string, GroupRecord>;
  at: string;
}

/** Group entries' keys: `_` starts no agent name, so they never clash with one. */
const GROUPS_PREFIX = '_groups.';
const groupsKey = (machine: string): string => `${GROUPS_PREFIX}${machine}`;

/**
 * Which agent lives on which machine, in a JetStream KV bucket (one key per
 * agent name: names are global to the team). Each bridge publishes the
 * agents of its own registry there, and watches the bucket for the others',
 * which it registers locally (`owner: bridge`, `deliver: none`, `machine`),
 * so `*`, `role:` and plain names resolve across machines with the bus's own
 * address rules. A name another machine has claimed is refused: it is not
 * published, and `conflicts` says so (status, log), until it is renamed
 * there or here. Each machine's groups are published too (one key per
 * machine), so `group:G` reaches every machine's members of G.
 */
export class BridgeDirectory {
  private readonly remote = new Map<string, DirectoryEntry>();
  /** Other machines' groups: machine → its groups. */
  private readonly remoteGroups = new Map<string, Record<string, GroupRecord>>();
  private publishedGroups: string | undefined;
  /** Our agents that another machine claimed first: name → that machine. */
  readonly conflicts = new Map<string, string>();
  private published = new Map<string, string>();
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly layout: Layout,
    private readonly machine: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The machine of an agent of another machine, or undefined (ours, or unknown). */
  machineOf(name: string): string | undefined {
    return this.remote.get(name)?.machine;
  }

  /** Every entry of the bucket, then the changes as they come; local registrations follow each change. */
  async watch(kv: KV, signal: AbortSignal): Promise<void> {
    const iterator = await kv.watch({ key: '>' });
    const stop = (): void => iterator.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const entry of iterator) {
        if (signal.aborted) break;
        this.take(entry);
        this.applying = this.applying.then(() => this.apply()).catch((error: unknown) => this.log(`directory: ${(error as Error).message}`));
      }
    } finally {
      signal.removeEventListener('abort', stop);
      iterator.stop();
    }
  }

  /** Publishes this machine's own agents (those not registered by the bridge); called at start and when the registry changes. */
  async publish(kv: KV): Promise<void> {
    const registry = readRegistry(this.layout);
    // The orchestrator `init` registers is each machine's own: messages to `orchestrator` stay on their machine.
    const ours = Object.values(registry.agents).filter((a) => a.owner !== BRIDGE_OWNER && a.owner !== 'init');
    const wanted = new Map(ours.map((a) => [a.name, a]));
    for (const agent of ours) {
      const entry: DirectoryEntry = { machine: this.machine, ...(agent.role ? { role: agent.role } : {}), ...(agent.status ? { status: agent.status } : {}), at: new Date().toISOString() };
      const key = JSON.stringify({ ...entry, at: undefined });
      if (this.published.get(agent.name) === key) continue;
      const claimed = await this.claim(kv, agent.name, entry);
      if (claimed) this.published.set(agent.name, key);
    }
    const groups = JSON.stringify(registry.groups);
    if (groups !== this.publishedGroups) {
      const entry: DirectoryGroups = { machine: this.machine, groups: registry.groups, at: new Date().toISOString() };
      await kv.put(groupsKey(this.machine), JSON.stringify(entry));
      this.publishedGroups = groups;
    }
    // Gone from our registry: gone from the directory (only entries that are ours).
    for (const name of [...this.published.keys()]) {
      if (wanted.has(name)) continue;
      const current = await kv.get(name);
      if (current && current.operation === 'PUT' && (current.json<DirectoryEntry>()).machine === this.machine) await kv.delete(name);
      this.published.delete(name);
    }
  }

  /** When the registry last changed (its file's mtime; 0 when there is none). */
  registryMtime(): number {
    return unlessFsRace(() => fs.statSync(this.layout.registryFile).mtimeMs, 0, ['ENOENT']);
  }

  /** Puts our entry unless another machine holds the name: create when free, update only the revision we saw. */
  private async claim(kv: KV, name: string, entry: DirectoryEntry): Promise<boolean> {
    const data = JSON.stringify(entry);
    const current = await kv.get(name);
    try {
      if (!current || current.operation !== 'PUT') await kv.create(name, data);
      else {
        const owner = current.json<DirectoryEntry>().machine;
        if (owner !== this.machine) {
          if (this.conflicts.get(name) !== owner) this.log(`directory: agent name ${name} is claimed by machine ${owner}: not published from ${this.machine} (rename one of them)`);
          this.conflicts.set(name, owner);
          return false;
        }
        await kv.update(name, data, current.revision);
      }
      this.conflicts.delete(name);
      return true;
    } catch (error) {
      // Another machine created it between our read and our write, or updated ours: look again at the next publish.
      this.log(`directory: claiming ${name}: ${(error as Error).message}`);
      return false;
    }
  }

  private take(entry: KvEntry): void {
    if (entry.key.startsWith(GROUPS_PREFIX)) {
      this.takeGroups(entry);
      return;
    }
    if (entry.operation !== 'PUT') {
      this.remote.delete(entry.key);
      return;
    }
    let value: DirectoryEntry;
    try {
      value = entry.json<DirectoryEntry>();
    } catch {
      this.log(`directory: entry ${entry.key} is not JSON: ignored`);
      return;
    }
    if (typeof value?.machine !== 'string' || value.machine === this.machine) this.remote.delete(entry.key);
    else this.remote.set(entry.key, value);
  }

  private takeGroups(entry: KvEntry): void {
    const machine = entry.key.slice(GROUPS_PREFIX.length);
    if (machine === this.machine) return;
    if (entry.operation !== 'PUT') {
      this.remoteGroups.delete(machine);
      return;
    }
    try {
      const value = entry.json<DirectoryGroups>();
      if (value?.machine !== machine || typeof value.groups !== 'object' || value.groups === null) throw new Error('not a groups entry');
      // Only groups with a list of members are taken (names are checked when they are registered).
      this.remoteGroups.set(machine, Object.fromEntries(Object.entries(value.groups).filter(([, g]) => Array.isArray(g?.members))));
    } catch (error) {
      this.log(`directory: entry ${entry.key} ignored: ${(error as Error).message}`);
    }
  }

  /** Every other machine's groups as one: members of all; the leader of the first machine (by name) that names one. */
  private mergedRemoteGroups(): Record<string, GroupRecord> {
    let merged: Record<string, GroupRecord> = {};
    for (const machine of [...this.remoteGroups.keys()].sort()) merged = mergeGroupSets(merged, this.remoteGroups.get(machine)!);
    return merged;
  }

  /** The local registry's bridged agents and groups made to match the directory. */
  private async apply(): Promise<void> {
    const remote = [...this.remote].map(([name, e]) => ({ name, machine: e.machine, ...(e.role ? { role: e.role } : {}), ...(e.status ? { status: e.status } : {}) }));
    let clashes: string[];
    try {
      clashes = await replaceBridgedAgents(this.layout, remote, this.mergedRemoteGroups());
    } catch (error) {
      // A machine published a name this bus cannot hold: its agents are left as they were, and the log says why.
      this.log(`directory: not applied: ${(error as Error).message}`);
      return;
    }
    for (const name of clashes) {
      if (this.conflicts.has(name)) continue;
      this.conflicts.set(name, this.remote.get(name)!.machine);
      this.log(`directory: agent name ${name} is registered here and claimed by machine ${this.remote.get(name)!.machine}: messages to it stay here (rename one of them)`);
    }
  }
}
