import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, SessionLimitError } from '../../src/bus/errors.js';
import { backoffMs, stepRetry, type RetryState } from '../../src/team/network-retry.js';
import { DEFAULT_NETWORK_RETRY } from '../../src/team/resource-types.js';
import { pickScaleDown, planScaling, type ScalingAgent } from '../../src/team/scaling.js';
import { planAssignments } from '../../src/team/schedule-plan.js';
import { assertWithinLimits, limitBreach, limitCounts } from '../../src/team/session-limits.js';
import type { Task } from '../../src/team/task-model.js';
import { parseTopology } from '../../src/team/topology.js';

const FILE = '/teams/team.yaml';
const TEAM = `
sessions:
  - name: orch
    tier: orchestrator
    windows: [{ name: o, panes: [{ name: orchestrator, role: orchestrator }] }]
  - name: web
    project: web
    windows: [{ name: d, panes: [{ type: dev }, { type: dev }] }, { name: q, panes: [{ type: qa }] }]
  - name: support
    tier: support
    windows: [{ name: m, panes: [{ type: monitor }] }, { name: l, panes: [{ type: logger }] }]
templates:
  dev: { session: web, project: web, role: dev, command: claude }
`;
const parse = (extra: string) => parseTopology(`${TEAM}${extra}`, FILE);
const fails = (extra: string, pattern: RegExp) =>
  assert.throws(() => parse(extra), (e: Error) => e instanceof ConfigError && pattern.test(e.message), `expected ${pattern}`);

describe('resource_management in the topology', () => {
  it('the seed\'s block: limits, cleanup, priorities by tier (development is the project tier), role and type', () => {
    const t = parse(`
resource_management:
  session_limits: { max_per_project: 10, max_total: 30 }
  cleanup: { idle_timeout: 30m, failed_retry: 3, action: stop }
  priorities: { orchestrator: highest, monitor: high, development: normal, support: low }
`);
    assert.deepEqual(t.resource_management.session_limits, { max_total: 30, max_per_project: 10 });
    assert.deepEqual(t.resource_management.cleanup, { idle_timeout_ms: 30 * 60_000, failed_retry: 3, action: 'stop' });
    assert.deepEqual(t.resource_management.priorities, { orchestrator: 'highest', monitor: 'high', project: 'normal', support: 'low' });
    const level = Object.fromEntries(t.agents.map((a) => [a.name, a.priority]));
    // By type first (monitor), then role, then tier: logger is only in the support tier.
    assert.deepEqual(level, {
      orchestrator: 'highest', 'dev-web-1': 'normal', 'dev-web-2': 'normal', 'qa-web-1': 'normal', 'monitor-global-1': 'high', 'logger-global-1': 'low',
    });
    assert.equal(t.templates.dev!.priority, 'normal', "a template's tier is its session's");
    assert.deepEqual(t.error_handling, {
      session_died: 'restart', out_of_memory: 'scale_down_and_restart', permission_denied: 'fix_permissions', network_error: 'retry_with_backoff',
      network_retry: DEFAULT_NETWORK_RETRY,
    });
  });

  it('the older fields are aliases: one value, wherever it was written', () => {
    const t = parse(`
max_sessions: { total: 12, per_project: 4 }
supervisor: { max_retries: 5, idle_timeout: 2m }
resource_limits: { per_session: { memory: 1GB, action: restart } }
`);
    assert.deepEqual(t.resource_management.session_limits, { max_total: 12, max_per_project: 4 });
    assert.equal(t.resource_management.cleanup.failed_retry, 5);
    assert.equal(t.resource_management.cleanup.idle_timeout_ms, 120_000);
    assert.deepEqual(t.resource_management.per_session, { memory_bytes: 1024 ** 3, action: 'restart' });
    assert.equal(parse('max_sessions: 7\n').resource_management.session_limits.max_total, 7);
    // Not written at all: the defaults.
    const none = parse('');
    assert.deepEqual(none.resource_management.session_limits, {});
    assert.deepEqual(none.resource_management.cleanup, { idle_timeout_ms: 30 * 60_000, failed_retry: 3, action: 'idle' });
    assert.deepEqual(none.resource_management.priorities, {});
    assert.equal(none.agents[0]!.priority, 'normal');
  });

  it('`action: warn` on a memory limit still only warns unless error_handling says otherwise', () => {
    assert.equal(parse('resource_limits: { per_session: { memory: 1GB, action: warn } }\n').error_handling.out_of_memory, 'report');
    assert.equal(parse('resource_limits: { per_session: { memory: 1GB } }\n').error_handling.out_of_memory, 'scale_down_and_restart');
    assert.equal(parse('resource_limits: { per_session: { memory: 1GB, action: warn } }\nerror_handling: { out_of_memory: restart }\n').error_handling.out_of_memory, 'restart');
  });

  it('error_handling: a handler per class, and the backoff of retry_with_backoff', () => {
    const t = parse('error_handling: { session_died: report, network_error: retry_with_backoff, network_retry: { first: 5s, max: 1m, attempts: 3 } }\n');
    assert.equal(t.error_handling.session_died, 'report');
    assert.deepEqual(t.error_handling.network_retry, { first_ms: 5000, max_ms: 60_000, attempts: 3 });
  });

  it('refuses what would say two things or nothing, naming the field', () => {
    fails('max_sessions: { total: 5 }\nresource_management: { session_limits: { max_total: 6 } }\n', /max_sessions\.total: is also set as `resource_management\.session_limits\.max_total`/);
    fails('supervisor: { max_retries: 1 }\nresource_management: { cleanup: { failed_retry: 2 } }\n', /supervisor\.max_retries: is also set as `resource_management\.cleanup\.failed_retry`/);
    fails('supervisor: { idle_timeout: 1m }\nresource_management: { cleanup: { idle_timeout: 2m } }\n', /supervisor\.idle_timeout: is also set/);
    fails('resource_limits: { per_session: { memory: 1GB } }\nresource_management: { per_session: { memory: 2GB } }\n', /resource_limits\.per_session: is also set/);
    fails('resource_management: { priorities: { orchestrator: urgent } }\n', /priorities\.orchestrator: expected one of highest, high, normal, low/);
    fails('resource_management: { priorities: { frontend-wizards: high } }\n', /priorities\.frontend-wizards: names no tier \(orchestrator, project, support\), role or agent type/);
    fails('resource_management: { session_limits: { max_total: 3, max_per_project: 4 } }\n', /max_per_project: is 4, more than max_total 3/);
    fails('resource_management: { cleanup: { action: delete } }\n', /cleanup\.action: expected one of idle, stop/);
    fails('error_handling: { permission_denied: restart }\n', /error_handling\.permission_denied: expected one of fix_permissions, report/);
    fails('error_handling: { network_retry: { first: 1m, max: 10s } }\n', /network_retry\.max: is shorter than `first`/);
  });
});

