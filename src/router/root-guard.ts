import { BusError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { rootIdentity } from '../bus/root.js';

/**
 * Checked before the router writes state by path: a root removed (or removed
 * and made again) under a running router is no longer its root, and a stale
 * router must not write into a new one. Losing it is reported once.
 */
export class RootGuard {
  private readonly identity: string | undefined;
  private lostRoot = false;

  constructor(private readonly layout: Layout, private readonly onLost: (error: BusError) => void) {
    this.identity = rootIdentity(layout);
  }

  get lost(): boolean {
    return this.lostRoot;
  }

  stillOurs(): boolean {
    if (this.lostRoot) return false;
    if (rootIdentity(this.layout) === this.identity) return true;
    this.lostRoot = true;
    this.onLost(new BusError(`The bus root ${this.layout.root} was removed or replaced; stopping`));
    return false;
  }
}
