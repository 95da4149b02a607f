// The oracle of the agent tests, checked without the CLIs: the fake model's user-turn extraction
// on request bodies recorded from each real CLI (recorded/, made by record-requests.ts), and the
// rules that merge the history each request resends. Runs in npm test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sourceDir } from './agents-cache.js';
import { FakeModel, type Mode } from './fake-model.js';
import { RECORDED_TURNS } from './record-requests.js';
import { isInjected, TurnLog } from './wire/turns.js';

interface Recorded {
  method: string;
  path: string;
  body: unknown;
}

async function replay(model: FakeModel, requests: Recorded[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const r of requests) {
    const res = await fetch(model.url + r.path, { method: r.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body) });
    await res.text();
    statuses.push(res.status);
  }
  return statuses;
}

async function withModel<T>(mode: Mode, fn: (m: FakeModel) => Promise<T>): Promise<T> {
  const model = await new FakeModel({ mode }).start();
  try {
    return await fn(model);
  } finally {
    await model.close();
  }
}

describe('user turns from recorded CLI requests', () => {
  const dir = path.join(sourceDir(), 'recorded');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort() : [];
  test('there are recordings', () => assert.ok(files.length > 0, `no recordings in ${dir}`));
  for (const file of files) {
    test(`${file}: exactly the two messages typed, in order, whatever the CLI resends or injects`, async () => {
      const requests = fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Recorded);
      await withModel({ kind: 'fast' }, async (model) => {
        const statuses = await replay(model, requests);
        assert.deepEqual(statuses, requests.map(() => 200));
        assert.deepEqual(model.userTurns, RECORDED_TURNS);
      });
    });
  }
});

describe('TurnLog', () => {
  test('the history a request resends adds nothing; a message sent twice on purpose counts twice', () => {
    const log = new TurnLog();
    assert.deepEqual(log.add(['a']), ['a']);
    assert.deepEqual(log.add(['a', 'b']), ['b']);
    assert.deepEqual(log.add(['a', 'b']), []);
    assert.deepEqual(log.add(['a', 'b', 'a']), ['a']);
    // A side conversation (another request repeating one turn) brings nothing new either.
    assert.deepEqual(log.add(['b']), []);
    assert.deepEqual(log.turns, ['a', 'b', 'a']);
  });
});

describe('isInjected', () => {
  test('one whole XML-ish element or a known preamble is the CLI speaking, anything else the user', () => {
    assert.equal(isInjected('<system-reminder>\nbe nice\n</system-reminder>'), true);
    assert.equal(isInjected('<environment_context>\n  <cwd>/x</cwd>\n</environment_context>'), true);
    assert.equal(isInjected('# AGENTS.md instructions for /x\n...'), true);
    assert.equal(isInjected('   '), true);
    assert.equal(isInjected('<b>bold</b> and more'), false);
    assert.equal(isInjected('hello <there>'), false);
    assert.equal(isInjected('plain message'), false);
  });
});

describe('modes', () => {
  const anthropicBody = { model: 'm', stream: true, max_tokens: 10, tools: [{ name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' }, description: { type: 'string' } }, required: ['command'] } }], messages: [{ role: 'user', content: 'hi' }] };

  test('rate-limit answers 429 and still counts the turn', async () => {
    await withModel({ kind: 'rate-limit' }, async (model) => {
      assert.deepEqual(await replay(model, [{ method: 'POST', path: '/v1/messages', body: anthropicBody }]), [429]);
      assert.deepEqual(model.userTurns, ['hi']);
    });
  });

  test('tool asks for the shell tool with a command, then answers the tool result with text', async () => {
    await withModel({ kind: 'tool', command: 'true' }, async (model) => {
      const res = await fetch(`${model.url}/v1/messages`, { method: 'POST', body: JSON.stringify(anthropicBody) });
      const sse = await res.text();
      assert.match(sse, /"type":"tool_use".*"name":"Bash"/);
      assert.match(sse, /\\"command\\":\\"true\\"/);
      const followUp = { ...anthropicBody, messages: [...anthropicBody.messages, { role: 'assistant', content: [] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: 'ok' }] }] };
      const second = await (await fetch(`${model.url}/v1/messages`, { method: 'POST', body: JSON.stringify(followUp) })).text();
      assert.match(second, /"type":"text_delta"/);
      assert.deepEqual(model.userTurns, ['hi']);
    });
  });

  test('slow waits the given time before answering', async () => {
    await withModel({ kind: 'slow', seconds: 0.3 }, async (model) => {
      const t0 = Date.now();
      await replay(model, [{ method: 'POST', path: '/v1/messages', body: anthropicBody }]);
      assert.ok(Date.now() - t0 >= 290);
    });
  });
});
