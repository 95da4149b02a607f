import fs from 'node:fs';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, credsAuthenticator, nanos, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { BusError, UsageError, unlessFsRace } from '../bus/errors.js';
import { writeReport } from '../bus/fs-safety.js';
import type { Layout } from '../bus/layout.js';
import { acquireProcessLock } from '../journal/writer-lock.js';
import { BridgeArrivals } from './bridge-arrivals.js';
import { BridgeDirectory } from './bridge-directory.js';
import { BridgeInbound, inboundDurable } from './bridge-inbound.js';
import { redact, type BridgeOptions } from './bridge-options.js';
import { BridgeOutbound, machineSubject } from './bridge-outbound.js';
import type { BridgeStatus } from '../bus/bridge-status.js';

/** How long a duplicate publish (a re-publish after a crash or a lost ack) is recognised by JetStream. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
const STATUS_EVERY_MS = 1000;
const REGISTRY_EVERY_MS = 500;
const MAX_BACKOFF_MS = 2000;
/** How long the sides of a session that ended get to notice it before the next session starts. */
const SESSION_GRACE_MS = 3000;

export interface RunBridgeOptions {
  signal: AbortSignal;
  log: (line: string) => void;
}

/**
 * `bmad-bus bridge`: this bus and the others of the team, through NATS
 * JetStream. One per bus root (a lock). Connects, makes sure of the stream
 * (`<stream>`, subjects `<stream>.to.<machine>`) and the agents' KV bucket
 * (`<stream>-agents`), then runs the directory, the outbound and the inbound
 * side until `signal` aborts, each going on after NATS failures on its own:
 * local traffic never waits for NATS. A bad URL, refused credentials, a
 * server without JetStream or a stream that is not ours fail at start,
 * with one clear line.
 */
export async function runBridge(layout: Layout, options: BridgeOptions, run: RunBridgeOptions): Promise<void> {
  // A bridge killed with -9 leaves its lock to go stale (5 s): a restart right after waits that out.
  const lock = await acquireProcessLock(layout.bridgeLockTarget, () => new UsageError(`A bridge already runs for ${layout.root}${holder(layout)}`), { waitMs: 6_000 });
  const status: BridgeStatus = {
    pid: process.pid, machine: options.machine, stream: options.stream, servers: options.servers.map(redact), connected: false,
    lag: 0, lag_more: false, pending_inbound: 0, published: 0, received: 0, rejected: 0, conflicts: {}, started: new Date().toISOString(), updated: '',
  };
  const report = (): void => {
    status.updated = new Date().toISOString();
    try {
      writeReport(layout.bridgeStatusFile, `${JSON.stringify(status)}\n`);
    } catch (error) {
      run.log(`status: ${(error as Error).message}`);
    }
  };
  const failed = (side: string) => (error: unknown): void => {
    if (run.signal.aborted) return;
    const message = `${side}: ${(error as Error)?.message ?? String(error)}`;
    if (status.last_error !== message) run.log(message);
    status.last_error = message;
    status.last_error_at = new Date().toISOString();
  };
  let nc: NatsConnection | undefined;
  try {
    // The first connection's failures are the user's to fix (a URL, credentials, a stream): one line, and out.
    nc = await connectTo(options);
    let session: Session | undefined = await prepare(nc, options);
    const directory = new BridgeDirectory(layout, options.machine, run.log);
    const arrivals = new BridgeArrivals(layout.bridgeArrivalsFile);
    const outbound = new BridgeOutbound(layout, options.stream, options.machine, arrivals);
    const inbound = new BridgeInbound(layout, options.stream, options.machine, (a) => directory.machineOf(a), arrivals, run.log);
    const statusLoop = every(run.signal, STATUS_EVERY_MS, async () => {
      outbound.saveCursor();
      const lag = outbound.lag();
      Object.assign(status, { lag: lag.messages, lag_more: lag.more, published: outbound.published, received: inbound.received, rejected: inbound.rejected, conflicts: Object.fromEntries(directory.conflicts) });
      if (session && status.connected) status.pending_inbound = await inbound.pending(session.jsm).catch(() => status.pending_inbound);
      report();
    });
    while (!run.signal.aborted) {
      if (nc && session) {
        status.connected = true;
        status.server = redact(nc.getServer());
        run.log(`connected to ${status.server} as machine ${options.machine}, stream ${options.stream}`);
        report();
        await runSession(nc, session, { directory, outbound, inbound }, run, failed);
        outbound.saveCursor();
        status.connected = false;
        report();
        if (run.signal.aborted) break;
        run.log(`disconnected from ${status.server ?? 'NATS'}: messages for other machines wait in the journal`);
      }
      // Every new connection is a new session: a closed one takes its unsent publishes with it, so
      // nothing of the last one can land after what the next one publishes again (the order holds).
      nc = await reconnect(options, run.signal, failed('connect'));
      session = nc ? await prepare(nc, options).catch((error: unknown) => {
        failed('connect')(error);
        return undefined;
      }) : undefined;
      if (nc && !session) await nc.close().catch(() => undefined);
    }
    await statusLoop;
    inbound.close();
    arrivals.close();
  } finally {
    status.connected = false;
    status.stopped = new Date().toISOString();
    report();
    await nc?.close().catch(() => undefined);
    await lock.release();
  }
}

