import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeReportedState } from '../../src/agents/agent-state-store.js';
import { Layout } from '../../src/bus/layout.js';
import { setGroups } from '../../src/bus/registry.js';
import { cli, startRouter, tempRoot, waitFor, type RunningRouter } from '../helpers/bus.js';
import { alive, journal, startMcp, waitGone, type McpSession } from './mcp-helpers.js';

const TOOLS = [
  'ack', 'bus_status', 'list_agents', 'read_inbox', 'search_knowledge', 'send_message', 'share_knowledge',
  'task_add', 'task_claim', 'task_done', 'task_fail', 'task_list',
];

/** With a router, a sent message is accepted into its pipe and journaled a moment later: wait for that. */
async function journaled(root: string, ids: string[]): Promise<void> {
  await waitFor(() => {
    const seen = new Set(journal(root).map((e) => e.id));
    return ids.every((id) => seen.has(id));
  }, 10_000, `${ids.length} messages in the journal`);
}

async function newBus(): Promise<{ root: string; cleanup: () => void }> {
  const { root, cleanup } = tempRoot();
  assert.equal((await cli(['--dir', root, 'init'])).code, 0);
  for (const [name, role] of [['dev-1', 'dev'], ['dev-2', 'dev'], ['qa-1', 'qa']] as const) {
    const added = await cli(['--dir', root, 'agents', 'add', name, '--role', role, '--deliver', 'none']);
    assert.equal(added.code, 0, added.stderr);
  }
  await setGroups(new Layout(root), { web: { leader: 'qa-1', members: ['dev-1', 'qa-1'] } });
  return { root, cleanup };
}

