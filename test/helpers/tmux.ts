import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Envelope } from '../../src/bus/envelope.js';
import { cli, startRouter, tempDir, type CliResult, type RunningRouter } from './bus.js';

/**
 * A private tmux server for one test file: `tmux -L bmad-test-<pid>-<random> -f /dev/null`,
 * never the user's default server, killed by its own socket at the end.
 * It starts with one unrelated session (`bystander`) that tests can check survives.
 */
export class TestTmux {
  readonly socket = `bmad-test-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;

  start(): this {
    this.run(['-f', '/dev/null', 'new-session', '-d', '-s', 'bystander', '-x', '200', '-y', '50']);
    return this;
  }

  /** Runs tmux on this server; throws with stderr on failure. */
  run(args: string[], input?: string): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { input: input ?? '', encoding: 'utf8', timeout: 10_000, stdio: ['pipe', 'pipe', 'pipe'] }).replace(/\n$/, '');
  }

  tryRun(args: string[]): string | undefined {
    const result = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', timeout: 10_000 });
    return result.status === 0 ? result.stdout.replace(/\n$/, '') : undefined;
  }

  /** A new window running `command` (via sh -c, as tmux does); returns its pane id. */
  newPane(command: string, env: Record<string, string> = {}): string {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    return this.run(['new-window', '-d', '-P', '-F', '#{pane_id}', ...envArgs, '-t', 'bystander:', command]);
  }

  /** The pid of the program in a pane (`#{pane_pid}`). */
  panePid(pane: string): number {
    return Number(this.run(['display-message', '-p', '-t', pane, '#{pane_pid}']));
  }

  sessions(): string[] {
    return (this.tryRun(['list-sessions', '-F', '#{session_name}']) ?? '').split('\n').filter(Boolean).sort();
  }

  capture(pane: string): string {
    return this.run(['capture-pane', '-p', '-J', '-t', pane]);
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { timeout: 10_000 });
    // tmux leaves its socket file behind; remove ours (and only ours).
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    fs.rmSync(path.join(process.env.TMUX_TMPDIR || os.tmpdir(), `tmux-${uid}`, this.socket), { force: true });
  }
}

/** Quotes a word for sh -c (test commands only; product code never builds shell strings). */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** One message as `tail --json` prints it. */
export interface JournalEntry<Body = unknown> {
  id: string;
  from: string;
  to: string;
  type: string;
  rcpt?: string;
  body: Body;
}

/**
 * What a test file of a bus on tmux stands on: a private tmux server, a temp
 * dir with the bus root in it, and `base`, the arguments that point every CLI
 * call at both. What a test starts on it (a router, a supervisor, a daemon)
 * is registered with `onClose`; `close()` ends those, last first, then takes
 * down the team `up` brought up, kills the server and removes the dir.
 *
 * @example
 * const bed = new TmuxBed();
 * before(async () => {
 *   bed.start();
 *   await bed.up(writeTeam(bed.dir, yaml));
 *   await bed.router();
 * });
 * after(() => bed.close());
 */
export class TmuxBed {
  readonly tmux = new TestTmux();
  readonly dir: string;
  readonly root: string;
  /** `--dir <root> --tmux-socket <socket>`. */
  readonly base: string[];
  private readonly removeDir: () => void;
  private readonly closers: Array<() => unknown> = [];
  /** Set once `up` ran: the environment it ran with, which `down` gets too. */
  private teamEnv: NodeJS.ProcessEnv | undefined;

  constructor() {
    const { dir, cleanup } = tempDir();
    this.dir = dir;
    this.removeDir = cleanup;
    this.root = path.join(dir, 'bus');
    this.base = ['--dir', this.root, '--tmux-socket', this.tmux.socket];
  }

  /** Starts the private tmux server (with its `bystander` session). */
  start(): this {
    this.tmux.start();
    return this;
  }

  /** `bmad-bus up <file>` on this bed, by default without a router; fails the test unless it succeeds. close() takes the team down. */
  async up(file: string, options: { args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
    this.teamEnv = options.env ?? {};
    const result = await cli(['up', file, ...(options.args ?? ['--no-router']), ...this.base], {
      timeoutMs: options.timeoutMs ?? 30_000, ...(options.env ? { env: options.env } : {}),
    });
    assert.equal(result.code, 0, result.stderr);
    return result;
  }

  /** A foreground router on this bed's bus and tmux server, stopped at close. */
  async router(env: NodeJS.ProcessEnv = {}): Promise<RunningRouter> {
    const router = await startRouter(this.root, ['--tmux-socket', this.tmux.socket], env);
    this.onClose(() => router.stop());
    return router;
  }

  /** Something to end at close, before the team goes down (what was registered last ends first). */
  onClose(end: () => unknown): void {
    this.closers.push(end);
  }

  /** Every message in the journal, oldest first (`Body`: what the test expects the bodies to be). */
  async journal<Body = unknown>(): Promise<Array<JournalEntry<Body>>> {
    const result = await cli(['tail', '--no-follow', '-n', '100000', '--json', ...this.base]);
    return result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEntry<Body>);
  }

  /** `bmad-bus send TO BODY --from FROM` on this bed (fails the test unless accepted); the envelope journaled. */
  async send(to: string, body: string, from = 'lead'): Promise<Envelope> {
    const sent = await cli(['send', to, body, '--from', from, '--json', ...this.base]);
    assert.equal(sent.code, 0, sent.stderr);
    return JSON.parse(sent.stdout) as Envelope;
  }

  /** `bmad-bus status --json`. */
  async status<T>(): Promise<T> {
    return JSON.parse((await cli(['status', '--json', ...this.base])).stdout) as T;
  }

  async close(): Promise<void> {
    for (const end of this.closers.splice(0).reverse()) {
      try {
        await end();
      } catch {
        // teardown goes on: what is left is killed with the server
      }
    }
    if (this.teamEnv) await cli(['down', '--all', ...this.base], { env: this.teamEnv }).catch(() => undefined);
    this.tmux.kill();
    this.removeDir();
  }
}
