import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayWidth, stripAnsi } from '../../src/bus/text-cells.js';
import { renderMonitor, share, type MonitorSnapshot } from '../../src/team/monitor-view.js';

const T0 = Date.parse('2030-01-01T12:00:00Z');
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

function snapshot(scale = 1): MonitorSnapshot {
  const agents: MonitorSnapshot['agents'] = [
    { name: 'orchestrator', session: 'orchestrator', role: 'context-manager', status: 'alive', undelivered: 0, cpuPercent: 3.2, rssBytes: 210 * 1024 ** 2 },
    { name: 'dev-frontend', session: 'project-webrtc', role: 'dev', status: 'busy', task: { id: 't12', title: 'Implement the WebRTC signalling handshake with retries' }, undelivered: 4, cpuPercent: 87.6, rssBytes: 1.5 * 1024 ** 3 },
    { name: 'qa-agent', session: 'project-webrtc', role: 'qa', status: 'failed', undelivered: 17 },
    { name: 'devops', session: 'support', role: 'devops', status: 'idle', undelivered: 0, cpuPercent: 0, rssBytes: 90 * 1024 ** 2 },
  ];
  for (let i = 0; i < 20 * (scale - 1); i++) agents.push({ name: `extra-${i}`, role: 'dev', status: 'alive', undelivered: i, session: 'project-voice' });
  const tasks: MonitorSnapshot['tasks'] = [
    { id: 't12', title: 'Implement the WebRTC signalling handshake', priority: 'high', status: 'assigned', assignee: 'dev-frontend', ready: false },
    { id: 't13', title: 'Write the QA plan', priority: 'normal', status: 'pending', ready: false, waitingOn: ['t12'] },
    { id: 't14', title: 'Fix the production outage', priority: 'critical', status: 'pending', ready: true, blocks: ['t15'] },
    { id: 't15', title: 'Post-mortem', priority: 'low', status: 'pending', ready: false, waitingOn: ['t14'] },
    { id: 't9', title: 'Old failed task', priority: 'normal', status: 'failed', ready: false },
    { id: 't1', title: 'finished', priority: 'critical', status: 'done', ready: false },
  ];
  for (let i = 0; i < 30 * (scale - 1); i++) tasks.push({ id: `t${100 + i}`, title: `bulk ${i}`, priority: 'low', status: 'pending', ready: true });
  const events: MonitorSnapshot['events'] = [
    { ts: T0 - 60_000, source: 'supervisor', kind: 'restart', text: 'qa-agent restarted (attempt 3 of 3)', level: 'warn' },
    { ts: T0 - 30_000, source: 'supervisor', kind: 'failed', text: 'qa-agent marked failed after 3 restarts', level: 'error' },
    { ts: T0 - 5_000, source: 'supervisor', kind: 'limit', text: 'dev-frontend over cpu_percent 25: 87.6%', level: 'warn' },
  ];
  for (let i = 0; i < 40 * (scale - 1); i++) events.push({ ts: T0 + i, source: 'scheduler', kind: 'assign', text: `event number ${i}` });
  return {
    now: T0,
    root: '/tmp/bmad-bus-1000',
    router: { running: true, pid: 4321, uptimeMs: 2 * 3600_000 + 5 * 60_000, ratePerSecond: 12.34, accepted: 123456, delivered: 123400, deadLetters: 3 },
    agents,
    tasks,
    events,
  };
}

function assertFits(lines: string[], width: number, height: number): void {
  assert.equal(lines.length, height, `exactly ${height} lines`);
  for (const [i, line] of lines.entries()) {
    assert.equal(displayWidth(line), width, `line ${i} is ${displayWidth(stripAnsi(line))} columns, not ${width}: ${JSON.stringify(stripAnsi(line))}`);
    assert.ok(!/[\x00-\x08\x0a-\x1a\x1c-\x1f]/.test(line), `no control characters but colour in line ${i}`);
  }
}