// The messaging cases run twice: with no router (send appends to the journal itself) and with one.
for (const withRouter of [false, true]) {
  describe(`bmad-bus mcp, ${withRouter ? 'with' : 'without'} a router`, () => {
    let root: string;
    let cleanup: () => void;
    let router: RunningRouter | undefined;
    let dev1: McpSession;
    let dev2: McpSession;
    let qa1: McpSession;

    before(async () => {
      ({ root, cleanup } = await newBus());
      if (withRouter) router = await startRouter(root);
      [dev1, dev2, qa1] = await Promise.all([startMcp(root, 'dev-1'), startMcp(root, 'dev-2'), startMcp(root, 'qa-1')]);
    });
    after(async () => {
      await Promise.all([dev1?.close(), dev2?.close(), qa1?.close()]);
      await router?.stop();
      cleanup();
    });

    it('lists every tool with a description and a JSON schema', async () => {
      const { tools } = await dev1.client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      for (const tool of tools) {
        assert.ok((tool.description ?? '').length > 40, `${tool.name} has a description`);
        assert.equal(tool.inputSchema.type, 'object');
        assert.equal((tool.inputSchema as { additionalProperties?: unknown }).additionalProperties, false, `${tool.name} refuses unknown fields`);
      }
      const send = tools.find((t) => t.name === 'send_message')!;
      assert.deepEqual((send.inputSchema as { required?: string[] }).required?.sort(), ['body', 'to']);
    });

    it('two agents talk only through MCP: send, wait for it, answer, ack', async () => {
      const waiting = dev2.call('read_inbox', { wait_seconds: 20 });
      await new Promise((r) => setTimeout(r, 300)); // dev-2 is waiting before dev-1 sends
      const sent = await dev1.call('send_message', { to: 'dev-2', body: 'can you review #12?', thread: 'review-12' });
      assert.match(sent.id, /^[0-9A-Z]{26}$/);
      const got = await waiting;
      assert.equal(got.messages.length, 1);
      assert.deepEqual(
        { id: got.messages[0].id, from: got.messages[0].from, to: got.messages[0].to, body: got.messages[0].body, thread: got.messages[0].thread },
        { id: sent.id, from: 'dev-1', to: 'dev-2', body: 'can you review #12?', thread: 'review-12' },
      );
      assert.equal(got.acknowledged, false);
      const answer = await dev2.call('send_message', { to: 'dev-1', body: { verdict: 'approved' }, type: 'result', reply_to: sent.id, thread: 'review-12' });
      assert.deepEqual(await dev2.call('ack', { ids: [sent.id] }), { acknowledged: [sent.id], unknown: [] });
      assert.deepEqual((await dev2.call('read_inbox', {})).messages, [], 'acknowledged: not read again');
      const back = await dev1.call('read_inbox', { wait_seconds: 10, ack: true });
      assert.equal(back.acknowledged, true);
      assert.deepEqual(back.messages.map((m: { id: string; body: unknown; reply_to: string; type: string }) => [m.id, m.body, m.reply_to, m.type]), [[answer.id, { verdict: 'approved' }, sent.id, 'result']]);
      assert.deepEqual((await dev1.call('read_inbox', {})).messages, []);
      // On the bus with the right sender, as the rest of the bus sees it.
      const journaled = journal(root).filter((e) => e.id === sent.id || e.id === answer.id);
      assert.deepEqual(journaled.map((e) => [e.from, e.to]), [['dev-1', 'dev-2'], ['dev-2', 'dev-1']]);
    });

    it('send_message takes every address form', async () => {
      const ids: Record<string, string> = {};
      for (const to of ['role:qa', 'group:web', 'leader:web', '*', 'orchestrator']) ids[to] = (await qa1.call('send_message', { to, body: `to ${to}` })).id;
      await journaled(root, Object.values(ids));
      // role:qa has one agent (qa-1, the sender itself); group:web is dev-1 and qa-1, the sender left out;
      // leader:web is qa-1; * is everyone but the sender.
      const dev1Got = (await dev1.call('read_inbox', { ack: true })).messages.map((m: { body: string }) => m.body);
      assert.deepEqual(dev1Got, ['to group:web', 'to *']);
      const dev2Got = (await dev2.call('read_inbox', { ack: true })).messages.map((m: { body: string }) => m.body);
      assert.deepEqual(dev2Got, ['to *']);
      const qaGot = (await qa1.call('read_inbox', { ack: true })).messages.map((m: { body: string }) => m.body);
      assert.deepEqual(qaGot, ['to role:qa', 'to leader:web']);
      const toOrchestrator = journal(root).find((e) => e.id === ids.orchestrator);
      assert.equal(toOrchestrator?.to, 'orchestrator');
      assert.equal(toOrchestrator?.from, 'qa-1');
      const unknown = await qa1.call('send_message', { to: 'nobody', body: 'hello?' });
      assert.match(unknown.warning, /no agent named nobody/);
    });

    it('max, more, long messages, and acknowledging out of order', async () => {
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push((await dev1.call('send_message', { to: 'dev-2', body: `m${i}` })).id);
      await journaled(root, sent);
      const first = await dev2.call('read_inbox', { max: 2 });
      assert.deepEqual(first.messages.map((m: { id: string }) => m.id), sent.slice(0, 2));
      assert.equal(first.more, true);
      // Not acknowledged: the same two again.
      assert.deepEqual((await dev2.call('read_inbox', { max: 2 })).messages.map((m: { id: string }) => m.id), sent.slice(0, 2));
      // The second acknowledged first: it is not returned again, the first still is.
      assert.deepEqual(await dev2.call('ack', { ids: [sent[1], 'no-such-id'] }), { acknowledged: [sent[1]], unknown: ['no-such-id'] });
      assert.deepEqual((await dev2.call('read_inbox', { max: 3 })).messages.map((m: { id: string }) => m.id), [sent[0], sent[2], sent[3]]);
      await dev2.call('ack', { ids: [sent[0], sent[2], sent[3]] });
      const rest = await dev2.call('read_inbox', { max: 10, ack: true });
      assert.deepEqual(rest.messages.map((m: { id: string }) => m.id), [sent[4]]);
      assert.equal(rest.more, false);
      assert.deepEqual((await dev2.call('read_inbox', {})).messages, []);
      // Long messages: a read stops at about 200,000 characters of bodies (the first always comes).
      const long = (i: number): string => `${i}`.repeat(90_000);
      const longIds: string[] = [];
      for (let i = 0; i < 3; i++) longIds.push((await dev1.call('send_message', { to: 'dev-2', body: long(i) })).id);
      await journaled(root, longIds);
      const firstTwo = await dev2.call('read_inbox', { ack: true });
      assert.deepEqual(firstTwo.messages.map((m: { id: string; body: string }) => [m.id, m.body.length]), [[longIds[0], 90_000], [longIds[1], 90_000]]);
      assert.equal(firstTwo.more, true);
      const third = await dev2.call('read_inbox', { ack: true });
      assert.deepEqual(third.messages.map((m: { id: string; body: string }) => [m.id, m.body]), [[longIds[2], long(2)]]);
      // The position is the one `bmad-bus read` keeps: nothing left for it either.
      const read = await cli(['--dir', root, 'read', 'dev-2', '--json']);
      assert.equal(read.stdout, '');
    });
  });
}

