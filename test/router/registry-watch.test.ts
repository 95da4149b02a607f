import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { AddressBook } from '../../src/bus/address-book.js';
import { addAgent, removeAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { RegistryWatch } from '../../src/router/registry-watch.js';
import { tempRoot, waitFor } from '../helpers/bus.js';

describe('the registry watch', () => {
  test('a change to the registry reaches the address book, then the consumers', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    const book = new AddressBook({ agents: {}, groups: {} });
    const seen: string[][] = [];
    const logged: string[] = [];
    const watch = new RegistryWatch(layout, book, { reloaded: () => seen.push(book.names), log: (line) => logged.push(line) });
    try {
      await watch.start();
      await addAgent(layout, { name: 'dev-1' });
      await waitFor(() => seen.some((names) => names.includes('dev-1')), 5_000, 'dev-1 in the book');
      await removeAgent(layout, 'dev-1');
      await waitFor(() => seen.at(-1)!.length === 0, 5_000, 'dev-1 gone from the book');
      assert.deepEqual(logged, []);
    } finally {
      await watch.close();
      cleanup();
    }
  });

  test('a registry replaced by a rename is seen by its mtime; an unreadable one is logged and the book kept', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    const book = new AddressBook({ agents: {}, groups: {} });
    let reloads = 0;
    const logged: string[] = [];
    const watch = new RegistryWatch(layout, book, { reloaded: () => reloads++, log: (line) => logged.push(line) });
    try {
      // Before start (the intake replay): nothing is reloaded.
      await addAgent(layout, { name: 'dev-1' });
      watch.reloadIfChanged();
      assert.equal(reloads, 0);
      await watch.start();
      watch.reloadIfChanged();
      assert.equal(reloads, 1);
      assert.deepEqual(book.names, ['dev-1']);
      watch.reloadIfChanged();
      assert.equal(reloads, 1, 'unchanged: not reloaded again');
      const next = `${layout.registryFile}.new`;
      fs.writeFileSync(next, '{"agents":', { mode: 0o600 });
      fs.utimesSync(next, new Date(), new Date(Date.now() + 5_000));
      fs.renameSync(next, layout.registryFile);
      watch.reloadIfChanged();
      await waitFor(() => logged.some((l) => l.startsWith('registry: ')), 5_000, 'the registry error logged');
      assert.equal(reloads, 1);
      assert.deepEqual(book.names, ['dev-1'], 'the last good registry stays');
    } finally {
      await watch.close();
      cleanup();
    }
  });
});
