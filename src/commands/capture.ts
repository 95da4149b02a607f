import { TmuxError, UsageError } from '../bus/errors.js';
import { getAgent } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import { capturePane } from '../tmux/pane-capture.js';
import { runTmux } from '../tmux/plain.js';
import { printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

/** Prints the last lines of an agent's pane, or of every pane of its session (the seed's debug helper). */
export async function captureCommand(name: string, options: GlobalOptions & { lines?: string; all?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const agent = getAgent(layout, name);
  if (!agent.tmux) throw new UsageError(`Agent \`${name}\` has no tmux pane (delivery ${agent.deliver})`);
  const lines = Number(options.lines ?? 50);
  if (!Number.isInteger(lines) || lines < 1) throw new UsageError(`Expected -n to be a whole number of lines, got \`${options.lines}\``);
  const socket = agent.tmux_socket ?? tmuxSocketOf(options);
  const exists = await runTmux(['list-panes', '-t', agent.tmux, '-F', '#{pane_id}'], { socket }).catch((error: unknown) => {
    throw new TmuxError(`The pane of \`${name}\` (${agent.tmux}) is gone: ${(error as Error).message}`);
  });
  if (!exists) throw new TmuxError(`The pane of \`${name}\` (${agent.tmux}) is gone`);
  if (!options.all) {
    printLine(await capturePane(agent.tmux, lines, socket));
    return;
  }
  const panes = await runTmux(['list-panes', '-s', '-t', agent.tmux, '-F', '#{pane_id}\t#{window_index}:#{window_name}.#{pane_index}\t#{@bmad_agent}\t#{pane_current_command}'], { socket });
  for (const line of panes.split('\n').filter(Boolean)) {
    const [id, where, who, command] = line.split('\t');
    printLine(`=== ${where} ${id} ${who || '-'} (${command}) ===`);
    printLine(await capturePane(id!, lines, socket));
  }
}
