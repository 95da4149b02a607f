import { addAgent, readRegistry } from '../bus/registry.js';
import { initRoot } from '../bus/root.js';
import { ORCHESTRATOR } from '../bus/names.js';
import { journalEnd } from '../journal/segments.js';
import { printJson, printLine, rootOf, type GlobalOptions } from './context.js';

/** `bmad-bus init`: creates the root and registers the orchestrator, so orchestrator.pipe has a reader from the start. */
export async function init(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const layout = initRoot(rootOf(options));
  if (!readRegistry(layout).agents[ORCHESTRATOR]) {
    await addAgent(layout, { name: ORCHESTRATOR, role: ORCHESTRATOR, owner: 'init', since: journalEnd(layout.journalDir) });
  }
  if (options.json) printJson({ root: layout.root });
  else printLine(layout.root);
}
