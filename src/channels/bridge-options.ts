import fs from 'node:fs';
import os from 'node:os';
import { UsageError } from '../bus/errors.js';
import { NAME_PATTERN } from '../bus/names.js';

/** How the bridge reaches NATS, and which machine this bus is. */
export interface BridgeOptions {
  /** One or more server URLs (`nats://host:4222`, comma-separated on the command line); `BMAD_NATS_URL`. */
  servers: string[];
  /** This machine's name in the team (default: the host name); `BMAD_NATS_NAME`. */
  machine: string;
  /** The JetStream stream, also the prefix of its subjects and of the KV bucket (default `bmad`); `BMAD_NATS_STREAM`. */
  stream: string;
  auth: { kind: 'none' } | { kind: 'creds'; file: string } | { kind: 'token'; token: string } | { kind: 'user'; user: string; password: string };
  /** A CA file for TLS; `BMAD_NATS_TLS_CA`. */
  tlsCa?: string;
}

export type BridgeOptionsInput = Partial<{ nats: string; name: string; stream: string; creds: string; token: string; user: string; password: string; tlsCa: string }>;

/** Stream, machine and bucket names go into subjects and KV keys: letters, digits, `-` and `_` only. */
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The bridge's options, normalised once, with the environment overrides read
 * in the same place (`BMAD_NATS_URL`, `BMAD_NATS_NAME`, `BMAD_NATS_STREAM`,
 * `BMAD_NATS_CREDS`, `BMAD_NATS_TOKEN`, `BMAD_NATS_USER`, `BMAD_NATS_PASSWORD`,
 * `BMAD_NATS_TLS_CA`). A flag wins over its variable. Credentials are checked
 * here and never appear in an error.
 */
export function normalizeBridgeOptions(input: BridgeOptionsInput = {}, env: NodeJS.ProcessEnv = process.env): BridgeOptions {
  const url = input.nats ?? env.BMAD_NATS_URL;
  if (!url) throw new UsageError('The bridge needs a NATS server: --nats URL (or BMAD_NATS_URL)');
  const servers = url.split(',').map((s) => s.trim()).filter(Boolean);
  for (const server of servers) {
    if (!/^(nats|tls|wss?):\/\/[^/\s]+$/.test(server) && !/^[^/\s:]+(:\d+)?$/.test(server)) throw new UsageError(`Expected a NATS server URL like nats://host:4222, got \`${redact(server)}\``);
  }
  const machine = input.name ?? env.BMAD_NATS_NAME ?? os.hostname().split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '-');
  if (!TOKEN.test(machine)) throw new UsageError(`Expected a machine name of letters, digits, - and _ (--name), got \`${machine}\``);
  const stream = input.stream ?? env.BMAD_NATS_STREAM ?? 'bmad';
  if (!TOKEN.test(stream)) throw new UsageError(`Expected a stream name of letters, digits, - and _ (--stream), got \`${stream}\``);
  const creds = input.creds ?? env.BMAD_NATS_CREDS;
  const token = input.token ?? env.BMAD_NATS_TOKEN;
  const user = input.user ?? env.BMAD_NATS_USER;
  const password = input.password ?? env.BMAD_NATS_PASSWORD;
  const given = [creds !== undefined, token !== undefined, user !== undefined || password !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('Give one way to authenticate: --creds FILE, --token T, or --user U --password P');
  let auth: BridgeOptions['auth'] = { kind: 'none' };
  if (creds !== undefined) {
    if (!fs.existsSync(creds)) throw new UsageError(`No credentials file ${creds} (--creds)`);
    auth = { kind: 'creds', file: creds };
  } else if (token !== undefined) auth = { kind: 'token', token };
  else if (user !== undefined || password !== undefined) {
    if (user === undefined || password === undefined) throw new UsageError('--user and --password go together');
    auth = { kind: 'user', user, password };
  }
  const tlsCa = input.tlsCa ?? env.BMAD_NATS_TLS_CA;
  if (tlsCa !== undefined && !fs.existsSync(tlsCa)) throw new UsageError(`No CA file ${tlsCa} (--tls-ca)`);
  if (NAME_PATTERN.test(machine.toLowerCase()) === false) throw new UsageError(`Expected a machine name like build-box, got \`${machine}\``);
  return { servers, machine, stream, auth, ...(tlsCa ? { tlsCa } : {}) };
}

/** A server URL as it may be shown: a `user:password@` or token in it is hidden. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
