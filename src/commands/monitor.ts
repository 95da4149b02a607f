import { parseDuration } from '../bus/duration.js';
import { UsageError } from '../bus/errors.js';
import { openRoot } from '../bus/root.js';
import { MonitorSampler } from '../team/monitor-snapshot.js';
import { renderMonitor } from '../team/monitor-view.js';
import { rootOf, tmuxSocketOf, useColor, type GlobalOptions } from './context.js';

export interface MonitorCommandOptions {
  interval?: string;
  once?: boolean;
}

// Alternate screen, hidden cursor, no autowrap (a full last column must not scroll the screen).
const ENTER = '\x1b[?1049h\x1b[?25l\x1b[?7l';
const LEAVE = '\x1b[?7h\x1b[?25h\x1b[?1049l';

/**
 * `bmad-bus monitor`: a full-screen dashboard redrawn every interval, sized to
 * the terminal (80x24 over ssh included), quit with q or Ctrl-C. `--once`
 * (or output that is not a terminal) prints one frame and exits.
 */
export async function monitorCommand(options: GlobalOptions & MonitorCommandOptions): Promise<void> {
  const intervalMs = parseDuration(options.interval ?? '1s', '--interval');
  if (intervalMs < 100) throw new UsageError(`Expected --interval of at least 100ms, got \`${options.interval}\``);
  const layout = openRoot(rootOf(options));
  const sampler = new MonitorSampler(layout, { socket: tmuxSocketOf(options) });
  const out = process.stdout;
  const size = () => ({ width: out.columns || 80, height: out.rows || 24 });

  if (options.once || !out.isTTY) {
    const frame = renderMonitor(await sampler.snapshot(), { ...size(), color: useColor(out) });
    out.write(`${frame.map((l) => l.trimEnd()).join('\n')}\n`);
    return;
  }

  const stdin = process.stdin;
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last: Awaited<ReturnType<MonitorSampler['snapshot']>> | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const draw = () => {
    if (stopped || !last) return;
    const frame = renderMonitor(last, { ...size(), color: useColor(out) });
    // Home, then every row in place: no clearing, so no flicker.
    out.write(`\x1b[H${frame.join('\r\n')}`);
  };
  const refresh = async () => {
    try {
      last = await sampler.snapshot();
      draw();
    } catch (error) {
      // A bad moment (a state file mid-rename, tmux busy) must not end the dashboard: show it, try again.
      if (!stopped) out.write(`\x1b[H\x1b[2Kmonitor: ${(error as Error).message}`);
    }
    if (!stopped) timer = setTimeout(() => void refresh(), intervalMs);
  };
  const onResize = () => {
    out.write('\x1b[2J');
    draw();
  };
  const onKey = (data: Buffer) => {
    for (const byte of data) if (byte === 0x71 || byte === 0x51 || byte === 0x03 || byte === 0x04) stop();
  };
  const onSignal = () => stop();
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    out.off('resize', onResize);
    stdin.off('data', onKey);
    for (const signal of SIGNALS) process.off(signal, onSignal);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    out.write(LEAVE);
    finish();
  };
  out.write(`${ENTER}\x1b[2J`);
  // Whatever happens, the terminal is given back as it was.
  process.once('exit', () => {
    if (!stopped) out.write(LEAVE);
  });
  for (const signal of SIGNALS) process.on(signal, onSignal);
  out.on('resize', onResize);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  void refresh();
  await done;
  // The user quit: a tmux call still in flight must not keep the dashboard's pane alive.
  stdin.destroy();
  setTimeout(() => process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0), 300).unref();
}
