import type { Envelope } from './envelope.js';
import { Layout, resolveRoot } from './layout.js';
import { initRoot, openRoot } from './root.js';

/** Where a bus lives: `dir`, else `$BMAD_BUS_DIR`, else `/tmp/bmad-bus-<uid>`. */
export interface BusOptions {
  dir?: string;
  /** Create the root if it does not exist (default true). */
  create?: boolean;
}

export type { Envelope };

/** Resolves and checks (or creates) a bus root; the layout every operation takes. */
export function layoutFor(options: BusOptions = {}): Layout {
  const root = resolveRoot(options.dir);
  return options.create === false ? openRoot(root) : initRoot(root);
}
