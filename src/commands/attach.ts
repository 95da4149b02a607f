import { spawn } from 'node:child_process';
import { UsageError } from '../bus/errors.js';
import { getAgent } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import { runTmux } from '../tmux/plain.js';
import { socketArgs, tmuxBinary } from '../tmux/socket-args.js';
import { rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

/**
 * Shows an agent's pane: selects its window and pane, then switches the
 * current client to it when run inside tmux (same server), else attaches
 * this terminal (tmux takes over until you detach).
 */
export async function attachCommand(name: string, options: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const agent = getAgent(layout, name);
  if (!agent.tmux) throw new UsageError(`Agent \`${name}\` has no tmux pane (delivery ${agent.deliver})`);
  const socket = agent.tmux_socket ?? tmuxSocketOf(options);
  const session = await runTmux(['display-message', '-p', '-t', agent.tmux, '#{session_id}'], { socket });
  await runTmux(['select-window', '-t', agent.tmux], { socket });
  await runTmux(['select-pane', '-t', agent.tmux], { socket });
  const inside = Boolean(process.env.TMUX) && (await insideSameServer(socket));
  const args = inside ? ['switch-client', '-t', agent.tmux] : ['attach-session', '-t', session];
  if (inside) {
    await runTmux(args, { socket });
    return;
  }
  if (!process.stdin.isTTY) throw new UsageError('attach needs a terminal (run it in a terminal, or use `bmad-bus capture`)');
  // Interactive: tmux owns the terminal until the user detaches; its exit code is ours.
  const child = spawn(tmuxBinary(), [...socketArgs(socket), ...args], { stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) process.exitCode = code;
}

async function insideSameServer(socket: string | undefined): Promise<boolean> {
  const current = process.env.TMUX?.split(',')[0];
  if (!current) return false;
  const target = await runTmux(['display-message', '-p', '#{socket_path}'], { socket }).catch(() => '');
  return target === current;
}
