import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AddressBook } from '../../src/bus/address-book.js';
import { createEnvelope, normalize, parseLine, serialize, type Origin, type Parsed } from '../../src/bus/envelope.js';
import { InvalidAddressError, InvalidMessageError, InvalidNameError } from '../../src/bus/errors.js';
import { idTime, newId } from '../../src/bus/ids.js';
import { assertName, isValidName, pairPipeName, parseAddress, parsePairPipeName, parseInboxPipeName } from '../../src/bus/names.js';
import type { Registry } from '../../src/bus/registry.js';
import { topLevelValues } from '../../src/bus/json-scan.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const BUS: Origin = { pipe: 'bus.pipe' };
const PAIR: Origin = { pipe: 'agents/dev-1-to-qa-1.pipe', from: 'dev-1', to: 'qa-1' };
const ORCH: Origin = { pipe: 'orchestrator.pipe', to: 'orchestrator' };

type Content = Exclude<Parsed, { kind: 'blank' }>;

function parse(line: string | Buffer): Parsed {
  return parseLine(typeof line === 'string' ? Buffer.from(line) : line);
}

function content(line: string): Content {
  const parsed = parse(line);
  assert.notEqual(parsed.kind, 'blank');
  return parsed as Content;
}

/** Asserts that `fn` throws an InvalidMessageError with this reason and exact message. */
function rejects(fn: () => unknown, reason: string, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidMessageError, `expected InvalidMessageError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseLine', () => {
  test('blank lines, whitespace-only lines and a lone CR are blank', () => {
    for (const line of ['', '   ', '\t', '\r', '  \r']) assert.deepEqual(parse(line), { kind: 'blank' });
  });

  test('a JSON object is an object; its raw text is kept (trimmed, CR removed)', () => {
    const raw = '{"to":"dev-1",  "body":{"n":1}}';
    assert.deepEqual(parse(`  ${raw}  \r`), { kind: 'object', value: { to: 'dev-1', body: { n: 1 } }, raw });
  });

  test('anything else is text, kept exactly (inner and trailing spaces, tabs, unicode)', () => {
    assert.deepEqual(parse('  hello\tworld  '), { kind: 'text', text: '  hello\tworld  ' });
    assert.deepEqual(parse('[1,2,3]'), { kind: 'text', text: '[1,2,3]' });
    assert.deepEqual(parse('"quoted"'), { kind: 'text', text: '"quoted"' });
    assert.deepEqual(parse('日本語 🎉\r'), { kind: 'text', text: '日本語 🎉' });
  });

  test('invalid JSON, non-objects, NUL bytes, bad UTF-8 and control characters are rejected with a reason', () => {
    rejects(() => parse('{not json}'), 'invalid_json', "Invalid JSON: Expected property name or '}' in JSON at position 1");
    rejects(() => parse('{"a":1'), 'invalid_json', "Invalid JSON: Expected ',' or '}' after property value in JSON at position 6");
    rejects(() => parse('{"a":1}}'), 'invalid_json', 'Invalid JSON: Unexpected non-whitespace character after JSON at position 7');
    rejects(() => parse(Buffer.from([0x68, 0x69, 0x00, 0x21])), 'nul_byte', 'Line contains a NUL byte');
    rejects(() => parse(Buffer.from('{"to":"a","body":"x\u0000"}'.replace('\\u0000', '\u0000'))), 'nul_byte', 'Line contains a NUL byte');
    rejects(() => parse(Buffer.from([0xff, 0xfe, 0x41, 0x80])), 'binary', 'Line is not valid UTF-8 text (binary data?)');
    rejects(() => parse(Buffer.from([0xc3])), 'binary', 'Line is not valid UTF-8 text (binary data?)');
    rejects(() => parse('\x1b[31mred\x1b[0m'), 'binary', 'Text line contains control characters (binary data?)');
    rejects(() => parse('bell\x07'), 'binary', 'Text line contains control characters (binary data?)');
    rejects(() => parse('a\rb'), 'binary', 'Text line contains control characters (binary data?)');
  });
});

describe('normalize', () => {
  test('a full envelope is kept byte for byte (not re-serialised)', () => {
    const raw = '{"body":{"z":1,"a":[1,2]},"type":"task","to":"qa-1","from":"dev-1","ts":"2025-01-02T03:04:05.678Z","id":"my-own-id-1","thread":"t-9","reply_to":"r-1"}';
    const result = normalize(content(raw), BUS, NOW);
    assert.equal(result.line, raw);
    assert.equal(result.warning, undefined);
    assert.deepEqual(result.envelope, {
      id: 'my-own-id-1',
      ts: '2025-01-02T03:04:05.678Z',
      from: 'dev-1',
      to: 'qa-1',
      type: 'task',
      body: { z: 1, a: [1, 2] },
      thread: 't-9',
      reply_to: 'r-1',
    });
    // On its own pair pipe the same envelope is kept as written too.
    assert.equal(normalize(content(raw), PAIR, NOW).line, raw);
  });

  test('a partial object is filled in: id, ts, type; from defaults to user on bus.pipe', () => {
    const { envelope, line } = normalize(content('{"to":"dev-1","body":"hi"}'), BUS, NOW);
    assert.match(envelope.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(idTime(envelope.id), NOW);
    assert.deepEqual({ ...envelope, id: 'X' }, { id: 'X', ts: '2025-03-01T12:00:00.000Z', from: 'user', to: 'dev-1', type: 'message', body: 'hi' });
    assert.equal(line, serialize(envelope));
    assert.deepEqual(JSON.parse(line), envelope);
  });

  test('null fields count as missing: filled in, and the journal line never keeps a null', () => {
    const raw = '{"id":null,"ts":null,"from":null,"to":"dev-1","type":null,"body":1,"thread":null,"reply_to":null}';
    const { envelope, line } = normalize(content(raw), BUS, NOW);
    assert.equal(envelope.from, 'user');
    assert.equal(envelope.type, 'message');
    assert.equal(envelope.ts, '2025-03-01T12:00:00.000Z');
    assert.match(envelope.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(line, serialize(envelope));
    assert.ok(!line.includes('null'), line);
  });

  test("a partial line's body is journaled as its writer wrote it, whatever the keys, escapes and spacing around it", () => {
    const bodyText = (line: string): string | undefined => topLevelValues(line).get('body');
    const cases = [
      '{"to":"a","body":1e999999}',
      '{"to":"a","body":{"body":1}}',
      '{"to":"a","bo\\u0064y":{"body":2}}',
      '{"body":1,"bo\\u0064y":2,"to":"a"}',
      '{"body":1,"to":"a","body":3}',
      '{"to":"a","body":"x" , "thread":"t"}',
      '{"to":"a","body" : "spaced" }',
      '{"to":"a","body":"an \\" escaped quote and \\"body\\":"}',
      '{"to":"a","body":[1,2] }',
      '{"from":"b","to":"a","body":   {"k":[{"body":{}}]}   }',
      '{"to":"a","body":-0}',
      '{"to":"a","type":"t:x","body":"\\ud800"}',
    ];
    // And a few hundred more: keys shuffled, spacing, escapes and a nested `body` now and then.
    for (let i = 0; i < 300; i++) {
      const pick = <T,>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
      const body = pick(['"plain"', '"esc\\n"', '12345678901234567890123456789012', '{"body":"inner"}', '[1,{"a":"b"}]', 'true', '"{\\"body\\":1}"']);
      const fields = [`"to":"a"`, `"body":${body}`, ...(Math.random() < 0.5 ? ['"thread":"t1"'] : []), ...(Math.random() < 0.3 ? ['"from":"x"'] : [])];
      fields.sort(() => Math.random() - 0.5);
      const sep = pick([',', ' , ', ',\t']);
      cases.push(`{${fields.join(sep)}${pick(['', ' ', '\t'])}}`);
    }
    for (const raw of cases) {
      const parsed = parseLine(Buffer.from(raw));
      assert.equal(parsed.kind, 'object', raw);
      const { line } = normalize(parsed as Exclude<Parsed, { kind: 'blank' }>, BUS);
      const expected = bodyText(raw);
      assert.equal(bodyText(line), expected, raw);
      assert.deepEqual(JSON.parse(line).body, JSON.parse(raw).body, raw);
    }
  });

  test('a missing body becomes null', () => {
    assert.equal(normalize(content('{"to":"dev-1","type":"ping"}'), BUS, NOW).envelope.body, null);
  });

  test('from / to come from the pipe where it knows them', () => {
    const pair = normalize(content('{"body":"x"}'), PAIR, NOW).envelope;
    assert.equal(pair.from, 'dev-1');
    assert.equal(pair.to, 'qa-1');
    const orch = normalize(content('{"from":"dev-2","body":"x"}'), ORCH, NOW).envelope;
    assert.equal(orch.from, 'dev-2');
    assert.equal(orch.to, 'orchestrator');
    // The pipe decides `to`: a line on orchestrator.pipe goes to the orchestrator whatever it says.
    const misaddressed = normalize(content('{"to":"dev-9","type":"message","body":"x"}'), ORCH, NOW);
    assert.equal(misaddressed.envelope.to, 'orchestrator');
    const bcast = normalize(content('{"from":"dev-2","body":"x"}'), { pipe: 'broadcast.pipe', to: '*' }, NOW).envelope;
    assert.equal(bcast.to, '*');
  });

  test('plain text is wrapped as type text', () => {
    const { envelope, line } = normalize(content('hello there'), PAIR, NOW);
    assert.deepEqual({ ...envelope, id: 'X' }, { id: 'X', ts: '2025-03-01T12:00:00.000Z', from: 'dev-1', to: 'qa-1', type: 'text', body: 'hello there' });
    assert.equal(line, serialize(envelope));
    // Text needs a pipe that says where it goes.
    rejects(() => normalize(content('hello'), BUS, NOW), 'missing_to', 'Missing `to`: say who the message is for');
  });

  test('an object without any envelope field is the body', () => {
    const { envelope } = normalize(content('{"task":"build","files":["a.ts"],"$x":1}'), ORCH, NOW);
    assert.equal(envelope.type, 'message');
    assert.equal(envelope.from, 'user');
    assert.equal(envelope.to, 'orchestrator');
    assert.deepEqual(envelope.body, { task: 'build', files: ['a.ts'], $x: 1 });
  });

  test('an unknown field next to envelope fields is rejected (and a writer may not set rcpt)', () => {
    rejects(
      () => normalize(content('{"to":"dev-1","body":"x","priority":"high"}'), BUS, NOW),
      'unknown_field',
      'Unknown envelope field `priority` (expected id, ts, from, to, type, body, thread, reply_to)',
    );
    rejects(
      () => normalize(content('{"to":"role:dev","body":"x","rcpt":"dev-1"}'), BUS, NOW),
      'unknown_field',
      'Unknown envelope field `rcpt` (expected id, ts, from, to, type, body, thread, reply_to)',
    );
  });

  test('invalid to / from / type / ts / id / thread are rejected with the exact error', () => {
    const bad = (line: string, reason: string, message: string, origin: Origin = BUS): void =>
      rejects(() => normalize(content(line), origin, NOW), reason, message);
    const toError = (shown: string) =>
      `Invalid to: expected an agent name, orchestrator, *, role:R, group:G or leader:G, got ${shown}`;
    bad('{"to":"../x","body":1}', 'invalid_to', toError('`../x`'));
    bad('{"to":"Dev","body":1}', 'invalid_to', toError('`Dev`'));
    bad('{"to":"team:x","body":1}', 'invalid_to', toError('`team:x`'));
    bad('{"to":"role:","body":1}', 'invalid_to', toError('`role:`'));
    bad('{"to":5,"body":1}', 'invalid_to', toError('`5`'));
    bad('{"to":"","body":1}', 'invalid_to', toError('``'));
    bad('{"body":1,"type":"x"}', 'missing_to', 'Missing `to`: say who the message is for');
    bad('{"to":"a","from":"*","body":1}', 'invalid_from', 'Invalid from: expected an agent name, got `*`');
    bad('{"to":"a","from":"../etc","body":1}', 'invalid_from', 'Invalid from: expected an agent name, got `../etc`');
    bad('{"to":"a","type":"has space","body":1}', 'invalid_type', 'Invalid type `has space`: expected a word like message, task or event');
    bad('{"to":"a","type":7,"body":1}', 'invalid_type', 'Invalid type `7`: expected a word like message, task or event');
    bad('{"to":"a","ts":"yesterday","body":1}', 'invalid_ts', 'Invalid ts `yesterday`: expected an ISO 8601 time');
    bad('{"to":"a","ts":"1","body":1}', 'invalid_ts', 'Invalid ts `1`: expected an ISO 8601 time');
    bad('{"to":"a","ts":"March 7, 2024","body":1}', 'invalid_ts', 'Invalid ts `March 7, 2024`: expected an ISO 8601 time');
    bad('{"to":"a","ts":"2024-13-01T00:00:00Z","body":1}', 'invalid_ts', 'Invalid ts `2024-13-01T00:00:00Z`: expected an ISO 8601 time');
    bad('{"to":"a","ts":1700000000000,"body":1}', 'invalid_ts', 'Invalid ts `1700000000000`: expected an ISO 8601 time');
    bad('{"to":"a","id":"has space","body":1}', 'invalid_id', 'Invalid id `has space`: expected 1-128 printable ASCII characters');
    bad('{"to":"a","id":"","body":1}', 'invalid_id', 'Invalid id ``: expected 1-128 printable ASCII characters');
    bad(`{"to":"a","thread":"${'t'.repeat(129)}","body":1}`, 'invalid_thread', `Invalid thread \`${'t'.repeat(77)}...\`: expected 1-128 printable ASCII characters`);
    bad('{"to":"a","reply_to":{},"body":1}', 'invalid_reply_to', 'Invalid reply_to `{}`: expected 1-128 printable ASCII characters');
  });

  test('ISO 8601 times with offsets and fractions are accepted', () => {
    for (const ts of ['2025-01-02T03:04:05Z', '2025-01-02T03:04:05.123Z', '2025-01-02T05:04:05+02:00', '2025-01-02T03:04Z']) {
      assert.equal(normalize(content(JSON.stringify({ to: 'a', ts, body: 1 })), BUS, NOW).envelope.ts, ts);
    }
  });

  test('a forged from on a pair pipe: the pipe name wins, with a warning, and the line is re-serialised', () => {
    const raw = '{"id":"x1","ts":"2025-01-02T03:04:05.678Z","from":"boss","to":"qa-1","type":"message","body":"do it"}';
    const result = normalize(content(raw), PAIR, NOW);
    assert.equal(result.envelope.from, 'dev-1');
    assert.equal(result.warning, "forged from `boss` on agents/dev-1-to-qa-1.pipe: the pipe's name wins, from is `dev-1`");
    assert.notEqual(result.line, raw);
    assert.deepEqual(JSON.parse(result.line), { ...JSON.parse(raw), from: 'dev-1' });
    // The sender's own name is no forgery.
    assert.equal(normalize(content('{"from":"dev-1","body":"x"}'), PAIR, NOW).warning, undefined);
    // An invalid forged from is overridden too (the pipe knows better).
    const odd = normalize(content('{"from":"../../root","body":"x"}'), PAIR, NOW);
    assert.equal(odd.envelope.from, 'dev-1');
    assert.equal(odd.warning, "forged from `../../root` on agents/dev-1-to-qa-1.pipe: the pipe's name wins, from is `dev-1`");
  });

  test('createEnvelope stamps a complete envelope and validates it', () => {
    const e = createEnvelope({ from: 'dev-1', to: 'group:web', body: { a: 1 }, thread: 'th' }, NOW);
    assert.deepEqual({ ...e, id: 'X' }, { id: 'X', ts: '2025-03-01T12:00:00.000Z', from: 'dev-1', to: 'group:web', type: 'message', body: { a: 1 }, thread: 'th' });
    assert.throws(() => createEnvelope({ from: 'dev-1', to: '../x', body: 1 }), InvalidMessageError);
  });
});

