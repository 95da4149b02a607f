import fs from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { AddressBook } from '../bus/address-book.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';

// chokidar can miss a rename-over of the registry: it is looked at this often as well (the router looks on its own timer).
const POLL_MS = 200;

export interface RegistryWatchHost {
  /** The address book holds the new registry: make the consumers match it. */
  reloaded(): void;
  log(line: string): void;
}

/**
 * Keeps the router's address book equal to the registry file: reloads it
 * when chokidar sees a change, and when its mtime moved (a look now and then,
 * and before every role choice, which must not pick an agent marked failed a
 * moment ago).
 */
export class RegistryWatch {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private mtime = 0;

  constructor(private readonly layout: Layout, private readonly book: AddressBook, private readonly host: RegistryWatchHost) {}

  /** Resolves once chokidar's initial scan is done (or it failed: polling covers the registry). `poll: false`: the caller calls reloadIfChanged now and then. */
  start(poll = true): Promise<void> {
    const watcher = watch(this.layout.registryFile, { ignoreInitial: true, depth: 0, atomic: false });
    this.watcher = watcher;
    watcher.on('add', () => this.reload());
    watcher.on('change', () => this.reload());
    const ready = new Promise<void>((resolve) => {
      watcher.once('ready', resolve);
      watcher.once('error', () => resolve());
    });
    watcher.on('error', (error) => this.host.log(`watch: ${(error as Error).message}`));
    if (poll) this.poll = setInterval(() => this.reloadIfChanged(), POLL_MS);
    return ready;
  }

  reloadIfChanged(): void {
    // Consumers are set up once start() has the journal's end: not from inside the intake replay.
    if (!this.watcher) return;
    try {
      const mtime = fs.statSync(this.layout.registryFile).mtimeMs;
      if (mtime !== this.mtime) this.reload();
    } catch {
      // No registry yet.
    }
  }

  close(): Promise<void> {
    clearInterval(this.poll);
    return this.watcher?.close().catch(() => undefined) ?? Promise.resolve();
  }

  private reload(): void {
    try {
      this.mtime = fs.statSync(this.layout.registryFile).mtimeMs;
      this.book.update(readRegistry(this.layout));
    } catch (error) {
      this.host.log(`registry: ${(error as Error).message}`);
      return;
    }
    this.host.reloaded();
  }
}