describe('renderMonitor', () => {
  test('80x24 shows every key fact', () => {
    const lines = renderMonitor(snapshot(), { width: 80, height: 24, clock });
    assertFits(lines, 80, 24);
    const screen = lines.join('\n');
    for (const fact of [
      'bmad-bus monitor', '12:00:00', 'router up 2h05m pid 4321', '12.3 msg/s', 'dead letters 3',
      'Agents (4)', 'dev-frontend', 'busy', 't12 Implement', 'failed', 'idle', '88%', '1.5G', '210M',
      'critical 1 · high 0 · normal 1 · low 1 · assigned 1 · failed 1',
      'ready', 'waits t12', '→ dev-frontend', '[blocks t15]', 'FAILED',
      'Events (3)', '11:59:00 supervisor restart qa-agent restarted', 'over cpu_percent 25', 'q quit',
    ]) {
      assert.ok(screen.includes(fact), `screen shows ${JSON.stringify(fact)}\n${screen}`);
    }
    assert.ok(!screen.includes('finished'), 'done tasks are not in the queue');
    const agentRow = lines.find((l) => l.includes('qa-agent') && l.includes('failed'))!;
    assert.match(agentRow, /qa-agent\s+qa\s+failed\s+-\s+17\s+-\s+-\s*$/, 'undelivered count, unknown CPU and memory');
    // The queue is by priority: critical, high, normal (pending then failed, FIFO), low.
    const order = ['t14', 't12', 't13', 't9', 't15'].map((id) => lines.findIndex((l) => new RegExp(`^ \\w+\\s+${id}\\s`).test(l)));
    assert.deepEqual(order, order.slice().sort((a, b) => a - b), `queue order ${order}`);
    assert.ok(order.every((i) => i > 0));
  });

  test('too much to show: every section is cut with a marker, still exactly the screen', () => {
    const lines = renderMonitor(snapshot(3), { width: 80, height: 24, clock });
    assertFits(lines, 80, 24);
    const screen = lines.join('\n');
    assert.match(screen, /… \d+ more/, 'agents or tasks cut');
    assert.equal(screen.match(/… \d+ more/g)!.length, 2, 'both agents and tasks cut');
    assert.match(screen, /… \d+ earlier/, 'older events cut');
    assert.ok(screen.includes('event number 79'), 'the latest event is shown');
    assert.ok(screen.includes('Agents (44)'));
    assert.ok(screen.includes('t14'), 'the critical task heads the queue');
  });

  test('long text is cut with … and never wraps; colour codes do not count', () => {
    const s = snapshot();
    s.agents[1]!.task!.title = 'x'.repeat(300);
    s.events.push({ ts: T0, source: 'supervisor', kind: 'limit', text: `evil \x1b]0;title\x07 \x1b[2J text ${'y'.repeat(200)}` });
    for (const [width, height] of [[80, 24], [120, 40], [40, 12], [20, 5]] as const) {
      for (const color of [false, true]) {
        const lines = renderMonitor(s, { width, height, color, clock });
        assertFits(lines, width, height);
        if (color) assert.ok(lines.some((l) => l.includes('\x1b[')), 'colour when asked');
        else assert.ok(lines.every((l) => !l.includes('\x1b')), 'no escape at all without colour');
      }
    }
    const lines = renderMonitor(s, { width: 80, height: 24, clock });
    assert.ok(lines.some((l) => /t12 x+…/.test(l)), 'the long task title is cut and marked');
    assert.ok(lines.some((l) => /evil .*…\s*$/.test(l)), 'the long event is cut and marked');
  });

  test('wide characters and emoji: every line is still exactly the screen', () => {
    const s = snapshot();
    s.agents[1]!.task!.title = '日本語のタスク ✅ 完了 ☀ e\u0301te\u0301 👨\u200D👩\u200D👧 '.repeat(4);
    s.tasks[1]!.title = '✅✅✅ 中文标题 '.repeat(6);
    s.events.push({ ts: T0, source: 'supervisor', kind: 'limit', text: '🎉'.repeat(80) });
    for (const width of [20, 33, 41, 80, 121]) {
      for (const color of [false, true]) assertFits(renderMonitor(s, { width, height: 24, color, clock }), width, 24);
    }
    const lines = renderMonitor(s, { width: 121, height: 24, clock });
    assert.ok(lines.some((l) => l.includes('t12 日本語のタスク ✅ 完了 ☀')), 'the wide title is shown');
  });

  test('tiny and empty screens', () => {
    assert.deepEqual(renderMonitor(snapshot(), { width: 80, height: 0 }), []);
    assertFits(renderMonitor(snapshot(), { width: 10, height: 3, clock }), 10, 3);
    const empty: MonitorSnapshot = { now: T0, router: { running: false, deadLetters: 0 }, agents: [], tasks: [], events: [] };
    const lines = renderMonitor(empty, { width: 80, height: 24, clock });
    assertFits(lines, 80, 24);
    assert.ok(lines[1]!.includes('router DOWN'));
    assert.ok(lines.join('\n').includes('Agents (0)'));
  });

  test('share gives each list a turn until rows run out', () => {
    assert.deepEqual(share(17, [4, 5, 3]), [4, 5, 3]);
    assert.deepEqual(share(10, [44, 60, 3]), [4, 3, 3]);
    assert.deepEqual(share(10, [2, 60, 80]), [2, 4, 4]);
    assert.deepEqual(share(0, [1, 1, 1]), [0, 0, 0]);
  });
});
