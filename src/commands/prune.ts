import { parseDuration } from '../bus/duration.js';
import { openRoot } from '../bus/root.js';
import { pruneJournal } from '../journal/prune.js';
import { printJson, printLine, rootOf, type GlobalOptions } from './context.js';

export async function pruneCommand(options: GlobalOptions & { olderThan: string; dryRun?: boolean; json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const result = await pruneJournal(layout, { olderThanMs: parseDuration(options.olderThan, '--older-than'), dryRun: Boolean(options.dryRun) });
  if (options.json) {
    printJson(result);
    return;
  }
  const verb = options.dryRun ? 'would delete' : 'deleted';
  if (result.deleted.length === 0) printLine(`nothing to prune${result.keptBecause ? ` (${result.keptBecause})` : ''}`);
  else printLine(`${verb} ${result.deleted.length} segment(s), ${result.bytes} bytes${result.keptBecause ? `; kept the rest (${result.keptBecause})` : ''}`);
}
