import { parseDuration } from '../bus/duration.js';
import { UsageError } from '../bus/errors.js';
import { formatTimestamp } from '../bus/human-format.js';
import { openOrInitRoot, openRoot } from '../bus/root.js';
import { renderTable } from '../bus/text-table.js';
import { defaultCheckpointDir, findCheckpoint, listCheckpoints } from '../team/checkpoint-model.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface CheckpointCommandOptions {
  all?: boolean;
  checkpointDir?: string;
  lines?: string;
  json?: boolean;
}

/** `bmad-bus checkpoint [SESSION] [--all]`: writes a checkpoint and prints its file. */
export async function checkpointCommand(session: string | undefined, options: GlobalOptions & CheckpointCommandOptions): Promise<void> {
  if (session && options.all) throw new UsageError('Name a session or use --all, not both');
  const lines = options.lines !== undefined ? Number(options.lines) : undefined;
  if (lines !== undefined && (!Number.isInteger(lines) || lines < 0)) throw new UsageError(`Expected --lines to be a whole number, got \`${options.lines}\``);
  const layout = openRoot(rootOf(options));
  const { writeCheckpoint } = await import('../team/checkpoint.js');
  const file = await writeCheckpoint(layout, {
    socket: tmuxSocketOf(options),
    session,
    all: options.all ?? false,
    dir: options.checkpointDir ?? defaultCheckpointDir(),
    lines,
  });
  if (options.json) printJson({ file });
  else printLine(file);
}

/** `bmad-bus checkpoints`: the checkpoints in the directory, oldest first. */
export async function checkpointsCommand(options: GlobalOptions & { checkpointDir?: string; json?: boolean }): Promise<void> {
  const dir = options.checkpointDir ?? defaultCheckpointDir();
  const list = listCheckpoints(dir);
  if (options.json) {
    printJson(list);
    return;
  }
  if (list.length === 0) {
    printLine(`no checkpoints in ${dir}`);
    return;
  }
  printLine(
    renderTable(
      ['CREATED', 'SESSIONS', 'AGENTS', 'PANES', 'FILE'],
      list.map((c) => [formatTimestamp(c.created), c.sessions.join(','), String(c.agents.length), String(c.panes), c.file]),
    ).join('\n'),
  );
}

export interface RestoreCommandOptions {
  force?: boolean;
  router?: boolean;
  prompt?: boolean;
  readyTimeout?: string;
  checkpointDir?: string;
  json?: boolean;
}

/** `bmad-bus restore FILE|NAME|latest`: rebuilds the team of a checkpoint. */
export async function restoreCommand(name: string, options: GlobalOptions & RestoreCommandOptions): Promise<void> {
  const file = findCheckpoint(name, options.checkpointDir ?? defaultCheckpointDir());
  const layout = openOrInitRoot(rootOf(options));
  const { restoreCheckpoint } = await import('../team/checkpoint-restore.js');
  const result = await restoreCheckpoint(layout, file, {
    socket: tmuxSocketOf(options),
    force: options.force ?? false,
    router: options.router !== false,
    prompt: options.prompt !== false,
    ...(options.readyTimeout !== undefined ? { readyTimeoutMs: parseDuration(options.readyTimeout, '--ready-timeout') } : {}),
  });
  if (options.json) {
    printJson(result);
    return;
  }
  if (result.alreadyRestored) {
    printLine(`already restored: the supervisor rebuilt ${result.sessions.join(', ')} from this checkpoint after the tmux server died; nothing to do`);
    return;
  }
  printLine(`restored ${result.sessions.length} sessions (${result.sessions.join(', ')}), ${result.panes.length} panes; ${result.agents.length} agents registered`);
  if (result.prompted.length > 0) printLine(`restore prompt typed for ${result.prompted.join(', ')}`);
  for (const s of result.skipped) printLine(`no restore prompt for ${s.agent}: ${s.reason}`);
  for (const w of result.layoutWarnings) printLine(`warning: tmux refused the saved layout of ${w}; it is tiled instead`);
  if (result.router) printLine(result.router.alreadyRunning ? `router already running (pid ${result.router.pid})` : `router started (pid ${result.router.pid})`);
}
