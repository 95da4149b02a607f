import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/bus/errors.js';
import { loadTopology, parseTopology } from '../../src/team/topology.js';
import { REPO } from '../helpers/bus.js';

const FILE = '/teams/team.yaml';
const ok = (body: string) => parseTopology(body, FILE);
const session = (windows: string) => `sessions:\n  - name: s\n    windows:\n${windows}`;

describe('topology files', () => {
  it('reads agents, names them {type}-{project}-{epic}-{instance}, and fills layouts', () => {
    const t = ok(`
defaults: { command: claude, submit: C-m, submit_delay: 1.5s }
sessions:
  - name: epic36
    project: frontend
    epic: epic36
    tags: [webrtc]
    windows:
      - name: dev
        layout: development
        panes: [{ type: dev }, { type: dev, submit_delay: 300 }]
  - name: support
    windows:
      - { name: monitor, type: monitor, command: "bmad-bus tail" }
`);
    assert.deepEqual(t.agents.map((a) => a.name), ['dev-frontend-epic36-1', 'dev-frontend-epic36-2', 'monitor-global-1']);
    assert.equal(t.agents[0]!.submit, 'C-m');
    assert.equal(t.agents[0]!.submit_delay, 1500);
    assert.equal(t.agents[1]!.submit_delay, 300);
    assert.equal(t.agents[2]!.command, 'bmad-bus tail');
    assert.equal(t.agents[0]!.cwd, '/teams');
    assert.deepEqual(t.agents[0]!.tags, ['webrtc']);
    assert.equal(t.sessions[0]!.tier, 'project');
    assert.equal(t.sessions[0]!.windows[0]!.panes.length, 3, 'development adds the missing right-hand pane');
    assert.deepEqual(t.projects.frontend, { tags: ['webrtc'] });
  });

  it('reads the fields the supervisor, scheduler and scaler need', () => {
    const t = ok(`${session('      - { name: w, type: dev }\n')}
agent_groups:
  frontend_team:
    leader: ui-architect
    members: [dev-frontend-1, dev-frontend-2]
    tmux_layout: |
      tmux select-layout -t frontend-team tiled
    coordination: { method: shared_buffer, sync_interval: 60s }
max_sessions: { total: 30, per_project: 10 }
resource_limits:
  per_session: { memory: 2GB, cpu_percent: 25 }
scheduling:
  strategy: least_loaded
  priorities: { critical: immediate, low: batch }
supervisor: { health_interval: 2s, max_retries: 3, idle_timeout: 30m, restore_prompt: "You were restarted." }
scaling_rules:
  scale_up:
    triggers:
      - { metric: task_queue_length, threshold: 20, action: spawn_dev_agent }
      - { metric: response_time, threshold: 5s, action: spawn_support_agent }
    limits: { max_agents_per_type: { dev: 5, qa: 3 } }
  scale_down:
    triggers:
      - { metric: idle_time, threshold: 10m, action: terminate_agent }
templates:
  dev: { session: s, command: claude, role: dev }
projects:
  frontend: { tags: [webrtc, ui] }
`);
    assert.deepEqual(t.groups.frontend_team, {
      leader: 'ui-architect', members: ['dev-frontend-1', 'dev-frontend-2'], layout: { kind: 'named', name: 'tiled' },
      coordination: { method: 'shared_buffer', sync_interval_ms: 60_000 },
    });
    // The older names are read into resource_management (topology-resources.test.ts has the rest).
    assert.deepEqual(t.resource_management.session_limits, { max_total: 30, max_per_project: 10 });
    assert.deepEqual(t.resource_management.per_session, { memory_bytes: 2 * 1024 ** 3, cpu_percent: 25, action: 'warn' });
    assert.equal(t.resource_management.cleanup.failed_retry, 3);
    assert.equal(t.scheduling.strategy, 'least_loaded');
    assert.equal(t.supervisor.health_interval_ms, 2000);
    assert.equal(t.resource_management.cleanup.idle_timeout_ms, 30 * 60_000);
    assert.equal(t.scaling_rules!.scale_up.triggers[0]!.agent_type, 'dev');
    assert.equal(t.scaling_rules!.scale_up.triggers[1]!.threshold, 5000);
    assert.deepEqual(t.scaling_rules!.scale_up.max_agents_per_type, { dev: 5, qa: 3 });
    assert.equal(t.templates.dev!.command, 'claude');
    assert.deepEqual(t.projects.frontend, { tags: ['webrtc', 'ui'] });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['no sessions', 'name: x\n', /team\.yaml(:1)?: sessions: is required/],
    ['unknown top-level field', `${session('      - { name: w, type: dev }\n')}sesions: []\n`, /team\.yaml:5: sesions: unknown field/],
    ['bad submit key', session('      - { name: w, type: dev, submit: "echo hi" }\n'), /team\.yaml:4: sessions\[0\]\.windows\[0\]\.submit: expected a key name/],
    ['bad submit_delay', session('      - name: w\n        panes:\n          - type: dev\n            submit_delay: soon\n'), /team\.yaml:7: sessions\[0\]\.windows\[0\]\.panes\[0\]\.submit_delay: expected a duration/],
    ['bad deliver', session('      - { name: w, type: dev, deliver: pigeon }\n'), /windows\[0\]\.deliver: expected one of inbox, tmux, both, hooks, none/],
    ['deliver hooks for a CLI whose hooks cannot answer', session('      - { name: w, type: dev, command: codex, deliver: hooks }\n'), /windows\[0\]\.deliver: deliver: hooks needs a CLI whose hooks hand messages over \(claude, gemini, qwen\); profile codex has none/],
    ['deliver hooks with the hooks left out', session('      - { name: w, type: dev, command: claude, deliver: hooks, hooks: false }\n'), /windows\[0\]\.hooks: deliver: hooks needs the hooks installed/],
    ['bad layout', session('      - { name: w, type: dev, layout: fancy }\n'), /windows\[0\]\.layout: expected development, monitoring/],
    ['bad agent name', session('      - name: w\n        panes: [{ name: "Bad Name" }]\n'), /panes\[0\]\.name: expected a name matching/],
    ['duplicate agent', session('      - name: w\n        panes: [{ name: a1 }, { name: a1 }]\n'), /panes\[1\]\.name: duplicate agent name `a1`/],
    ['session name with a dot', 'sessions:\n  - name: a.b\n    windows: [{ name: w }]\n', /team\.yaml:2: sessions\[0\]\.name: expected letters/],
    ['no windows', 'sessions:\n  - name: s\n', /sessions\[0\]\.windows: is required/],
    ['bad strategy', `${session('      - { name: w, type: dev }\n')}scheduling: { strategy: random }\n`, /team\.yaml:5: scheduling\.strategy: expected one of round_robin, least_loaded/],
    ['bad memory', `${session('      - { name: w, type: dev }\n')}resource_limits: { per_session: { memory: lots } }\n`, /resource_limits\.per_session\.memory: expected a size/],
    ['bad trigger metric', `${session('      - { name: w, type: dev }\n')}scaling_rules:\n  scale_up:\n    triggers: [{ metric: vibes, threshold: 1, action: spawn_dev_agent }]\n`, /team\.yaml:7: scaling_rules\.scale_up\.triggers\[0\]\.metric: expected one of/],
    ['bad env name', session('      - { name: w, type: dev, env: { "A-B": x } }\n'), /windows\[0\]\.env\.A-B: expected an environment variable name/],
    ['bad yaml', 'sessions: [\n', /team\.yaml:\d+:\d+: invalid YAML/],
    ['bridge without a server', `${session('      - { name: w, type: dev }\n')}bridge: { name: ma }\n`, /team\.yaml:5: bridge\.nats: is required/],
    ['bridge with a secret in the file', `${session('      - { name: w, type: dev }\n')}bridge: { nats: "nats://x:4222", token: t }\n`, /bridge\.token: unknown field/],
    ['template without session', `${session('      - { name: w, type: dev }\n')}templates:\n  dev: { command: claude }\n`, /templates\.dev\.session: is required/],
  ];
  it('reads bridge:, its files relative to the topology file', () => {
    const t = ok(`${session('      - { name: w, type: dev }\n')}bridge: { nats: "nats://10.0.0.5:4222", name: laptop, stream: team, creds: nats/team.creds }\n`);
    assert.deepEqual(t.bridge, { nats: 'nats://10.0.0.5:4222', name: 'laptop', stream: 'team', creds: path.join(path.dirname(FILE), 'nats', 'team.creds') });
  });

  for (const [what, body, message] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      assert.throws(() => ok(body), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match((error as Error).message, message);
        return true;
      });
    });
  }

  it('the shipped example is valid', () => {
    const t = loadTopology(path.join(REPO, 'examples', 'team.yaml'));
    assert.ok(t.agents.some((a) => a.name === 'orchestrator'));
    assert.deepEqual(t.sessions.map((s) => s.tier), ['orchestrator', 'project', 'support']);
  });
});