describe('bmad-bus mcp: a crash between read_inbox and ack', () => {
  let root: string;
  let cleanup: () => void;
  before(async () => ({ root, cleanup } = await newBus()));
  after(() => cleanup());

  it('delivers the message again to the next server, until it is acknowledged', async () => {
    const sender = await startMcp(root, 'dev-1');
    const { id } = await sender.call('send_message', { to: 'qa-1', body: 'deploy when green' });
    await sender.close();

    const first = await startMcp(root, 'qa-1');
    assert.deepEqual((await first.call('read_inbox', {})).messages.map((m: { id: string }) => m.id), [id]);
    process.kill(first.pid, 'SIGKILL'); // before the ack
    await waitGone(first.pid);
    await first.client.close().catch(() => undefined);

    const second = await startMcp(root, 'qa-1');
    const again = await second.call('read_inbox', {});
    assert.deepEqual(again.messages.map((m: { id: string; body: string }) => [m.id, m.body]), [[id, 'deploy when green']]);
    await second.call('ack', { ids: [id] });
    await second.close();

    const third = await startMcp(root, 'qa-1');
    assert.deepEqual((await third.call('read_inbox', {})).messages, [], 'acknowledged before the restart: not again');
    await third.close();
  });

  it('an ack sent to a restarted server still counts (ids read from the previous one)', async () => {
    const sender = await startMcp(root, 'dev-1');
    const { id } = await sender.call('send_message', { to: 'qa-1', body: 'again' });
    await sender.close();
    const reader = await startMcp(root, 'qa-1');
    assert.deepEqual((await reader.call('read_inbox', {})).messages.map((m: { id: string }) => m.id), [id]);
    await reader.close();
    const acker = await startMcp(root, 'qa-1');
    assert.deepEqual(await acker.call('ack', { ids: [id] }), { acknowledged: [id], unknown: [] });
    assert.deepEqual((await acker.call('read_inbox', {})).messages, []);
    await acker.close();
  });
});

describe('bmad-bus mcp: bad arguments', () => {
  let root: string;
  let cleanup: () => void;
  let dev1: McpSession;
  before(async () => {
    ({ root, cleanup } = await newBus());
    dev1 = await startMcp(root, 'dev-1');
  });
  after(async () => {
    await dev1?.close();
    cleanup();
  });

  it('answers each with an error naming the field, and keeps serving', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['send_message', { body: 'x' }, /\bto\b/],
      ['send_message', { to: 5, body: 'x' }, /\bto\b/],
      ['send_message', { to: 'dev-2' }, /\bbody\b/],
      ['send_message', { to: 'role:', body: 'x' }, /^to: /],
      ['send_message', { to: '../etc', body: 'x' }, /^to: /],
      ['send_message', { to: 'dev-2', body: 'x', type: 'not a type!' }, /^type: /],
      ['send_message', { to: 'dev-2', body: 'x', thread: '' }, /^thread: /],
      ['send_message', { to: 'dev-2', body: 'x', colour: 'red' }, /colour/],
      ['read_inbox', { max: 0 }, /\bmax\b/],
      ['read_inbox', { max: 'ten' }, /\bmax\b/],
      ['read_inbox', { wait_seconds: 3600 }, /\bwait_seconds\b/],
      ['read_inbox', { ack: 'yes' }, /\back\b/],
      ['ack', {}, /\bids\b/],
      ['ack', { ids: 'x' }, /\bids\b/],
      ['task_add', { title: '' }, /\btitle\b/],
      ['task_add', { title: 'x', priority: 'urgent' }, /\bpriority\b/],
      ['task_add', { title: 'x', role: 'Not A Role' }, /\brole\b/],
      ['task_add', { title: 'x', after: ['t99'] }, /t99/],
      ['task_done', { id: 'bad id!' }, /\bid\b/],
      ['task_done', { id: 't404' }, /t404/],
      ['task_claim', { id: 7 }, /\bid\b/],
      ['task_list', { status: 'sleeping' }, /\bstatus\b/],
      ['share_knowledge', { text: 'x', tags: ['Bad Tag'] }, /tag/],
      ['search_knowledge', { max: -1 }, /\bmax\b/],
      ['no_such_tool', {}, /no_such_tool/],
    ];
    for (const [tool, args, pattern] of cases) {
      const error = await dev1.fail(tool, args);
      assert.match(error, pattern, `${tool} ${JSON.stringify(args)}: ${error}`);
    }
    assert.ok(alive(dev1.pid), 'the server is still running');
    const status = await dev1.call('bus_status');
    assert.equal(status.you, 'dev-1');
    assert.equal(journal(root).length, 0, 'no bad call sent anything');
  });
});