describe('names', () => {
  test('valid and invalid agent names', () => {
    for (const ok of ['a', '0', 'dev-1', 'qa.2', 'a_b', 'x'.repeat(64), 'orchestrator']) assert.ok(isValidName(ok), ok);
    for (const bad of ['', '.', '..', '../x', 'a/b', 'Dev', 'DEV', '-a', '.hidden', '_a', 'x'.repeat(65), 'a b', 'a:b', 'é', '*', 5, null, undefined]) {
      assert.ok(!isValidName(bad), String(bad));
    }
  });

  test('assertName says what was expected and what was found', () => {
    assert.throws(() => assertName('../x'), (e: unknown) => {
      assert.ok(e instanceof InvalidNameError);
      assert.equal(e.message, 'Expected agent name to match [a-z0-9][a-z0-9._-]{0,63}, got `../x`');
      assert.equal(e.exitCode, 2);
      return true;
    });
    assert.throws(() => assertName('x'.repeat(65), 'role'), { message: `Expected role to match [a-z0-9][a-z0-9._-]{0,63}, got \`${'x'.repeat(65)}\`` });
    assert.throws(() => assertName('Upper'), { message: 'Expected agent name to match [a-z0-9][a-z0-9._-]{0,63}, got `Upper`' });
  });

  test('pair pipe names: both ends read back, ambiguous names refused', () => {
    assert.equal(pairPipeName('dev-1', 'qa-1'), 'dev-1-to-qa-1.pipe');
    assert.deepEqual(parsePairPipeName('dev-1-to-qa-1.pipe'), { from: 'dev-1', to: 'qa-1' });
    assert.deepEqual(parsePairPipeName('a-to-orchestrator.pipe'), { from: 'a', to: 'orchestrator' });
    // `a-to-b` → `c` would read back as a → b-to-c too.
    assert.throws(() => pairPipeName('a-to-b', 'c'), {
      name: 'InvalidNameError',
      message: 'A pair pipe for `a-to-b` → `c` would be ambiguous: neither name may contain `-to-`',
    });
    assert.throws(() => pairPipeName('a', 'b-to-c'), { name: 'InvalidNameError' });
    assert.equal(parsePairPipeName('a-to-b-to-c.pipe'), undefined);
    assert.throws(() => pairPipeName('../x', 'b'), { message: 'Expected sender name to match [a-z0-9][a-z0-9._-]{0,63}, got `../x`' });
    assert.throws(() => pairPipeName('a', 'B'), { message: 'Expected receiver name to match [a-z0-9][a-z0-9._-]{0,63}, got `B`' });
    for (const stray of ['a-to-b', 'a-to-b.pipe.tmp', 'ab.pipe', '-to-b.pipe', 'a-to-.pipe', 'A-to-b.pipe', '.a-to-b.pipe']) {
      assert.equal(parsePairPipeName(stray), undefined, stray);
    }
    assert.equal(parseInboxPipeName('dev-1.pipe'), 'dev-1');
    assert.equal(parseInboxPipeName('../x.pipe'), undefined);
    assert.equal(parseInboxPipeName('dev-1'), undefined);
  });

  test('addresses: agent, *, role:, group:, leader:', () => {
    assert.deepEqual(parseAddress('dev-1'), { kind: 'agent', name: 'dev-1' });
    assert.deepEqual(parseAddress('orchestrator'), { kind: 'agent', name: 'orchestrator' });
    assert.deepEqual(parseAddress('*'), { kind: 'broadcast' });
    assert.deepEqual(parseAddress('role:dev'), { kind: 'role', name: 'dev' });
    assert.deepEqual(parseAddress('group:web'), { kind: 'group', name: 'web' });
    assert.deepEqual(parseAddress('leader:web'), { kind: 'leader', name: 'web' });
    for (const bad of ['role:', 'role:Dev', 'group:../x', 'team:x', 'role:a:b', '**', ':x', '', 'Dev', 42]) {
      assert.throws(() => parseAddress(bad), InvalidAddressError, String(bad));
    }
    assert.throws(() => parseAddress('team:x'), {
      message: 'Expected an address (an agent name, `orchestrator`, `*`, `role:R`, `group:G` or `leader:G`), got `team:x`',
    });
  });

  test('address book: who a message is for', () => {
    const registry: Registry = {
      agents: {
        'dev-1': { name: 'dev-1', role: 'dev', deliver: 'inbox', registered: '' },
        'dev-2': { name: 'dev-2', role: 'dev', deliver: 'both', tmux: '%1', registered: '' },
        'dev-3': { name: 'dev-3', role: 'dev', deliver: 'inbox', registered: '', status: 'failed' },
        'qa-1': { name: 'qa-1', role: 'qa', deliver: 'none', registered: '' },
      },
      groups: { web: { leader: 'dev-1', members: ['dev-1', 'dev-2', 'qa-1', 'gone'] }, empty: { members: [] } },
    };
    const book = new AddressBook(registry);
    const to = (address: string, from = 'user', rcpt?: string) =>
      book.recipients({ id: 'i', ts: '', from, to: address, type: 'message', body: null, ...(rcpt ? { rcpt } : {}) });
    assert.deepEqual(to('dev-1'), { agents: ['dev-1'] });
    assert.deepEqual(to('nobody'), { agents: [], unknown: 'nobody' });
    assert.deepEqual(to('*', 'dev-1').agents.sort(), ['dev-2', 'dev-3', 'qa-1']);
    assert.deepEqual(to('group:web', 'dev-2'), { agents: ['dev-1', 'qa-1'] });
    assert.deepEqual(to('group:nope'), { agents: [], unknown: 'group:nope' });
    assert.deepEqual(to('leader:web'), { agents: ['dev-1'] });
    assert.deepEqual(to('leader:empty'), { agents: [], unknown: 'leader:empty' });
    // A role is resolved when accepted (rcpt); without a choice it is unknown.
    assert.deepEqual(to('role:dev', 'user', 'dev-2'), { agents: ['dev-2'] });
    assert.deepEqual(to('role:dev'), { agents: [], unknown: 'role:dev' });
    // Round robin over live agents of the role, skipping failed ones.
    const positions = new Map<string, number>();
    const turns = { next: (role: string, candidates: readonly string[]) => {
      const turn = positions.get(role) ?? 0;
      positions.set(role, turn + 1);
      return candidates[turn % candidates.length];
    } };
    assert.deepEqual([1, 2, 3, 4].map(() => book.chooseForRole('dev', turns)), ['dev-1', 'dev-2', 'dev-1', 'dev-2']);
    assert.equal(book.chooseForRole('ops', turns), undefined);
    assert.deepEqual(book.consumersOf('dev-1'), ['inbox:dev-1']);
    assert.deepEqual(book.consumersOf('dev-2'), ['inbox:dev-2', 'tmux:dev-2']);
    assert.deepEqual(book.consumersOf('qa-1'), []);

    // Other machines' groups (the bridge's remote_groups): members of both; this machine's leader first, else theirs.
    book.update({ ...registry, remote_groups: { web: { leader: 'dev-3', members: ['dev-3', 'dev-1'] }, ops: { leader: 'dev-3', members: ['dev-3'] } } });
    assert.deepEqual(to('group:web', 'dev-2'), { agents: ['dev-1', 'qa-1', 'dev-3'] }, 'each member once');
    assert.deepEqual(to('leader:web'), { agents: ['dev-1'] }, "this machine's leader");
    assert.deepEqual(to('group:ops'), { agents: ['dev-3'] }, 'a group only another machine defines');
    assert.deepEqual(to('leader:ops'), { agents: ['dev-3'] });
  });
});

describe('ids', () => {
  test('unique across many ids, and sortable by the time they were made', () => {
    const ids: string[] = [];
    const t0 = Date.parse('2025-01-01T00:00:00Z');
    for (let i = 0; i < 20_000; i++) ids.push(newId(t0 + Math.floor(i / 100)));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    for (const id of ids) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(idTime(ids[0]!), t0);
    assert.equal(idTime(ids.at(-1)!), t0 + 199);
    // Ids of a later millisecond sort after, whatever the counter did.
    assert.ok(newId(t0 + 1000) > newId(t0 + 999));
    assert.equal(idTime('not-an-id'), undefined);
  });

  test('ids made in real time (no explicit clock) increase', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });
});
