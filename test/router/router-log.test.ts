import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initRoot } from '../../src/bus/root.js';
import { logToStderr, normalizeRouterOptions } from '../../src/router/router-options.js';
import { Router } from '../../src/router/router.js';
import { tempRoot, waitFor } from '../helpers/bus.js';

/** Runs `body` with process.stderr.write captured. */
async function capturingStderr<T>(body: () => Promise<T> | T): Promise<{ result: T; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await body(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe("the router's log", () => {
  test('by default one stderr line each, stamped and prefixed as always', async () => {
    assert.equal(normalizeRouterOptions({}).log, logToStderr);
    const { stderr } = await capturingStderr(() => logToStderr('hello'));
    assert.match(stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z bmad-bus router: hello\n$/);
  });

  test('a `log` option takes every line, the parts’ lines included, and stderr gets none', async () => {
    const { root, cleanup } = tempRoot();
    const layout = initRoot(root);
    const lines: string[] = [];
    const router = new Router(layout, { log: (line) => lines.push(line), holdMs: 50, underKeeper: false, statusIntervalMs: 50 });
    try {
      const { stderr } = await capturingStderr(async () => {
        await router.start();
        router.publish({ to: 'ghost', type: 'note', body: 1 });
        await waitFor(() => lines.some((l) => l.startsWith('dead letter (unknown_recipient)')), 5_000, 'the dead letter logged');
        await router.close();
      });
      assert.equal(stderr, '');
      assert.deepEqual(lines, ['dead letter (unknown_recipient): No agent `ghost` registered within 0s']);
    } finally {
      await router.close();
      cleanup();
    }
  });
});
