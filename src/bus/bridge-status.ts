import fs from 'node:fs';
import { unlessFsRace } from './errors.js';
import { parseJsonOrUndefined } from './json-scan.js';
import { pidAlive } from './pid-alive.js';
import type { Layout } from './layout.js';

/** What the bridge reports about itself (state/bridge-status.json, rewritten every second), for `status`. */
export interface BridgeStatus {
  pid: number;
  machine: string;
  stream: string;
  /** The servers it was given, credentials hidden. */
  servers: string[];
  /** The server it is connected to now. */
  server?: string;
  connected: boolean;
  /** Messages in the local journal bound for other machines and not yet acked by JetStream (`lag_more`: counted up to 100,000). */
  lag: number;
  lag_more: boolean;
  /** Messages for this machine waiting in the stream (not yet journaled here). */
  pending_inbound: number;
  published: number;
  received: number;
  /** Messages from NATS dead-lettered here (invalid, or a forged `from`). */
  rejected: number;
  /** Our agent names another machine claims too: name → that machine. */
  conflicts: Record<string, string>;
  last_error?: string;
  last_error_at?: string;
  started: string;
  stopped?: string;
  updated: string;
}

/** The bridge's status when one runs for this root (its pid alive), else undefined. */
export function readBridgeStatus(layout: Layout): (BridgeStatus & { running: boolean }) | undefined {
  const text = unlessFsRace(() => fs.readFileSync(layout.bridgeStatusFile, 'utf8'), undefined, ['ENOENT']);
  const status = text === undefined ? undefined : parseJsonOrUndefined<BridgeStatus>(text);
  if (!status) return undefined;
  return { ...status, running: status.stopped === undefined && pidAlive(status.pid) };
}