describe('session limits (pure)', () => {
  const web = { project: 'web' };
  it('counts the team and what would be added, per project too', () => {
    assert.equal(limitBreach({ max_total: 3 }, [web, web], [{}]), undefined);
    assert.deepEqual(limitBreach({ max_total: 3 }, [web, web, {}], [{}]), { limit: 'max_total', count: 4, max: 3 });
    assert.deepEqual(limitBreach({ max_per_project: 2 }, [web, web], [web]), { limit: 'max_per_project', count: 3, max: 2, project: 'web' });
    assert.equal(limitBreach({ max_per_project: 2 }, [web, web], [{ project: 'api' }]), undefined);
    assert.deepEqual(limitCounts({ max_total: 5, max_per_project: 2 }, [web, web, {}]), { total: 3, max_total: 5, projects: { web: { count: 2, max: 2 } } });
    assert.throws(() => assertWithinLimits('up of team.yaml', { max_total: 1 }, [], [web, web]), (e: Error) =>
      e instanceof SessionLimitError && e.message === 'Refusing up of team.yaml: it would make 2 agents, more than resource_management.session_limits.max_total 1; nothing was created');
  });

  it('scaling stops at max_per_project and says so', () => {
    const t = parse('resource_management: { session_limits: { max_per_project: 3 } }\nscaling_rules:\n  scale_up:\n    triggers: [{ metric: task_queue_length, threshold: 0, action: spawn_dev_agent }]\n');
    const agent = (name: string, project?: string): ScalingAgent => ({ name, type: 'dev', role: 'dev', scaled: false, idleMs: 0, holdsTask: false, ageMs: 0, ...(project ? { project } : {}) });
    const input = { rules: t.scaling_rules!, templates: t.templates, ready: [{ role: 'dev' }], minAgeMs: 0, limits: t.resource_management.session_limits };
    assert.equal(planScaling({ ...input, agents: [agent('a', 'web'), agent('b', 'web')] }).actions.length, 1);
    const full = planScaling({ ...input, agents: [agent('a', 'web'), agent('b', 'web'), agent('c', 'web')] });
    assert.deepEqual(full.actions, []);
    assert.deepEqual(full.refused, [{ limit: 'max_per_project', count: 4, max: 3, project: 'web', type: 'dev' }]);
  });
});

