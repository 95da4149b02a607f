import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempRoot } from './helpers/bus.js';

/** The public API is a deliberate list: a new export is a decision, made here too. */
const PUBLIC = [
  'BusError', 'BusNotInitializedError', 'ConfigError', 'DEFAULT_SENDER', 'DependencyCycleError', 'InvalidAddressError',
  'InvalidMessageError', 'InvalidNameError', 'PIPE_BUF', 'Router', 'RouterAlreadyRunningError', 'RouterNotRunningError',
  'SessionExistsError', 'TaskStateError', 'TimeoutError', 'TmuxError', 'UnknownAgentError', 'UnknownTaskError',
  'UnsafeBusRootError', 'UsageError', 'assertName', 'initBus', 'isValidName', 'openBus', 'parseAddress', 'readMessages',
  'send', 'subscribe',
];

test('bmad-bus exports exactly the public list; internals live in bmad-bus/internal', async () => {
  const api = await import('bmad-bus');
  assert.deepEqual(Object.keys(api).sort(), [...PUBLIC].sort());
  const internal = await import('bmad-bus/internal');
  for (const name of ['Layout', 'normalize', 'parseLine', 'serialize', 'createEnvelope', 'errnoCode', 'JournalWriter']) {
    assert.ok(name in internal, `bmad-bus/internal has ${name}`);
    assert.ok(!(name in api), `bmad-bus does not export ${name}`);
  }
});

test('the public API round trip: openBus, addAgent, send with no router, read', async () => {
  const { openBus, assertName, InvalidNameError } = await import('bmad-bus');
  const { root, cleanup } = tempRoot();
  try {
    const bus = openBus({ dir: root });
    await bus.addAgent({ name: 'dev-1' });
    const [sent] = await bus.send({ to: 'dev-1', body: { task: 't1' }, type: 'task', from: 'planner' });
    const got = [];
    for await (const { envelope } of bus.read('dev-1')) got.push(envelope);
    assert.deepEqual(got.map((e) => [e.id, e.from, e.body]), [[sent!.id, 'planner', { task: 't1' }]]);
    assert.throws(() => assertName('no/slash'), InvalidNameError);
  } finally {
    cleanup();
  }
});

test("the library's Router delivers into tmux panes by default (the CLI's does too)", async () => {
  const { Router, initBus } = await import('bmad-bus');
  const { root, cleanup } = tempRoot();
  try {
    const router = new Router(initBus({ dir: root }), { log: () => undefined });
    assert.equal(typeof (router as unknown as { options: { paneSinks?: unknown } }).options.paneSinks, 'function');
    const none = new Router(initBus({ dir: root }), { paneSinks: undefined as never, log: () => undefined });
    assert.equal((none as unknown as { options: { paneSinks?: unknown } }).options.paneSinks, undefined, 'a caller may still turn it off');
  } finally {
    cleanup();
  }
});
