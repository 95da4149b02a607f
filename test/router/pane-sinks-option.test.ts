import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryItem, PaneSinkFactory } from '../../src/bus/delivery.js';
import { addAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { readLiveRouterStatus } from '../../src/router/router-status.js';
import { Router } from '../../src/router/router.js';
import { tempRoot, waitFor } from '../helpers/bus.js';

test('the router makes pane sinks with the factory it is given, and without one the messages wait, saying why', async () => {
  const { root, cleanup } = tempRoot();
  const layout = initRoot(root);
  await addAgent(layout, { name: 'dev-1', tmux: '%7', deliver: 'tmux' });
  const typed: string[] = [];
  const made: string[] = [];
  const paneSinks: PaneSinkFactory = (agent, context) => {
    made.push(`${agent.name}@${context.socket ?? 'default'}`);
    return { kind: 'tmux', deliver: async (items: DeliveryItem[]) => (typed.push(...items.map((i) => String(i.envelope.body))), { delivered: items.length }), close: async () => undefined };
  };
  const quiet = () => undefined;
  let router = new Router(layout, { paneSinks, tmuxSocket: 'sock', statusIntervalMs: 50, underKeeper: false, log: quiet });
  try {
    await router.start();
    router.publish({ to: 'dev-1', type: 'message', body: 'one' });
    await waitFor(() => typed.length === 1, 5_000, 'the message at the sink');
    assert.deepEqual([made, typed], [['dev-1@sock'], ['one']]);
    await router.close();

    router = new Router(layout, { statusIntervalMs: 50, underKeeper: false, log: quiet });
    await router.start();
    router.publish({ to: 'dev-1', type: 'message', body: 'two' });
    await waitFor(() => /without the paneSinks option/.test(readLiveRouterStatus(layout)?.agents['dev-1']?.consumers.tmux?.waiting ?? ''), 10_000, 'status saying why');
    assert.equal(readLiveRouterStatus(layout)?.agents['dev-1']?.undelivered, 1, 'the message waits in the journal');
  } finally {
    await router.close();
    cleanup();
  }
});
