// One real agent CLI in a pane of a private tmux server, for tests: start it, wait until its input
// box is on screen, type into it the way bmad-bus does (bracketed paste, then the submit key after
// a delay), read the screen, and tear down the tmux server and every process of the run.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCli, type CliName, type InstalledCli } from './agents-cache.js';
import { SETUPS, type Launch } from './cli-setups.js';
import { PROFILES } from './cli-profiles.js';
import { killRun } from './proc-tree.js';

const MARKER_VAR = 'BMAD_AGENT_RUN';

export interface StartOptions {
  /** Base URL of the fake model. */
  url: string;
  /** How long to wait for the input box (first starts of Node CLIs can take a while). */
  readyTimeoutMs?: number;
  /** Added to the CLI's environment (e.g. CLAUDE_CODE_MAX_RETRIES for the network-error tests). */
  env?: Record<string, string>;
}

export class AgentPane {
  readonly cli: InstalledCli;
  readonly launch: Launch;
  readonly socket: string;
  readonly marker: string;
  readonly #bufferName: string;
  #panePid: number | undefined;
  #closing: Promise<number[]> | undefined;

  private constructor(cli: InstalledCli, launch: Launch) {
    const id = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    this.cli = cli;
    this.launch = launch;
    this.socket = `bmad-agents-${id}`;
    this.marker = `${MARKER_VAR}=${id}`;
    this.#bufferName = `bmad-agents-${id}`;
  }

  /** Starts `name` and waits until it is ready; throws (after cleaning up) when it is not installed or never gets ready. */
  static async start(name: CliName, opts: StartOptions): Promise<AgentPane> {
    const cli = findCli(name);
    if (typeof cli === 'string') throw new Error(cli);
    const launch = SETUPS[name](cli, { url: opts.url });
    const pane = new AgentPane(cli, { ...launch, env: { ...launch.env, ...opts.env } });
    try {
      pane.#spawn();
      await pane.waitFor((s) => PROFILES[name].ready(s), opts.readyTimeoutMs ?? 60_000, 'its input box');
      // The box is drawn a moment before the CLI is done starting (banners, MCP, model lists).
      await pane.waitStable(500, 5000);
      return pane;
    } catch (err) {
      await pane.close();
      throw err;
    }
  }

  get profile() {
    return PROFILES[this.cli.name];
  }

  /** The pid of the process the pane runs (the CLI itself: `env -i` execs it). */
  get panePid(): number | undefined {
    return this.#panePid;
  }

  #spawn(): void {
    const { argv, env, cwd } = this.launch;
    const envArgs = Object.entries({ ...env, [MARKER_VAR]: this.marker.slice(MARKER_VAR.length + 1) }).map(([k, v]) => `${k}=${v}`);
    // Several words after `--` make tmux exec them directly, no shell in between.
    // Options first, in the same invocation, so they hold for the pane from its start;
    // remain-on-exit keeps the last screen of a CLI that exits, so a failed start can be read.
    const options = [['history-limit', '5000'], ['remain-on-exit', 'on'], ['default-terminal', 'tmux-256color']].flatMap(([k, v]) => ['set-option', '-g', k!, v!, ';']);
    this.tmux(['-f', '/dev/null', 'start-server', ';', ...options, 'new-session', '-d', '-s', 'agent', '-x', '200', '-y', '50', '-c', cwd, '--', 'env', '-i', ...envArgs, ...argv]);
    this.#panePid = Number(this.tmux(['display-message', '-p', '-t', 'agent:0.0', '#{pane_pid}']));
  }

  /** Runs tmux on this run's own server; throws with stderr on failure. */
  tmux(args: string[], input?: string): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { input: input ?? '', encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args[0] ?? ''} failed: ${(r.stderr || String(r.error ?? r.signal)).trim()}`);
    return r.stdout.replace(/\n$/, '');
  }

  /** The visible screen; `escapes` keeps colours and attributes (capture-pane -e). */
  screen(escapes = false): string {
    return this.tmux(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'agent:0.0']);
  }

  paneDead(): boolean {
    return this.tmux(['display-message', '-p', '-t', 'agent:0.0', '#{pane_dead}']) === '1';
  }

  /** Polls the screen until `pred` holds; fails with the last screen when the time is up or the CLI died. */
  async waitFor(pred: (screen: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    for (;;) {
      screen = this.screen();
      if (pred(screen)) return screen;
      if (this.paneDead()) throw new Error(`${this.cli.name} exited while waiting for ${what}; last screen:\n${screen}`);
      if (Date.now() > deadline) throw new Error(`${this.cli.name}: no ${what} after ${timeoutMs} ms; last screen:\n${screen}`);
      await sleep(200);
    }
  }

  /** Waits until two captures `quietMs` apart are equal (a spinner never is: then it gives up quietly at `timeoutMs`). */
  async waitStable(quietMs = 500, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = this.screen();
    while (Date.now() < deadline) {
      await sleep(quietMs);
      const now = this.screen();
      if (now === last) return now;
      last = now;
    }
    return last;
  }

  /** Pastes `text` as bmad-bus does: a private buffer, bracketed (-p), LF kept (-r), buffer deleted (-d). */
  paste(text: string): void {
    this.tmux(['load-buffer', '-b', this.#bufferName, '-'], text);
    this.tmux(['paste-buffer', '-p', '-r', '-d', '-b', this.#bufferName, '-t', 'agent:0.0']);
  }

  /** Sends tmux key names (Enter, Escape, C-c, …). */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'agent:0.0', ...keys]);
  }

  /** Pastes and, after `delayMs`, presses the CLI's submit key. */
  async send(text: string, delayMs = this.profile.submitDelayMs): Promise<void> {
    this.paste(text);
    await sleep(delayMs);
    this.keys(this.profile.submitKey);
  }

  /** Ends the run: its processes (by tree and marker), its tmux server (by its socket), its HOME. Idempotent. */
  close(): Promise<number[]> {
    this.#closing ??= (async () => {
      const killed = await killRun(this.#panePid, this.marker);
      spawnSync('tmux', ['-L', this.socket, 'kill-server'], { timeout: 10_000 });
      const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
      fs.rmSync(path.join(process.env.TMUX_TMPDIR || os.tmpdir(), `tmux-${uid}`, this.socket), { force: true });
      // A process killed a moment ago may still be writing its HOME; a second try then wins.
      for (let i = 0; i < 3; i++) {
        try {
          fs.rmSync(this.launch.home, { recursive: true, force: true });
          break;
        } catch {
          await sleep(200);
        }
      }
      return killed;
    })();
    return this.#closing;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
