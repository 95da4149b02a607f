import { ensureFifo } from '../bus/fs-safety.js';
import { openOrInitRoot } from '../bus/root.js';
import { printLine, rootOf, type GlobalOptions } from './context.js';

/** `bmad-bus pipe FROM TO`: so a script can `echo ... > "$(bmad-bus pipe a b)"`. */
export async function pipe(from: string, to: string, options: GlobalOptions): Promise<void> {
  const layout = openOrInitRoot(rootOf(options));
  const file = layout.pairPipe(from, to);
  ensureFifo(file);
  printLine(file);
}
