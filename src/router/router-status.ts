import type { Layout } from '../bus/layout.js';
import { readStateFile } from '../bus/state-file.js';
import { writeReport } from '../bus/fs-safety.js';
import { pidAlive } from '../bus/pid-alive.js';

/** What a running router tells `status` about itself (state/router-status.json). */
export interface RouterStatus {
  pid: number;
  keeper_pid?: number;
  root: string;
  started: string;
  updated: string;
  ready: boolean;
  stopping?: boolean;
  restarts: number;
  durability: string;
  accepted: number;
  delivered: number;
  dead_lettered: number;
  /** Messages held for agents that are not registered (yet). */
  held: number;
  journal_end: number;
  /** Set while the disk is full: the journal (or, running alone, the intake) takes nothing; nothing is lost. */
  disk_full_since?: string;
  /** Memory of the router process (bytes): resident set and V8 heap in use. */
  rss: number;
  heap_used: number;
  agents: Record<string, AgentDeliveryStatus>;
}

export interface AgentDeliveryStatus {
  undelivered: number;
  consumers: Record<string, { cursor: number; live: boolean; waiting?: string; delivered: number }>;
}

/** What the keeper tells `status` (state/keeper.json). */
export interface KeeperStatus {
  pid: number;
  root: string;
  started: string;
  router_pid?: number;
  /** The supervisor child (`bmad-bus supervise`), when the keeper runs one for a topology. */
  supervisor_pid?: number;
  /** The NATS bridge child (`bmad-bus bridge`), when started with `--nats` or a topology's `bridge:`. */
  bridge_pid?: number;
  /** The web view child (`bmad-bus web`), when started with `--web`. */
  web_pid?: number;
  restarts: number;
  last_exit?: string;
  stopping?: boolean;
  /** Set while the disk is full: the keeper stopped reading the pipes (their bytes wait there). */
  disk_full_since?: string;
}

export function writeRouterStatus(layout: Layout, status: RouterStatus): void {
  writeReport(layout.routerStatusFile, `${JSON.stringify(status)}\n`);
}

/** The router's status file if its process is alive, else undefined. */
export function readLiveRouterStatus(layout: Layout): RouterStatus | undefined {
  const status = readStateFile<RouterStatus | undefined>(layout.routerStatusFile, undefined);
  return status && pidAlive(status.pid) ? status : undefined;
}

export function readLiveKeeperStatus(layout: Layout): KeeperStatus | undefined {
  const status = readStateFile<KeeperStatus | undefined>(layout.keeperStatusFile, undefined);
  return status && pidAlive(status.pid) ? status : undefined;
}
