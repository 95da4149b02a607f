// The real-agent part of `npm run bench` (issue #10, "Benchmark"): each installed agent CLI
// (test/agents: FakeModel, AgentPane, cli-setups, agents-cache) runs offline in a private tmux
// server against the fake model on 127.0.0.1, and three ways of typing into it are measured in
// the same run:
//   - `bmad-bus`: the default — registered with `--command <cli>` and no `--profile` (auto, so the
//     CLI's own profile: 300 ms submit delay, verified, policy when-idle), the router typing;
//   - `readline`: "today's old default", `--profile readline` (40 ms delay, join, immediate);
//   - `send-keys`: `tmux send-keys -t PANE 'TEXT' Enter`, one spawned tmux per message (what most
//     peers do).
// Figures: the time from the send (spawning `bmad-bus send`, or `tmux send-keys`) to the request
// at the fake model that holds the message as its own user turn, with an idle agent (p50, p95);
// messages per minute into an agent whose model takes 3 s a turn (a burst sent at once); and,
// for both, how many messages arrived as exactly their own user turn — a fast method that merges
// or loses messages shows as wrong, not fast. Also the ms per `bmad-bus hook` call (no CLI
// needed). Speed is measured, never asserted. Everything is torn down by pid and by socket.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Envelope } from '../../src/bus/envelope.js';
import { Layout } from '../../src/bus/layout.js';
import { ProfileSet } from '../../src/agents/profiles.js';
import { readReceipts } from '../../src/agents/receipts.js';
import { renderMessage } from '../../src/tmux/render.js';
import type { MultilineMode } from '../../src/tmux/render.js';
import { BIN, cli as runCli, startRouter, type RunningRouter } from '../helpers/bus.js';
import { CLIS, findCli, type CliName } from '../agents/agents-cache.js';
import { FakeModel } from '../agents/fake-model.js';
import { AgentPane } from '../agents/harness.js';
import { findRun } from '../agents/proc-tree.js';

export const METHODS = ['bmad-bus', 'readline', 'send-keys'] as const;
export type Method = (typeof METHODS)[number];

export const METHOD_LABEL: Record<Method, string> = {
  'bmad-bus': 'bmad-bus default (profile auto → CLI profile, when-idle)',
  readline: 'old default (--profile readline: 40 ms, join, immediate)',
  'send-keys': "tmux send-keys -t PANE 'TEXT' Enter",
};

export interface AgentBenchOptions {
  clis: CliName[];
  /** Messages sent one at a time into the idle agent (fast model). */
  latencySamples: number;
  /** Messages sent at once into the agent whose model takes `slowSeconds` a turn. */
  burst: number;
  slowSeconds: number;
  log: (line: string) => void;
}

export interface MethodResult {
  method: Method;
  /** send → user turn at the model, ms, for the messages that arrived as their own turn. */
  latencyMs: number[];
  latencySent: number;
  latencyOwn: number;
  /** Why the idle phase stopped early (two misses in a row: what follows would only pile onto them). */
  latencyNote?: string;
  burstSent: number;
  burstOwn: number;
  /** User turns of the burst that were no message exactly (merged, glued, cut). */
  burstWrongTurns: number;
  /** Messages of the burst that reached the model in no user turn at all. */
  burstLost: number;
  /** The own turns came in the order sent. */
  burstInOrder: boolean;
  /** Model requests that brought the burst's user turns (fewer than own turns: the CLI queued them and sent them together). */
  burstRequests: number;
  /** Own turns per minute: own turns ÷ (first send → the model's answer to the last turn of the burst, own or not). */
  perMinute: number;
  burstSeconds: number;
  /** `delivery_unconfirmed` events bmad-bus journaled (both phases); undefined for send-keys. */
  unconfirmed?: number;
  /** The CLI was started again for the burst (the idle phase left text behind). */
  restarted: boolean;
  error?: string;
}