describe('priorities (pure)', () => {
  it('out_of_memory scales down the idlest scaled agent of the lowest priority, never the failing one or a task holder', () => {
    const a = (name: string, extra: Partial<ScalingAgent>): ScalingAgent => ({ name, type: 'dev', scaled: true, idleMs: 0, holdsTask: false, ageMs: 0, ...extra });
    const agents = [
      a('own', { scaled: false, idleMs: 99_000, priority: 'low' }),
      a('busy-low', { priority: 'low', holdsTask: true, idleMs: 90_000 }),
      a('low-fresh', { priority: 'low', idleMs: 1000 }),
      a('low-idle', { priority: 'low', idleMs: 50_000 }),
      a('high-idle', { priority: 'high', idleMs: 80_000 }),
      a('hog', { priority: 'low', idleMs: 70_000 }),
    ];
    assert.equal(pickScaleDown(agents, 'hog')?.name, 'low-idle');
    assert.equal(pickScaleDown(agents.filter((x) => x.priority !== 'low' || x.name === 'hog'), 'hog')?.name, 'high-idle');
    assert.equal(pickScaleDown([a('hog', {})], 'hog'), undefined);
  });

  it('within a task priority, tasks for a higher-level agent are served first when agents compete for slots', () => {
    const task = (id: string, role: string, priority: Task['priority'] = 'normal'): Task => ({ id, title: id, role, priority, status: 'pending', created: '2026-12-01T00:00:00Z', after: [], attempts: 0 });
    const agents = [{ name: 'sup', role: 'support', priority: 'low' as const }, { name: 'orch', role: 'orch', priority: 'highest' as const }, { name: 'dev', role: 'dev' }];
    const tasks = [task('t-support', 'support'), task('t-dev', 'dev'), task('t-orch', 'orch'), task('t-urgent-support', 'support', 'high')];
    // One slot: the high task first (task priority wins), then the orchestrator tier's before dev's and support's.
    assert.deepEqual(planAssignments(tasks, agents, { maxSessions: 1 }).assignments, [{ task: 't-urgent-support', agent: 'sup' }]);
    const two = planAssignments(tasks.filter((t) => t.id !== 't-urgent-support'), agents, { maxSessions: 2 });
    assert.deepEqual(two.assignments, [{ task: 't-orch', agent: 'orch' }, { task: 't-dev', agent: 'dev' }]);
    assert.deepEqual(two.deferred, [{ task: 't-support', reason: 'max_sessions 2 reached' }]);
  });
});

describe('retry_with_backoff (pure)', () => {
  const retry = { first_ms: 10_000, max_ms: 600_000, attempts: 4 };
  const error = { error: true, busy: false };
  const clear = { error: false, busy: false };
  const run = (steps: Array<[number, { error: boolean; busy: boolean; resetAt?: number }]>, handler: 'retry_with_backoff' | 'report' = 'retry_with_backoff') => {
    let state: RetryState | undefined;
    return steps.map(([now, seen]) => {
      const out = stepRetry(state, seen, retry, now, handler);
      state = out.state;
      return out.step;
    });
  };

  it('10 s, doubling up to 10 minutes, a bounded number of times', () => {
    assert.deepEqual([1, 2, 3, 4, 6, 7, 8].map((n) => backoffMs(retry, n)), [10_000, 20_000, 40_000, 80_000, 320_000, 600_000, 600_000]);
    const steps = run([
      [0, error], [5000, error], [10_000, error], // failure, wait, type #1
      [11_000, error], [31_000, error], // it failed again: failure #2 due in 20 s; type #2
      [32_000, error], [72_000, error], // #3 in 40 s; type
      [73_000, error], [153_000, error], // #4 in 80 s; type
      [154_000, error], [999_000, error], // out of attempts: gave up once, then nothing
    ]);
    assert.deepEqual(steps.map((s) => s.kind), ['failure', 'none', 'type', 'failure', 'type', 'failure', 'type', 'failure', 'type', 'gave_up', 'none']);
    assert.deepEqual(steps.filter((s) => s.kind === 'failure').map((s) => s.kind === 'failure' && s.waitMs), [10_000, 20_000, 40_000, 80_000]);
  });

  it('a recovery after typing is told once it settled; a limit that names its reset waits for it', () => {
    const steps = run([[0, error], [10_000, error], [11_000, { error: false, busy: true }], [12_000, clear], [14_000, clear], [20_000, clear]]);
    assert.deepEqual(steps.map((s) => s.kind), ['failure', 'type', 'none', 'none', 'recovered', 'none']);
    const reset = run([[0, { ...error, resetAt: 90_000 }], [60_000, error], [95_000, error]]);
    assert.deepEqual(reset.map((s) => s.kind), ['failure', 'none', 'type']);
    assert.equal(reset[0]!.kind === 'failure' && reset[0].reset, true);
    assert.equal(reset[0]!.kind === 'failure' && reset[0].dueAt, 95_000);
  });

  it('report: one failure per error, never a prompt', () => {
    assert.deepEqual(run([[0, error], [60_000, error], [70_000, clear], [80_000, error]], 'report').map((s) => s.kind), ['failure', 'none', 'none', 'failure']);
  });
});
