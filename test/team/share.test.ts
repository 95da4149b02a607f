import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Envelope } from '../../src/bus/envelope.js';
import { Layout } from '../../src/bus/layout.js';
import { readJournal } from '../../src/journal/reader.js';
import type { KnowledgeRecord } from '../../src/team/knowledge.js';
import { cli, tempDir } from '../helpers/bus.js';
import { TestTmux } from '../helpers/tmux.js';

const FIXTURE = `
name: share-fixture
defaults:
  command: cat
projects:
  beta: { tags: [db] }
sessions:
  - name: sh-alpha
    project: alpha
    epic: e1
    tags: [webrtc, frontend]
    windows:
      - { name: dev, type: dev }
      - { name: qa, type: qa }
  - name: sh-beta
    project: beta
    epic: e2
    tags: [backend]
    windows:
      - { name: dev, type: dev }
  - name: sh-support
    windows:
      - { name: monitor, type: monitor }
`;

describe('share and knowledge', () => {
  const tmux = new TestTmux();
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'bus');
  const file = path.join(tmp.dir, 'team.yaml');
  const base = ['--dir', root, '--tmux-socket', tmux.socket];
  const layout = new Layout(root);

  before(async () => {
    tmux.start();
    fs.writeFileSync(file, FIXTURE);
    // No router: `send` appends to the journal itself, where the test reads what was sent.
    const up = await cli(['up', file, '--no-router', ...base]);
    assert.equal(up.code, 0, up.stderr);
  });
  after(() => {
    tmux.kill();
    tmp.cleanup();
  });

  /** The `knowledge` messages in the journal: [from, to, text]. */
  const sent = (): Array<[string, string, string]> =>
    readJournal(layout.journalDir, 0, 64 * 1024 * 1024)
      .lines.map((l) => JSON.parse(l.line) as Envelope)
      .filter((e) => e.type === 'knowledge')
      .map((e) => [e.from, e.to, (e.body as KnowledgeRecord).text]);

  it('records the pattern and sends it to every agent of the sessions whose tags match, not to the sharer', async () => {
    const result = await cli(['share', 'Use TURN over TCP behind the proxy', '--tags', 'WebRTC', '--from', 'dev-alpha-e1-1', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^recorded \S+ \[webrtc\]\nsent to 1 agents in sh-alpha: qa-alpha-e1-1\n$/);
    assert.deepEqual(sent(), [['dev-alpha-e1-1', 'qa-alpha-e1-1', 'Use TURN over TCP behind the proxy']]);
  });

  it("matches a project's tags from the projects section, and every session of --project", async () => {
    const byProjectTag = await cli(['share', 'Index user_id', '--tags', 'db', '--json', ...base]);
    assert.equal(byProjectTag.code, 0, byProjectTag.stderr);
    const out = JSON.parse(byProjectTag.stdout) as { recipients: string[]; record: KnowledgeRecord };
    assert.deepEqual(out.recipients, ['dev-beta-e2-1']);
    assert.equal(out.record.source, 'user');

    const byProject = await cli(['share', 'Staging is down until 3pm', '--project', 'alpha', '--tags', 'ops', ...base]);
    assert.equal(byProject.code, 0, byProject.stderr);
    const several = await cli(['share', 'Pin node 20', '--tags', 'frontend,backend', ...base]);
    assert.equal(several.code, 0, several.stderr);
    assert.deepEqual(sent().slice(1), [
      ['user', 'dev-beta-e2-1', 'Index user_id'],
      ['user', 'dev-alpha-e1-1', 'Staging is down until 3pm'],
      ['user', 'qa-alpha-e1-1', 'Staging is down until 3pm'],
      ['user', 'dev-alpha-e1-1', 'Pin node 20'],
      ['user', 'qa-alpha-e1-1', 'Pin node 20'],
      ['user', 'dev-beta-e2-1', 'Pin node 20'],
    ]);
  });

  it('records knowledge no session matches, and refuses a share without tags or project', async () => {
    const nobody = await cli(['share', 'Nobody cares', '--tags', 'cobol', ...base]);
    assert.equal(nobody.code, 0, nobody.stderr);
    assert.match(nobody.stdout, /recorded only/);
    assert.equal(sent().length, 7);
    const bare = await cli(['share', 'no tags', ...base]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /--tags/);
    const badTag = await cli(['share', 'x', '--tags', 'Not A Tag!', ...base]);
    assert.equal(badTag.code, 2);
  });

  it('knowledge lists the records, by tag and by project', async () => {
    const all = JSON.parse((await cli(['knowledge', '--json', ...base])).stdout) as KnowledgeRecord[];
    assert.deepEqual(all.map((r) => r.text), ['Use TURN over TCP behind the proxy', 'Index user_id', 'Staging is down until 3pm', 'Pin node 20', 'Nobody cares']);
    const webrtc = JSON.parse((await cli(['knowledge', '--tag', 'webrtc', '--json', ...base])).stdout) as KnowledgeRecord[];
    assert.deepEqual(webrtc.map((r) => r.source), ['dev-alpha-e1-1']);
    // Records without a project are for every project.
    const beta = JSON.parse((await cli(['knowledge', '--project', 'beta', '--json', ...base])).stdout) as KnowledgeRecord[];
    assert.deepEqual(beta.map((r) => r.text), ['Use TURN over TCP behind the proxy', 'Index user_id', 'Pin node 20', 'Nobody cares']);
    const text = await cli(['knowledge', ...base]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^TIME +FROM +PROJECT +TAGS +TEXT\n/);
    assert.match(text.stdout, /user +alpha +ops +Staging is down until 3pm/);
  });
});