export interface CliBenchResult {
  cli: CliName;
  version: string;
  skipped?: string;
  methods: MethodResult[];
  seconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A bench stopped half-way (Ctrl-C, a crash) must not leave CLIs, daemons or tmux servers behind:
// the panes still open are ended synchronously on exit, by pid and by socket (never by name).
const openPanes = new Set<AgentPane>();
process.on('exit', () => {
  for (const pane of openPanes) {
    for (const pid of findRun(pane.panePid, pane.marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('tmux', ['-L', pane.socket, 'kill-server'], { timeout: 5000 });
    fs.rmSync(pane.launch.home, { recursive: true, force: true });
  }
});

/** A turn as compared: whitespace runs are one space; Claude Code's `<pasted_content>` tags are the CLI's, not the message's. */
const norm = (t: string): string => t.replace(/<\/?pasted_content[^>]*>/g, '').replace(/\s+/g, ' ').trim();

/** Which of `clis` are installed; the others with the reason. */
export function installedClis(clis: readonly CliName[]): { found: CliName[]; missing: Array<{ cli: CliName; why: string }> } {
  const found: CliName[] = [];
  const missing: Array<{ cli: CliName; why: string }> = [];
  for (const c of clis) {
    const f = findCli(c);
    if (typeof f === 'string') missing.push({ cli: c, why: f });
    else found.push(c);
  }
  return { found, missing };
}

export function parseClis(spec: string | undefined): CliName[] {
  if (!spec) return [...CLIS];
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(CLIS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`unknown agent CLI ${bad.join(', ')} (expected some of ${CLIS.join(', ')})`);
  return names as CliName[];
}

/** One CLI in a pane of its own tmux server, against its own fake model; reused by the next method while it is clean. */
class CliPane {
  pane!: AgentPane;
  model!: FakeModel;
  /** Nothing was left in the input box: the next method may use this pane. */
  clean = true;
  #seq = 0;

  private constructor(readonly cli: CliName) {}

  static async open(cli: CliName): Promise<CliPane> {
    const p = new CliPane(cli);
    try {
      p.model = await new FakeModel().start();
      p.pane = await AgentPane.start(cli, { url: p.model.url, readyTimeoutMs: 120_000 });
      openPanes.add(p.pane);
      // One turn first, typed the harness's known-good way (paste, 300 ms, Enter) and not counted:
      // the figures are about delivery, not a CLI's first turn (Codex's and opencode's take seconds).
      const warm = `warm-up ${crypto.randomBytes(3).toString('hex')}`;
      await p.pane.send(warm);
      await p.model.waitForTurns(1, 60_000);
      if (!p.model.userTurns.map(norm).includes(warm)) throw new Error(`${cli}: the warm-up turn did not arrive (turns: ${JSON.stringify(p.model.userTurns)})`);
      await p.settle();
      return p;
    } catch (error) {
      await p.close();
      throw error;
    }
  }

  nextAgent(): string {
    return `${this.cli}-${++this.#seq}`;
  }

  /** The agent is idle: its answer is in and the screen has stopped changing. */
  async settle(): Promise<void> {
    await sleep(600);
    await this.pane.waitStable(400, 5000);
  }

  async close(): Promise<void> {
    if (this.pane) {
      await this.pane.close();
      openPanes.delete(this.pane);
      const left = findRun(undefined, this.pane.marker);
      if (left.length) throw new Error(`${this.cli}: processes left behind: ${left.join(', ')}`);
    }
    await this.model?.close();
  }
}

/** One way of typing into a CliPane; for the bmad-bus methods its own bus root, agent and router. */
class Binding {
  router: RunningRouter | undefined;
  readonly agent: string;
  readonly tmp: string;
  readonly root: string;
  readonly multiline: MultilineMode;

  private constructor(
    readonly p: CliPane,
    readonly method: Method,
  ) {
    this.agent = p.nextAgent();
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bmad-bench-agents-${p.cli}-`));
    this.root = path.join(this.tmp, 'bus');
    const profiles = new ProfileSet();
    this.multiline = (method === 'readline' ? profiles.get('readline') : profiles.resolve(undefined, p.cli))!.multiline;
  }

  static async open(p: CliPane, method: Method): Promise<Binding> {
    const b = new Binding(p, method);
    try {
      if (method !== 'send-keys') {
        const base = ['--dir', b.root, '--tmux-socket', p.pane.socket];
        const init = await runCli(['init', ...base]);
        if (init.code !== 0) throw new Error(`bmad-bus init: ${init.stderr}`);
        // Default settings: no --profile (auto), the command says which CLI it is, as a topology's `command:` does.
        const add = await runCli(['agents', 'add', b.agent, '--tmux', 'agent:0.0', '--deliver', 'tmux', '--command', p.cli, ...(method === 'readline' ? ['--profile', 'readline'] : []), ...base]);
        if (add.code !== 0) throw new Error(`bmad-bus agents add: ${add.stderr}`);
        b.router = await startRouter(b.root, ['--tmux-socket', p.pane.socket]);
      }
      return b;
    } catch (error) {
      await b.close();
      throw error;
    }
  }

  /** Sends one message; when it started (Date.now(), the fake model's clock) and the user turn it should become. */
  async send(text: string): Promise<{ t0: number; expected: string }> {
    const t0 = Date.now();
    if (this.method === 'send-keys') {
      const r = spawnSync('tmux', ['-L', this.p.pane.socket, 'send-keys', '-t', 'agent:0.0', text, 'Enter'], { encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) throw new Error(`tmux send-keys: ${r.stderr}`);
      return { t0, expected: norm(text) };
    }
    const r = await runCli(['send', this.agent, text, '--from', 'lead', '--json', '--dir', this.root]);
    if (r.code !== 0) throw new Error(`bmad-bus send: ${r.stderr}`);
    const envelope = JSON.parse(r.stdout) as Envelope;
    return { t0, expected: norm(renderMessage(envelope, undefined, this.multiline)) };
  }

  /** The `delivery_unconfirmed` events journaled so far. */
  async unconfirmed(): Promise<number | undefined> {
    if (this.method === 'send-keys') return undefined;
    const r = await runCli(['tail', '--no-follow', '--json', '--type', 'event', '--dir', this.root]);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Envelope).filter((e) => (e.body as { event?: string })?.event === 'delivery_unconfirmed').length;
  }

  /** Stops the router (nothing more is typed by this method) and removes the bus root. */
  async close(): Promise<void> {
    await this.router?.stop().catch(() => undefined);
    this.router = undefined;
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** When the message arrived at the model as its own turn, or as part of another (wrong), or not at all in `timeoutMs`. */
async function waitArrival(model: FakeModel, expected: string, token: string, timeoutMs: number): Promise<{ own?: number; wrong?: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const r of model.requests) {
      if (r.side) continue;
      for (const t of r.fresh) {
        const n = norm(t);
        if (n === expected) return { own: r.at };
        if (n.includes(token)) return { wrong: r.at };
      }
    }
    if (Date.now() > deadline) return {};
    await sleep(20);
  }
}

const MISS_MS = 10_000;

/** Messages one at a time into the idle agent (fast model); false when one of them did not arrive as its own turn. */
async function idlePhase(b: Binding, opts: AgentBenchOptions, r: MethodResult): Promise<boolean> {
  b.p.model.mode = { kind: 'fast' };
  let misses = 0;
  let clean = true;
  for (let i = 0; i < opts.latencySamples; i++) {
    const token = `idle-${crypto.randomBytes(3).toString('hex')}`;
    const { t0, expected } = await b.send(`${b.p.cli} latency probe ${i + 1} ${token}`);
    r.latencySent++;
    const got = await waitArrival(b.p.model, expected, token, MISS_MS);
    if (got.own !== undefined) {
      r.latencyMs.push(got.own - t0);
      r.latencyOwn++;
      misses = 0;
    } else {
      clean = false;
      if (++misses >= 2 && i < opts.latencySamples - 1) {
        r.latencyNote = `stopped after 2 misses in a row: ${got.wrong !== undefined ? 'merged into another turn' : `no turn in ${MISS_MS / 1000} s`}`;
        break;
      }
    }
    await b.p.settle();
  }
  return clean;
}

/** A burst of messages sent at once into the agent whose model takes `slowSeconds` a turn. */
async function burstPhase(b: Binding, opts: AgentBenchOptions, r: MethodResult): Promise<void> {
  const model = b.p.model;
  model.mode = { kind: 'slow', seconds: opts.slowSeconds };
  const before = model.userTurns.length;
  const tag = `burst-${crypto.randomBytes(3).toString('hex')}`;
  const t0 = Date.now();
  const expected: string[] = [];
  for (let i = 0; i < opts.burst; i++) expected.push((await b.send(`${b.p.cli} ${tag} message ${i + 1} of ${opts.burst}`)).expected);
  r.burstSent = opts.burst;
  // Until every message is its own turn, or nothing new came for a turn and 5 s, or the deadline.
  const slowMs = opts.slowSeconds * 1000;
  const deadline = t0 + opts.burst * (slowMs + 6000) + 30_000;
  const mainRequests = () => model.requests.filter((q) => !q.side && q.at >= t0);
  let seen = mainRequests().length;
  let lastNew = Date.now();
  const ownArrivals = (): number[] => {
    const at: number[] = [];
    for (const e of expected) {
      const q = mainRequests().find((x) => x.fresh.some((t) => norm(t) === e));
      if (q) at.push(q.at);
    }
    return at;
  };
  while (Date.now() < deadline) {
    if (ownArrivals().length === expected.length) break;
    const n = mainRequests().length;
    if (n !== seen) {
      seen = n;
      lastNew = Date.now();
    }
    if (Date.now() - lastNew > slowMs + 5000) break;
    await sleep(50);
  }
  const at = ownArrivals();
  r.burstOwn = at.length;
  const turns = model.userTurns.slice(before).map(norm);
  r.burstWrongTurns = turns.filter((t) => !expected.includes(t)).length;
  // Never reached the model, not even inside another turn (left in the input box, or dropped).
  r.burstLost = expected.filter((_, i) => !turns.some((t) => t.includes(`${tag} message ${i + 1} of`))).length;
  // The own turns in the order the model got them.
  const order = turns.map((t) => expected.indexOf(t)).filter((i) => i >= 0);
  r.burstInOrder = order.every((x, i) => i === 0 || x > order[i - 1]!);
  // The requests that brought new user turns: 5 own turns in 1 request were queued by the CLI and answered as one.
  const carrying = mainRequests().filter((q) => q.fresh.length > 0);
  r.burstRequests = carrying.length;
  // The burst is over when the model has answered the last turn it caused (own or not): a method
  // that merges messages is not credited with the time its merged turns took.
  const end = carrying.length ? Math.max(...carrying.map((q) => q.at)) + slowMs : Date.now();
  r.burstSeconds = (end - t0) / 1000;
  r.perMinute = (at.length / (end - t0)) * 60_000;
  // Let the last answer finish before anything else is typed.
  await sleep(Math.max(0, end - Date.now()));
  model.mode = { kind: 'fast' };
  await b.p.settle();
}

interface Slot {
  p?: CliPane;
}

/** A clean pane for the next phase: the one in `slot` if nothing was left in its input box, else a fresh start. */
async function cleanPane(slot: Slot, cli: CliName): Promise<{ p: CliPane; fresh: boolean }> {
  if (slot.p?.clean) return { p: slot.p, fresh: false };
  await slot.p?.close();
  slot.p = undefined;
  slot.p = await CliPane.open(cli);
  return { p: slot.p, fresh: true };
}

async function benchMethod(slot: Slot, cli: CliName, method: Method, opts: AgentBenchOptions): Promise<MethodResult> {
  const r: MethodResult = { method, latencyMs: [], latencySent: 0, latencyOwn: 0, burstSent: 0, burstOwn: 0, burstWrongTurns: 0, burstLost: 0, burstInOrder: true, burstRequests: 0, perMinute: 0, burstSeconds: 0, restarted: false };
  let b: Binding | undefined;
  let unconfirmed = 0;
  try {
    b = await Binding.open((await cleanPane(slot, cli)).p, method);
    if (!(await idlePhase(b, opts, r))) {
      // What the idle phase left in the input box would be pasted in front of the burst: start afresh.
      slot.p!.clean = false;
      unconfirmed += (await b.unconfirmed()) ?? 0;
      await b.close();
      b = undefined;
      r.restarted = true;
      b = await Binding.open((await cleanPane(slot, cli)).p, method);
    }
    await burstPhase(b, opts, r);
    if (r.burstOwn !== r.burstSent || r.burstWrongTurns > 0) slot.p!.clean = false;
    const u = await b.unconfirmed();
    if (u !== undefined) r.unconfirmed = unconfirmed + u;
  } catch (error) {
    r.error = (error as Error).message.split('\n')[0];
    if (slot.p) slot.p.clean = false;
    opts.log(`agents: ${cli} ${method} failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await b?.close();
  }
  return r;
}

/** Runs the three methods for each installed CLI of `opts.clis`, one CLI and one method at a time. */
export async function benchAgentDelivery(opts: AgentBenchOptions): Promise<CliBenchResult[]> {
  const results: CliBenchResult[] = [];
  for (const cli of opts.clis) {
    const found = findCli(cli);
    if (typeof found === 'string') {
      results.push({ cli, version: '-', skipped: found, methods: [], seconds: 0 });
      continue;
    }
    const started = Date.now();
    const methods: MethodResult[] = [];
    const slot: Slot = {};
    try {
      for (const method of METHODS) {
        const r = await benchMethod(slot, cli, method, opts);
        const p = percentiles(r.latencyMs);
        opts.log(`agents: ${cli} ${method}: send→turn p50 ${fmt(p.p50)} p95 ${fmt(p.p95)} ms (${r.latencyOwn}/${r.latencySent} own turns), burst ${r.burstOwn}/${r.burstSent} own turns${r.burstInOrder ? '' : ' OUT OF ORDER'} in ${r.burstRequests} requests, ${r.burstWrongTurns} other turns, ${r.burstLost} never arrived, ${r.perMinute.toFixed(1)}/min${r.unconfirmed !== undefined ? `, ${r.unconfirmed} unconfirmed` : ''}${r.error ? `, ERROR ${r.error}` : ''}`);
        methods.push(r);
      }
    } finally {
      try {
        await slot.p?.close();
      } catch (error) {
        opts.log(`agents: ${cli}: ${(error as Error).message}`);
        methods.at(-1)!.error = [methods.at(-1)!.error, (error as Error).message].filter(Boolean).join('; ');
      }
    }
    results.push({ cli, version: found.version, methods, seconds: (Date.now() - started) / 1000 });
  }
  return results;
}

// ---- bmad-bus hook ----------------------------------------------------------------

export interface HookVariant {
  name: string;
  ms: number[];
  /** Runs that exited 0 and printed nothing. */
  clean: number;
  note?: string;
}

/**
 * ms per `bmad-bus hook UserPromptSubmit` (JSON on stdin): with a bus root and its router running,
 * with a bus root and no router, with no bus at all, against `node -e 0`. Each run must exit 0 and
 * print nothing; with a bus the receipts are counted. And the `Stop` hook of an agent under
 * `deliver: hooks` with a message to hand over (its block printed, every run: a plain stop hands
 * the same message over again).
 */
export async function benchHook(runs: number): Promise<HookVariant[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-bench-hook-'));
  const root = path.join(tmp, 'bus');
  const agent = 'hooked-1';
  let router: RunningRouter | undefined;
  try {
    const init = await runCli(['init', '--dir', root]);
    if (init.code !== 0) throw new Error(`bmad-bus init: ${init.stderr}`);
    const add = await runCli(['agents', 'add', agent, '--dir', root]);
    if (add.code !== 0) throw new Error(`bmad-bus agents add: ${add.stderr}`);
    const handing = 'hooked-2';
    const addHooks = await runCli(['agents', 'add', handing, '--deliver', 'hooks', '--dir', root]);
    if (addHooks.code !== 0) throw new Error(`bmad-bus agents add: ${addHooks.stderr}`);
    const pending = await runCli(['send', handing, 'a message for the stop hook to hand over', '--dir', root]);
    if (pending.code !== 0) throw new Error(`bmad-bus send: ${pending.stderr}`);
    const payload = (i: number) => JSON.stringify({ session_id: 'bench', transcript_path: path.join(tmp, 't.jsonl'), cwd: tmp, hook_event_name: 'UserPromptSubmit', prompt: `[lead → ${agent}] hook bench prompt ${i}` });
    const once = (args: string[], env: NodeJS.ProcessEnv, input: string, expect: RegExp = /^$/): Promise<{ ms: number; ok: boolean }> =>
      new Promise((resolve, reject) => {
        const t = performance.now();
        const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ ms: performance.now() - t, ok: code === 0 && expect.test(out) }));
        child.stdin.end(input);
      });
    const hookEnv = (dir: string, name = agent): NodeJS.ProcessEnv => ({ ...process.env, BMAD_BUS_DIR: dir, BMAD_AGENT: name, NO_COLOR: '1' });
    const stop = () => JSON.stringify({ session_id: 'bench', cwd: tmp, hook_event_name: 'Stop', stop_hook_active: false });
    const variants: Array<{ name: string; args: string[]; env: NodeJS.ProcessEnv; input: (i: number) => string; expect?: RegExp }> = [
      { name: '`node -e 0` (baseline)', args: ['-e', '0'], env: process.env, input: () => '' },
      { name: '`UserPromptSubmit`, bus root, router running', args: [BIN, 'hook', 'UserPromptSubmit'], env: hookEnv(root), input: payload },
      { name: '`UserPromptSubmit`, bus root, no router', args: [BIN, 'hook', 'UserPromptSubmit'], env: hookEnv(root), input: payload },
      { name: '`UserPromptSubmit`, no bus (BMAD_BUS_DIR does not exist)', args: [BIN, 'hook', 'UserPromptSubmit'], env: hookEnv(path.join(tmp, 'nowhere')), input: payload },
      { name: '`Stop`, deliver: hooks, a message to hand over, no router', args: [BIN, 'hook', 'Stop'], env: hookEnv(root, handing), input: stop, expect: /^\{"decision":"block","reason":"\[bmad-bus\] 1 new bus message for hooked-2/ },
    ];
    const layout = new Layout(root);
    const results = variants.map((v): HookVariant => ({ name: v.name, ms: [], clean: 0 }));
    // Round-robin, so that the load of a shared machine falls on every variant alike: first with
    // the router running (the baseline and that variant), then without it (the baseline and the rest).
    for (const withRouter of [true, false]) {
      if (withRouter) router = await startRouter(root);
      const picked = variants.map((v, i) => ({ v, res: results[i]! })).filter(({ v }) => v.name === variants[0]!.name || v.name.includes('router running') === withRouter);
      const before = readReceipts(layout, agent).receipts.length;
      for (const { v } of picked) await once(v.args, v.env, v.input(-1), v.expect); // warm the page cache
      const share = withRouter ? Math.ceil(runs / 2) : runs - Math.ceil(runs / 2);
      for (let i = 0; i < runs; i++) {
        for (const { v, res } of picked) {
          if (v === variants[0] && i >= share) continue; // the baseline's runs are split between the two halves
          const r = await once(v.args, v.env, v.input(i), v.expect);
          res.ms.push(r.ms);
          if (r.ok) res.clean++;
        }
      }
      const written = readReceipts(layout, agent).receipts.length - before;
      const withBus = picked.filter(({ v }) => v.name.includes('bus root')).length;
      for (const { v, res } of picked) {
        if (v.name.includes('bus root')) res.note = `${written}/${(runs + 1) * withBus} receipts written`;
        if (v.expect) res.note = 'its block printed each time';
        if (v.name.includes('no bus')) res.note = fs.existsSync(path.join(tmp, 'nowhere')) ? 'it created a bus root (it must not)' : 'no bus root created';
      }
      if (router) {
        await router.stop();
        router = undefined;
      }
    }
    const out = results;
    return out;
  } finally {
    await router?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- figures ------------------------------------------------------------------------

/** Nearest-rank percentiles. */
export function percentiles(xs: number[]): { p50?: number; p95?: number } {
  if (xs.length === 0) return {};
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { p50: rank(50), p95: rank(95) };
}

const fmt = (x: number | undefined): string => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** The per-CLI comparison as a markdown table. */
export function agentTable(results: CliBenchResult[], opts: Pick<AgentBenchOptions, 'slowSeconds'>): string {
  const header = ['cli', 'method', 'send → turn p50', 'p95', 'own turns (idle, one at a time)', `msgs/min (${opts.slowSeconds} s model)`, 'own turns (burst)', 'other turns (burst)', 'never arrived (burst)', 'model requests (burst)', 'unconfirmed events'];
  const rows: string[][] = [];
  for (const c of results) {
    if (c.skipped) {
      rows.push([`${c.cli}`, `skipped: ${c.skipped}`, '', '', '', '', '', '', '', '', '']);
      continue;
    }
    for (const m of c.methods) {
      const p = percentiles(m.latencyMs);
      rows.push([
        `${c.cli} ${c.version}`,
        METHOD_LABEL[m.method],
        m.error && m.latencySent === 0 ? `error: ${m.error}` : p.p50 === undefined ? '–' : `${fmt(p.p50)} ms`,
        p.p95 === undefined ? '–' : `${fmt(p.p95)} ms`,
        `${m.latencyOwn}/${m.latencySent}${m.latencyNote ? ` (${m.latencyNote})` : ''}`,
        !m.burstSent ? '–' : m.burstLost ? `– (${m.burstLost} lost)` : m.perMinute.toFixed(1),
        m.burstSent ? `${m.burstOwn}/${m.burstSent}${m.burstInOrder ? '' : ', out of order'}${m.restarted ? ' (CLI restarted)' : ''}` : '–',
        m.burstSent ? String(m.burstWrongTurns) : '–',
        m.burstSent ? String(m.burstLost) : '–',
        m.burstSent ? String(m.burstRequests) : '–',
        (m.unconfirmed === undefined ? '–' : String(m.unconfirmed)) + (m.error && m.latencySent > 0 ? ` (error: ${m.error})` : ''),
      ]);
    }
  }
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n');
}

export function hookTable(variants: HookVariant[]): string {
  const header = ['`bmad-bus hook` (JSON on stdin)', 'ms p50', 'p95', 'min–max', 'exit 0, output as expected', 'note'];
  const rows = variants.map((v) => {
    const p = percentiles(v.ms);
    return [v.name, fmt(p.p50), fmt(p.p95), `${fmt(Math.min(...v.ms))}–${fmt(Math.max(...v.ms))}`, `${v.clean}/${v.ms.length}`, v.note ?? ''];
  });
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
