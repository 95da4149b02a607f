import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NetLab } from './netns.js';

/**
 * Real nats-server processes for tests (v2.9 from Debian: every option used
 * here exists as a command-line flag, so no config file is written).
 * Each server gets its own JetStream store dir, is stopped by pid, and is
 * SIGKILLed on exit should a test forget to stop it.
 */

let skipReason: string | false | undefined;

/** False when `nats-server` is on PATH, else why the test is skipped. */
export function natsSkipReason(): string | false {
  if (skipReason === undefined) {
    const result = spawnSync('nats-server', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    skipReason = result.status === 0 ? false : 'nats-server is not on PATH (apt-get install nats-server)';
  }
  return skipReason;
}

export interface NatsOptions {
  user?: string;
  password?: string;
  token?: string;
  /** Run inside this lab namespace, listening on its address (unreachable from the root namespace). */
  netns?: { lab: NetLab; name: string } | undefined;
  host?: string;
  port?: number;
  /** Kept on stop when given; a fresh temp dir (removed on stop) otherwise. */
  storeDir?: string;
  cluster?: { name: string; port: number; routes: string[] };
  serverName?: string;
}

export interface NatsServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The nats-server process itself (changes on restart). */
  readonly pid: number;
  readonly storeDir: string;
  /** What the server logged so far (it logs to stderr). */
  stderr(): string;
  /** SIGTERM, SIGKILL after 5 s; removes the store dir unless it was given. */
  stop(): Promise<void>;
  /** SIGKILL, for crash tests; keeps the store dir for restart(). */
  kill9(): Promise<void>;
  /** Starts again with the same options, port and store dir. */
  restart(): Promise<void>;
}

/** Servers still running, and temp dirs still to remove, for the exit safety net. */
const running = new Set<number>();
const ownedDirs = new Set<string>();
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of ownedDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * `n` distinct free TCP ports on 127.0.0.1: the OS picks them (port 0), and
 * every listener stays open until all are picked so no port comes twice.
 * Racy by nature (someone may take the port before nats-server binds it), rare enough for tests.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** One TCP connect attempt; from inside the lab namespace when `netns` is set (the root namespace has no route there). */
function canConnect(host: string, port: number, netns: NatsOptions['netns']): Promise<boolean> {
  if (!netns) {
    return new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: 1000 });
      const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
      socket.once('connect', () => done(true)).once('error', () => done(false)).once('timeout', () => done(false));
    });
  }
  const probe = `const s=require('net').connect(${port},${JSON.stringify(host)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)`;
  return new Promise((resolve) => {
    netns.lab.exec(netns.name, [process.execPath, '-e', probe], { stdio: 'ignore' }).on('exit', (code) => resolve(code === 0)).on('error', () => resolve(false));
  });
}

function argsFor(o: NatsOptions, host: string, port: number, storeDir: string): string[] {
  const args = ['-js', '-sd', storeDir, '-a', host, '-p', String(port)];
  if (o.serverName) args.push('--server_name', o.serverName);
  if (o.user !== undefined) args.push('--user', o.user);
  if (o.password !== undefined) args.push('--pass', o.password);
  if (o.token !== undefined) args.push('--auth', o.token);
  if (o.cluster) {
    args.push('--cluster_name', o.cluster.name, '--cluster', `nats://${host}:${o.cluster.port}`);
    if (o.cluster.routes.length) args.push('--routes', o.cluster.routes.join(','));
  }
  return args;
}

/** Starts `nats-server -js` and resolves once its client port accepts connections. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  if (options.netns && options.host) throw new Error('startNats: give netns or host, not both');
  const host = options.netns ? options.netns.lab.address(options.netns.name) : (options.host ?? '127.0.0.1');
  const port = options.port ?? (await freePorts(1))[0]!;
  const ownDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-nats-'));
  if (ownDir) ownedDirs.add(storeDir);
  const args = argsFor(options, host, port, storeDir);

  let child: ChildProcess | undefined;
  let log = '';
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    log = '';
    const c = options.netns
      ? options.netns.lab.exec(options.netns.name, ['nats-server', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-64_000)));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    const spawned = await new Promise<Error | undefined>((resolve) => c.once('spawn', () => resolve(undefined)).once('error', resolve));
    if (spawned) throw new Error(`cannot start nats-server: ${spawned.message}`);
    running.add(c.pid!);
    void exited.then(() => running.delete(c.pid!));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(host, port, options.netns))) {
      if (c.exitCode !== null || c.signalCode !== null || Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`nats-server on ${host}:${port} not accepting connections within 10s (exit ${c.exitCode ?? c.signalCode})\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // stop() and kill9() signal this pid: make sure it is nats-server, not a wrapper (ip netns exec execs).
    const comm = fs.readFileSync(`/proc/${c.pid}/comm`, 'utf8').trim();
    if (comm !== 'nats-server') throw new Error(`pid ${c.pid} is ${comm}, not nats-server`);
  };

  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill9 = async () => {
    if (alive()) child!.kill('SIGKILL');
    await exited;
  };

  try {
    await launch();
  } catch (error) {
    await kill9();
    if (ownDir) fs.rmSync(storeDir, { recursive: true, force: true });
    ownedDirs.delete(storeDir);
    throw error;
  }

  return {
    url: `nats://${host}:${port}`,
    host,
    port,
    get pid() {
      return child!.pid!;
    },
    storeDir,
    stderr: () => log,
    kill9,
    async stop() {
      if (alive()) {
        child!.kill('SIGTERM');
        // JetStream flushes its store on SIGTERM; give it a moment, then insist.
        const timer = setTimeout(() => child!.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDir) {
        fs.rmSync(storeDir, { recursive: true, force: true });
        ownedDirs.delete(storeDir);
      }
    },
    async restart() {
      if (alive()) throw new Error('restart: nats-server is still running; stop() or kill9() it first');
      await launch();
    },
  };
}

/** A JetStream cluster of `size` nodes (n1..nN) on 127.0.0.1, resolved once it has a meta leader. */
export async function startNatsCluster(size = 3): Promise<{ servers: NatsServer[]; urls: string[]; stop(): Promise<void> }> {
  const ports = await freePorts(size * 2);
  const clientPorts = ports.slice(0, size);
  const clusterPorts = ports.slice(size);
  const name = `bmad-${process.pid}`;
  const started = await Promise.allSettled(
    clientPorts.map((port, i) =>
      startNats({
        port,
        serverName: `n${i + 1}`,
        cluster: { name, port: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`) },
      }),
    ),
  );
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const urls = servers.map((s) => s.url);
  // The client ports open before the nodes agree on a meta leader; until then JetStream API calls fail.
  // A meta leader alone is not enough: until it has heard from every peer, creating an R<size>
  // stream fails ("insufficient resources"), so ready also means such a stream can be placed.
  const deadline = Date.now() + 30_000;
  let last: unknown;
  for (;;) {
    try {
      const nc = await connect({ servers: urls, timeout: 2000, reconnect: false });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        const probe = `BMAD_READY_${process.pid}`;
        await jsm.streams.add({ name: probe, subjects: [`_bmad.ready.${process.pid}`], storage: StorageType.Memory, num_replicas: size });
        await jsm.streams.delete(probe);
        return { servers, urls, stop };
      } finally {
        await nc.close();
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const logs = servers.map((s) => `--- ${s.url}\n${s.stderr().slice(-4000)}`).join('\n');
      await stop();
      throw new Error(`JetStream cluster has no meta leader after 30s: ${String(last)}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