describe('bmad-bus mcp: agents, status, tasks and knowledge', () => {
  let root: string;
  let cleanup: () => void;
  let dev1: McpSession;
  let qa1: McpSession;
  before(async () => {
    ({ root, cleanup } = await newBus());
    [dev1, qa1] = await Promise.all([startMcp(root, 'dev-1'), startMcp(root, 'qa-1')]);
  });
  after(async () => {
    await Promise.all([dev1?.close(), qa1?.close()]);
    cleanup();
  });

  it('list_agents gives each agent its role and state; bus_status the router and the queue', async () => {
    writeReportedState(new Layout(root), 'dev-2', { state: 'busy', at: new Date(Date.now() + 1000).toISOString(), event: 'UserPromptSubmit', cli: 'claude' });
    const { you, agents } = await dev1.call('list_agents');
    assert.equal(you, 'dev-1');
    const byName = Object.fromEntries(agents.map((a: { name: string }) => [a.name, a]));
    assert.deepEqual(Object.keys(byName).sort(), ['dev-1', 'dev-2', 'orchestrator', 'qa-1']);
    assert.equal(byName['dev-2'].role, 'dev');
    assert.equal(byName['dev-2'].state, 'busy');
    assert.equal(byName['qa-1'].role, 'qa');
    assert.equal(byName['dev-1'].you, true);
    const status = await dev1.call('bus_status');
    assert.equal(status.router.running, false);
    assert.equal(status.registered, true);
    assert.equal(status.agents, 4);
    assert.equal(status.unread, 0);
  });

  it('task_add, task_list, task_claim, task_done and task_fail work the queue', async () => {
    const a = (await dev1.call('task_add', { title: 'Test the login fix', role: 'qa', priority: 'high' })).task;
    const b = (await dev1.call('task_add', { title: 'Release', role: 'qa', after: [a.id] })).task;
    const c = (await dev1.call('task_add', { title: 'Flaky check', to: 'qa-1', priority: 'low' })).task;
    assert.deepEqual([a.status, b.status], ['pending', 'pending']);
    assert.deepEqual((await qa1.call('task_list', { status: 'ready' })).tasks.map((t: { id: string }) => t.id), [a.id, c.id]);
    // dev-1 is not of role qa: nothing for it.
    assert.deepEqual(await dev1.call('task_claim'), { task: null, note: 'no ready task is for you now' });
    assert.match(await dev1.fail('task_claim', { id: a.id }), /not for dev-1.*role qa/);
    // qa-1 takes the next one for it: the high-priority one first.
    const claimed = await qa1.call('task_claim');
    assert.equal(claimed.task.id, a.id);
    assert.equal(claimed.task.status, 'assigned');
    assert.equal(claimed.task.assignee, 'qa-1');
    assert.equal((await qa1.call('task_claim', { id: a.id })).changed, false, 'claiming your own task again changes nothing');
    assert.match(await qa1.fail('task_claim', { id: b.id }), new RegExp(`waits on ${a.id}`));
    assert.deepEqual((await qa1.call('task_list', { status: 'mine' })).tasks.map((t: { id: string }) => t.id), [a.id]);
    const done = await qa1.call('task_done', { id: a.id, result: 'all green' });
    assert.deepEqual([done.task.status, done.task.result, done.changed], ['done', 'all green', true]);
    assert.equal((await qa1.call('task_claim')).task.id, b.id, 'its dependent is ready now');
    const failed = await qa1.call('task_fail', { id: c.id, reason: 'cannot reproduce' });
    assert.deepEqual([failed.task.status, failed.task.reason], ['failed', 'cannot reproduce']);
    const all = (await dev1.call('task_list')).tasks;
    assert.deepEqual(all.map((t: { id: string; status: string }) => [t.id, t.status]), [[a.id, 'done'], [b.id, 'assigned'], [c.id, 'failed']]);
    // The CLI sees the same queue.
    const listed = JSON.parse((await cli(['--dir', root, 'task', 'list', '--json'])).stdout) as Array<{ id: string; assignee?: string }>;
    assert.equal(listed.find((t) => t.id === b.id)?.assignee, 'qa-1');
  });

  it('share_knowledge records it; search_knowledge finds it by words, tag and project', async () => {
    const first = await dev1.call('share_knowledge', { text: 'Use TURN over TCP behind the proxy', tags: ['webrtc', 'Network'] });
    assert.deepEqual(first.tags, ['webrtc', 'network']);
    assert.deepEqual(first.recipients, [], 'no team is up: recorded only');
    await qa1.call('share_knowledge', { text: 'The staging DB resets at midnight', tags: ['db'], project: 'billing' });
    const byWords = await qa1.call('search_knowledge', { query: 'turn PROXY' });
    assert.deepEqual(byWords.records.map((r: { text: string; source: string }) => [r.text, r.source]), [['Use TURN over TCP behind the proxy', 'dev-1']]);
    assert.deepEqual((await qa1.call('search_knowledge', { tag: 'db' })).records.map((r: { project: string }) => r.project), ['billing']);
    const all = await qa1.call('search_knowledge', { max: 1 });
    assert.equal(all.records.length, 1);
    assert.equal(all.records[0].text, 'The staging DB resets at midnight', 'newest first');
    assert.equal(all.more, true);
    const cliView = JSON.parse((await cli(['--dir', root, 'knowledge', '--json'])).stdout) as unknown[];
    assert.equal(cliView.length, 2);
  });
});

