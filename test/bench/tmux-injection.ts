import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { TmuxClient, type TmuxMode } from '../../src/tmux/client.js';
import { PaneInjector } from '../../src/tmux/injector.js';

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
    spawnSync('tmux', ['-L', socket, 'kill-server'], { timeout: 10_000 });
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
