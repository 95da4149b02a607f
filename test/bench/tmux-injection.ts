import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TmuxClient, type TmuxMode } from '../../src/tmux/client.js';
import { PaneInjector } from '../../src/tmux/injector.js';

/** Ends a bench's private tmux server and removes its socket file (tmux 3.3a leaves it behind when control clients were attached). */
function endServer(socket: string): void {
  spawnSync('tmux', ['-L', socket, 'kill-server'], { timeout: 10_000 });
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().uid;
  fs.rmSync(path.join(process.env.TMUX_TMPDIR || os.tmpdir(), `tmux-${uid}`, socket), { force: true });
}

export interface TmuxInjectionOptions {
  /** Messages per measurement (default 300 for control mode, a fifth of it for plain spawns). */
  messages?: number;
  /** Body length in characters (default 200). */
  bodyBytes?: number;
}

export interface InjectionFigure {
  mode: TmuxMode;
  /** What one message costs: `paste` = set-buffer + paste-buffer + submit key; `verified` = the full injector (checks, submit, capture). */
  kind: 'paste' | 'verified';
  messages: number;
  ms: number;
  perSecond: number;
}

/**
 * Measures pane injection on a private tmux server (`tmux -L bmad-bench-...`,
 * killed at the end): the control-mode client against one spawned `tmux` per
 * command, raw paste+submit and the full verified injector (submit delay 0).
 * The pane runs `cat > /dev/null`. Returns figures; asserts nothing.
 */
export async function benchTmuxInjection(options: TmuxInjectionOptions = {}): Promise<InjectionFigure[]> {
  const socket = `bmad-bench-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const tmux = (args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 }).trim();
  const body = 'x'.repeat(options.bodyBytes ?? 200);
  const figures: InjectionFigure[] = [];
  try {
    tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'bench', '-x', '200', '-y', '50']);
    for (const mode of ['control', 'plain'] as const) {
      const count = Math.max(10, Math.round((options.messages ?? 300) / (mode === 'plain' ? 5 : 1)));
      const pane = tmux(['new-window', '-d', '-P', '-F', '#{pane_id}', '-t', 'bench:', 'exec cat > /dev/null']);
      const client = new TmuxClient({ socket, mode });
      try {
        let start = performance.now();
        for (let i = 0; i < count; i++) {
          const name = `bench-${i}`;
          await client.setBuffer(name, `[a → b] ${i} ${body}`);
          await client.command(['paste-buffer', '-d', '-p', '-r', '-b', name, '-t', pane]);
          await client.command(['send-keys', '-t', pane, 'Enter']);
        }
        figures.push(figure(mode, 'paste', count, performance.now() - start));
        const injector = new PaneInjector({ client, paneId: pane, submitDelayMs: 0 });
        start = performance.now();
        for (let i = 0; i < count; i++) {
          const result = await injector.inject(`[a → b] ${i} ${body}`);
          if (result.status !== 'confirmed') throw new Error(`injection ${i} ${result.status}`);
        }
        figures.push(figure(mode, 'verified', count, performance.now() - start));
      } finally {
        client.close();
      }
    }
  } finally {
    endServer(socket);
  }
  return figures;
}

function figure(mode: TmuxMode, kind: InjectionFigure['kind'], messages: number, ms: number): InjectionFigure {
  return { mode, kind, messages, ms: Math.round(ms), perSecond: Math.round((messages / ms) * 1000) };
}

// `node dist/test/bench/tmux-injection.js` prints the figures.
if (process.argv[1]?.endsWith('tmux-injection.js')) {
  for (const f of await benchTmuxInjection()) console.log(`${f.mode.padEnd(8)} ${f.kind.padEnd(9)} ${String(f.perSecond).padStart(6)} msg/s  (${f.messages} in ${f.ms} ms)`);
}

/** Lines in a file (0 when missing). */
function lineCount(file: string): number {
  try {
    const data = fs.readFileSync(file);
    let n = 0;
    for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

async function waitLines(files: string[], each: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (files.every((f) => lineCount(f) >= each)) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

export interface CountedFigure {
  what: string;
  panes: number;
  messages: number;
  /** Messages the panes' programs counted (lines they read). */
  counted: number;
  ms: number;
  perSecond: number;
}

/**
 * The full verified injector (control mode, submit delay 0) into `panes`
 * panes at once, each running `cat > FILE`: the figure counts a message when
 * the pane's program has read its line. One shared control client, as the
 * router shares one per tmux server.
 */
export async function benchTmuxFanout(options: { panes?: number; messagesPerPane?: number; bodyBytes?: number } = {}): Promise<CountedFigure> {
  const panes = options.panes ?? 16;
  const each = options.messagesPerPane ?? 20;
  const body = 'x'.repeat(options.bodyBytes ?? 200);
  const socket = `bmad-bench-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-bench-tmux-'));
  const tmux = (args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 }).trim();
  try {
    tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'bench', '-x', '200', '-y', '50']);
    const files: string[] = [];
    const ids: string[] = [];
    for (let p = 0; p < panes; p++) {
      const file = path.join(dir, `pane-${p}.txt`);
      files.push(file);
      ids.push(tmux(['new-window', '-d', '-P', '-F', '#{pane_id}', '-t', 'bench:', `exec cat > ${file}`]));
    }
    const client = new TmuxClient({ socket, mode: 'control' });
    try {
      const start = performance.now();
      await Promise.all(
        ids.map(async (paneId, p) => {
          const injector = new PaneInjector({ client, paneId, submitDelayMs: 0 });
          for (let i = 0; i < each; i++) {
            const result = await injector.inject(`[a → p${p}] ${i} ${body}`);
            if (result.status !== 'confirmed') throw new Error(`pane ${p} injection ${i} ${result.status}`);
          }
        }),
      );
      await waitLines(files, each, 10_000);
      const ms = performance.now() - start;
      const counted = files.reduce((n, f) => n + lineCount(f), 0);
      return { what: 'verified injector, control mode', panes, messages: panes * each, counted, ms: Math.round(ms), perSecond: Math.round((counted / ms) * 1000) };
    } finally {
      client.close();
    }
  } finally {
    endServer(socket);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The Tmux-Orchestrator way: `tmux send-keys -l TEXT`, sleep 0.5 s, `tmux
 * send-keys Enter` — two spawned tmux processes and a fixed sleep per message.
 */
export async function benchSendKeysSleep(options: { messages?: number; bodyBytes?: number; sleepMs?: number } = {}): Promise<CountedFigure> {
  const count = options.messages ?? 20;
  const body = 'x'.repeat(options.bodyBytes ?? 200);
  const socket = `bmad-bench-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-bench-tmux-'));
  const file = path.join(dir, 'pane.txt');
  const tmux = (args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 }).trim();
  try {
    tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'bench', '-x', '200', '-y', '50']);
    const pane = tmux(['new-window', '-d', '-P', '-F', '#{pane_id}', '-t', 'bench:', `exec cat > ${file}`]);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      tmux(['send-keys', '-t', pane, '-l', `[a → b] ${i} ${body}`]);
      await new Promise((r) => setTimeout(r, options.sleepMs ?? 500));
      tmux(['send-keys', '-t', pane, 'Enter']);
    }
    await waitLines([file], count, 10_000);
    const ms = performance.now() - start;
    const counted = lineCount(file);
    return { what: 'send-keys + 0.5 s sleep + Enter', panes: 1, messages: count, counted, ms: Math.round(ms), perSecond: Math.round((counted / ms) * 1000 * 100) / 100 };
  } finally {
    endServer(socket);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