describe('bmad-bus mcp: resources', () => {
  let root: string;
  let cleanup: () => void;
  let qa1: McpSession;
  before(async () => {
    ({ root, cleanup } = await newBus());
    qa1 = await startMcp(root, 'qa-1');
  });
  after(async () => {
    await qa1?.close();
    cleanup();
  });

  it('bus://inbox and bus://agents, with a resource-updated notification when a message comes', async () => {
    const { resources } = await qa1.client.listResources();
    assert.deepEqual(resources.map((r) => r.uri).sort(), ['bus://agents', 'bus://inbox']);
    const updates: string[] = [];
    qa1.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await qa1.client.subscribeResource({ uri: 'bus://inbox' });
    const sent = await cli(['--dir', root, 'send', 'qa-1', '--from', 'dev-2', 'ping from the CLI']);
    assert.equal(sent.code, 0, sent.stderr);
    await waitFor(() => updates.includes('bus://inbox'), 10_000, 'the inbox update notification');
    const inbox = await qa1.client.readResource({ uri: 'bus://inbox' });
    const content = JSON.parse((inbox.contents[0] as { text: string }).text);
    assert.deepEqual(content.messages.map((m: { id: string; from: string }) => [m.id, m.from]), [[sent.stdout.trim(), 'dev-2']]);
    // Reading the resource acknowledges nothing.
    assert.equal((await qa1.call('read_inbox', {})).messages.length, 1);
    // A message for someone else is no update of this inbox.
    const before = updates.length;
    await cli(['--dir', root, 'send', 'dev-1', 'not for qa']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(updates.length, before);
    const agents = JSON.parse(((await qa1.client.readResource({ uri: 'bus://agents' })).contents[0] as { text: string }).text);
    assert.deepEqual(agents.agents.map((a: { name: string }) => a.name).sort(), ['dev-1', 'dev-2', 'orchestrator', 'qa-1']);
    // A new agent is an update of bus://agents.
    await qa1.client.subscribeResource({ uri: 'bus://agents' });
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'ops-1', '--role', 'ops', '--deliver', 'none'])).code, 0);
    await waitFor(() => updates.includes('bus://agents'), 10_000, 'the agents update notification');
    const grown = JSON.parse(((await qa1.client.readResource({ uri: 'bus://agents' })).contents[0] as { text: string }).text);
    assert.ok(grown.agents.some((a: { name: string; role: string }) => a.name === 'ops-1' && a.role === 'ops'));
  });
});

describe('bmad-bus mcp: starting', () => {
  it('needs an agent name, and a bus root that exists', async () => {
    const { root, cleanup } = tempRoot();
    try {
      const env = { ...process.env, BMAD_AGENT: '' };
      const noAgent = await cli(['--dir', root, 'mcp'], { env });
      assert.equal(noAgent.code, 2);
      assert.match(noAgent.stderr, /--agent NAME, or set \$BMAD_AGENT/);
      const badName = await cli(['--dir', root, 'mcp', '--agent', 'Bad Name'], { env });
      assert.equal(badName.code, 2);
      assert.match(badName.stderr, /Expected agent name/);
      const noRoot = await cli(['--dir', root, 'mcp', '--agent', 'dev-1'], { env });
      assert.equal(noRoot.code, 1);
      assert.match(noRoot.stderr, /bmad-bus init/);
      assert.equal(noRoot.stdout, '', 'nothing but the protocol on stdout');
    } finally {
      cleanup();
    }
  });

  it('takes its identity from $BMAD_AGENT', async () => {
    const { root, cleanup } = await newBus();
    const session = await startMcp(root, undefined, { BMAD_AGENT: 'dev-2' });
    try {
      const { id } = await session.call('send_message', { to: 'dev-1', body: 'hi' });
      assert.equal(journal(root).find((e) => e.id === id)?.from, 'dev-2');
    } finally {
      await session.close();
      cleanup();
    }
  });
});