/** What one connection's session works with. */
interface Session {
  jsm: JetStreamManager;
  js: JetStreamClient;
  kv: KV;
}

/** The stream, the agents' bucket and this machine's consumer, made sure of on a fresh connection. */
async function prepare(nc: NatsConnection, options: BridgeOptions): Promise<Session> {
  const jsm = await jetStreamOf(nc);
  const replicas = Math.min(3, 1 + (nc.info?.connect_urls?.length ?? 0));
  await ensureStream(jsm, options.stream, replicas);
  const kv = await agentsBucket(nc, options.stream, replicas);
  await ensureConsumer(jsm, options.stream, options.machine);
  return { jsm, js: jetstream(nc), kv };
}

/**
 * The directory, outbound and inbound sides on one connection, until it
 * closes or `run.signal` aborts. A failed publish ends the session (and
 * closes the connection): see the loop in runBridge.
 */
async function runSession(nc: NatsConnection, session: Session, sides: { directory: BridgeDirectory; outbound: BridgeOutbound; inbound: BridgeInbound }, run: RunBridgeOptions, failed: (side: string) => (error: unknown) => void): Promise<void> {
  const controller = new AbortController();
  // Closing the connection at once ends whatever still waits on it (a consumer, a watch); its unsent publishes go with it.
  const end = (): void => {
    controller.abort();
    void nc.close().catch(() => undefined);
  };
  run.signal.addEventListener('abort', end, { once: true });
  void nc.closed().then(end);
  const { directory, outbound, inbound } = sides;
  try {
    await directory.publish(session.kv).catch(failed('directory'));
    const sides = Promise.all([
      keepRunning(controller.signal, (signal) => directory.watch(session.kv, signal), failed('directory')),
      outbound.pass(session.js, controller.signal).catch(failed('outbound')).finally(end),
      keepRunning(controller.signal, (signal) => inbound.pass(session.js, signal), failed('inbound')),
      every(controller.signal, REGISTRY_EVERY_MS, registryChanges(session, directory, failed('directory'))),
    ]);
    // Once the session ended, a side that does not notice its closed connection is not waited for long.
    await Promise.race([sides, ended(controller.signal).then(() => pause(run.signal, SESSION_GRACE_MS))]);
  } finally {
    run.signal.removeEventListener('abort', end);
    end();
  }
}

