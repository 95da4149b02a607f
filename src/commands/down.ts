import path from 'node:path';
import { openRoot } from '../bus/root.js';
import { down } from '../team/down.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export async function downCommand(file: string | undefined, options: GlobalOptions & { all?: boolean; json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const result = await down(layout, { file: file ? path.resolve(file) : undefined, all: options.all ?? false, socket: tmuxSocketOf(options) });
  if (options.json) {
    printJson(result);
    return;
  }
  if (result.teams.length === 0) {
    printLine('no team is up');
    return;
  }
  printLine(
    `killed ${result.killedSessions.length} sessions${result.killedSessions.length ? ` (${result.killedSessions.join(', ')})` : ''}` +
      `${result.killedWindows.length ? `, ${result.killedWindows.length} windows (${result.killedWindows.join(', ')})` : ''}` +
      `; unregistered ${result.removedAgents.length} agents`,
  );
}
