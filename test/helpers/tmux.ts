import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