function ended(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** Connects again, with a growing pause, until it works (the connection) or `signal` aborts (undefined). */
async function reconnect(options: BridgeOptions, signal: AbortSignal, failed: (error: unknown) => void): Promise<NatsConnection | undefined> {
  let backoff = 100;
  while (!signal.aborted) {
    try {
      return await connectTo(options);
    } catch (error) {
      failed(error);
    }
    await pause(signal, backoff);
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
  return undefined;
}

/** Connects, or fails with one line that names the server but no credential. */
async function connectTo(options: BridgeOptions): Promise<NatsConnection> {
  const connection: ConnectionOptions = {
    servers: options.servers,
    name: `bmad-bus bridge ${options.machine}`,
    // The bridge reconnects itself, with a new session (runBridge); a dead link shows within seconds.
    reconnect: false,
    pingInterval: 2000,
    maxPingOut: 2,
    timeout: 5000,
    // Without it nats-core builds errors with stack traces for every publish, success or not (a tenth of the bridge's CPU).
    noAsyncTraces: true,
  };
  if (options.auth.kind === 'token') connection.token = options.auth.token;
  if (options.auth.kind === 'user') Object.assign(connection, { user: options.auth.user, pass: options.auth.password });
  if (options.auth.kind === 'creds') connection.authenticator = credsAuthenticator(fs.readFileSync(options.auth.file));
  if (options.tlsCa) connection.tls = { caFile: options.tlsCa };
  const where = options.servers.map(redact).join(', ');
  try {
    return await connect(connection);
  } catch (error) {
    const text = String((error as Error)?.message ?? error);
    if (/authorization|authentication|permissions/i.test(text)) throw new BusError(`NATS at ${where} refused the credentials (${options.auth.kind === 'none' ? 'none given' : options.auth.kind})`);
    throw new BusError(`Cannot reach NATS at ${where}: ${text.replace(/\/\/[^@/\s]*@/g, '//***@')}`);
  }
}

async function jetStreamOf(nc: NatsConnection): Promise<JetStreamManager> {
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.getAccountInfo();
    return jsm;
  } catch (error) {
    throw new BusError(`The NATS server has no JetStream for this account (start nats-server with -js): ${(error as Error).message}`);
  }
}

/** The stream: made when missing; one of another purpose (its subjects do not hold ours) is refused, never changed. */
async function ensureStream(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  const subject = `${stream}.to.>`;
  let info;
  try {
    info = await jsm.streams.info(stream);
  } catch (error) {
    if (!/not found/i.test(String((error as Error).message))) throw error;
  }
  if (info) {
    if (!info.config.subjects?.includes(subject)) {
      throw new UsageError(`Stream ${stream} exists and is not a bmad-bus stream (its subjects are ${(info.config.subjects ?? []).join(', ') || 'none'}, not ${subject}): choose another --stream`);
    }
    return;
  }
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, num_replicas: replicas, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
}

/** The agents' bucket: made when missing, opened as it is when there (`Kvm.open` alone does not check that it exists). */
function agentsBucket(nc: NatsConnection, stream: string, replicas: number): Promise<KV> {
  return new Kvm(nc).create(`${stream}-agents`, { history: 1, replicas });
}

/** Runs `work` again and again until `signal` aborts, after a pause that grows while it keeps failing. */
async function keepRunning(signal: AbortSignal, work: (signal: AbortSignal) => Promise<void>, failed: (error: unknown) => void): Promise<void> {
  let backoff = 100;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      await work(signal);
    } catch (error) {
      failed(error);
    }
    if (signal.aborted) break;
    backoff = Date.now() - started > 5000 ? 100 : Math.min(MAX_BACKOFF_MS, backoff * 2);
    await pause(signal, backoff);
  }
}

async function every(signal: AbortSignal, ms: number, work: () => Promise<void> | void): Promise<void> {
  while (!signal.aborted) {
    await work();
    await pause(signal, ms);
  }
}

/** Publishes our agents again when the registry changed. */
function registryChanges(session: Session, directory: BridgeDirectory, failed: (error: unknown) => void): () => Promise<void> {
  let seen = directory.registryMtime();
  return async () => {
    const mtime = directory.registryMtime();
    if (mtime === seen) return;
    seen = mtime;
    await directory.publish(session.kv).catch(failed);
  };
}

/** This machine's durable consumer of its subject (made, or kept as it is). */
async function ensureConsumer(jsm: JetStreamManager, stream: string, machine: string): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: inboundDurable(machine),
    filter_subject: machineSubject(stream, machine),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(10_000),
    max_ack_pending: 1024,
  });
}

function pause(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function holder(layout: Layout): string {
  const text = unlessFsRace(() => fs.readFileSync(layout.bridgeStatusFile, 'utf8'), undefined, ['ENOENT']);
  try {
    const pid = text ? (JSON.parse(text) as { pid?: number }).pid : undefined;
    return pid ? ` (pid ${pid})` : '';
  } catch {
    return '';
  }
}

export { machineSubject };
