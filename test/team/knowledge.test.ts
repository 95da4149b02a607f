import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { decodeJournalLine } from '../../src/bus/envelope.js';
import { InvalidAddressError, InvalidNameError, UsageError } from '../../src/bus/errors.js';
import type { Layout } from '../../src/bus/layout.js';
import { addAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { readJournal } from '../../src/journal/reader.js';
import { listKnowledge, recordKnowledge, shareKnowledge } from '../../src/team/knowledge.js';
import { tempRoot } from '../helpers/bus.js';

describe('knowledge', () => {
  let root: { root: string; cleanup: () => void };
  let layout: Layout;
  before(async () => {
    root = tempRoot();
    layout = initRoot(root.root);
    await addAgent(layout, { name: 'sm-webrtc', role: 'scrum-master' });
    await addAgent(layout, { name: 'sm-voice', role: 'scrum-master' });
  });
  after(() => root.cleanup());

  test('records are durable NDJSON lines, listed by tag and project', () => {
    const a = recordKnowledge(layout, { text: ' TURN over TCP works behind the proxy ', tags: ['WebRTC', 'network,proxy', 'webrtc'], project: 'webrtc', from: 'dev-1' });
    const b = recordKnowledge(layout, { text: 'Run the flaky suite twice', tags: ['tests'], from: 'qa-1' });
    const c = recordKnowledge(layout, { text: 'Voice codec is opus', tags: ['audio', 'webrtc'], project: 'voice', from: 'dev-2' });
    assert.equal(a.text, 'TURN over TCP works behind the proxy');
    assert.deepEqual(a.tags, ['webrtc', 'network', 'proxy']);
    assert.equal(a.source, 'dev-1');
    assert.match(a.id, /^[0-9A-Z]{26}$/);
    assert.ok(Date.parse(a.ts) > 0);
    assert.equal((fs.statSync(layout.knowledgeFile).mode & 0o777), 0o600);
    const lines = fs.readFileSync(layout.knowledgeFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines, [a, b, c]);

    assert.deepEqual(listKnowledge(layout).map((r) => r.id), [a.id, b.id, c.id]);
    assert.deepEqual(listKnowledge(layout, { tag: 'WEBRTC' }).map((r) => r.id), [a.id, c.id]);
    assert.deepEqual(listKnowledge(layout, { project: 'voice' }).map((r) => r.id), [b.id, c.id], 'records without a project are for every project');
    assert.deepEqual(listKnowledge(layout, { tag: 'webrtc', project: 'voice' }).map((r) => r.id), [c.id]);
    assert.deepEqual(listKnowledge(layout, { tag: 'nothing' }), []);
  });

  test('a torn last line is skipped; bad input is refused', () => {
    fs.appendFileSync(layout.knowledgeFile, '{"id":"torn","text":"half');
    assert.equal(listKnowledge(layout).length, 3);
    fs.appendFileSync(layout.knowledgeFile, '\n');
    assert.throws(() => recordKnowledge(layout, { text: '   ' }), UsageError);
    assert.throws(() => recordKnowledge(layout, { text: 'x', tags: ['no spaces allowed'] }), InvalidNameError);
    assert.throws(() => recordKnowledge(layout, { text: 'x', project: '../etc' }), InvalidNameError);
  });

  test('shareKnowledge records, then sends a `knowledge` message to each recipient', async () => {
    const { record, messages } = await shareKnowledge(layout, { text: 'Use the staging TURN server', tags: ['webrtc'], from: 'dev-1' }, ['sm-webrtc', 'sm-voice', 'sm-webrtc', 'role:qa']);
    assert.equal(messages.length, 3, 'duplicate recipients get one message');
    assert.ok(listKnowledge(layout, { tag: 'webrtc' }).some((r) => r.id === record.id));
    const journal = readJournal(layout.journalDir, 0).lines.map((l) => decodeJournalLine(l.line)).filter((m) => m.type === 'knowledge');
    assert.deepEqual(journal.map((m) => m.to), ['sm-webrtc', 'sm-voice', 'role:qa']);
    for (const m of journal) {
      assert.equal(m.from, 'dev-1');
      assert.deepEqual(m.body, record);
    }
    await assert.rejects(shareKnowledge(layout, { text: 'x', from: 'dev-1' }, ['not a name']), InvalidAddressError);
    const none = await shareKnowledge(layout, { text: 'nobody to tell', from: 'dev-1' }, []);
    assert.deepEqual(none.messages, []);
  });
});
