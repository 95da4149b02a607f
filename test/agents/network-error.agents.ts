// network_error with the real Claude Code (npm run test:agents): the fake model has an outage
// until the CLI gives up (CLAUDE_CODE_MAX_RETRIES=1 keeps its own retries short), then recovers.
// The supervisor reads the give-up screen with the claude profile and types the profile's
// continue prompt after the backoff (10 s, then 20 s); a 429 whose message names its reset time,
// as the CLI shows it, waits until then. The oracle is the fake model's log: the continue turn
// arrives after the wait, and only then (Claude Code resends the failed message with it, as one turn).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { addAgent } from '../../src/bus/registry.js';
import { initRoot } from '../../src/bus/root.js';
import { Supervisor, type SupervisorEvent } from '../../src/team/supervisor.js';
import { loadTopology } from '../../src/team/topology.js';
import { waitFor } from '../helpers/bus.js';
import { findCli } from './agents-cache.js';
import { FakeModel, type LoggedRequest } from './fake-model.js';
import { AgentPane } from './harness.js';

const found = findCli('claude');
const AGENT = 'claude-1';

test('claude: an API error it gave up on is retried with backoff (500, a dropped connection, a 429 naming its reset)', { skip: typeof found === 'string' ? found : false, timeout: 600_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bmad-network-'));
  const logPath = path.join(tmp, 'model.ndjson');
  const model = await new FakeModel({ logPath }).start();
  let pane: AgentPane | undefined;
  let supervisor: Supervisor | undefined;
  try {
    pane = await AgentPane.start('claude', { url: model.url, readyTimeoutMs: 120_000, env: { CLAUDE_CODE_MAX_RETRIES: '1' } });
    const layout: Layout = initRoot(path.join(tmp, 'bus'));
    // A team of one: the harness's pane, tagged and registered as the topology's agent, with the claude profile.
    const file = path.join(tmp, 'team.yaml');
    fs.writeFileSync(file, `name: net\nsessions:\n  - name: agent\n    windows: [{ name: w, panes: [{ name: ${AGENT}, role: dev, profile: claude }] }]\n`);
    const topology = loadTopology(file);
    const paneId = pane.tmux(['display-message', '-p', '-t', 'agent:0.0', '#{pane_id}']);
    pane.tmux(['set-option', '-p', '-t', paneId, '@bmad_agent', AGENT]);
    const spec = topology.agents[0]!;
    await addAgent(layout, {
      name: AGENT, role: 'dev', deliver: 'tmux', tmux: paneId, tmux_socket: pane.socket, profile: 'claude', policy: spec.policy, submit: spec.submit,
      submit_delay: spec.submit_delay, multiline: spec.multiline, owner: topology.file,
    });
    const seen: SupervisorEvent[] = [];
    const when = new Map<SupervisorEvent, number>();
    supervisor = new Supervisor(layout, { topology, socket: pane.socket, intervalMs: 500, schedule: false, log: () => undefined });
    supervisor.on('event', (e) => {
      seen.push(e);
      when.set(e, Date.now());
    });
    await supervisor.start();
    const screen = () => pane!.screen();

    /** One outage: the CLI gives up, the model recovers, the supervisor waits and types `continue`. */
    const outage = async (how: '500' | 'drop' | 'limit', resetAt?: number) => {
      const from = seen.length;
      const turnsBefore = model.userTurns.length;
      model.mode = { kind: 'outage', how, ...(resetAt ? { resetAt } : {}) };
      if (how === 'limit') {
        await pane!.send(`a turn during the usage limit`);
      } else {
        await pane!.send(`a turn during the ${how} outage`);
      }
      const failure = await waitFor(() => seen.slice(from).find((e) => e.event === 'failure' && e.kind === 'network_error'), 120_000, `the ${how} failure; screen:\n${screen()}`);
      // The CLI gave up: from now on the model answers (a limit answers again by itself at its reset).
      if (how !== 'limit') model.mode = { kind: 'fast' };
      const retry = await waitFor(() => seen.slice(from).find((e) => e.event === 'network_retry'), 10_000, 'the retry scheduled');
      const typed = await waitFor(() => seen.slice(from).find((e) => e.event === 'network_continue'), 200_000, `the continue prompt; screen:\n${screen()}`);
      const recovered = await waitFor(() => seen.slice(from).find((e) => e.event === 'network_recovered'), 60_000, `recovered; screen:\n${screen()}`);
      const log = fs.readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LoggedRequest);
      const failedAt = when.get(failure)!;
      // Claude Code sends the failed message again with the continue prompt after it, as one user turn.
      const continueTurn = log.find((r) => !r.side && r.fresh.some((t) => /(^|\n)continue$/.test(t)) && r.at >= failedAt);
      assert.ok(continueTurn, `the fake model got the continue turn; turns ${JSON.stringify(model.userTurns.slice(turnsBefore))}`);
      assert.equal(continueTurn.status, 200);
      return { failedAt, retry, typed, recovered, continueTurn };
    };

    const first = await outage('500');
    assert.equal(first.retry.event === 'network_retry' && first.retry.wait_ms, 10_000, 'first wait: 10 s');
    assert.ok(first.continueTurn.at - first.failedAt >= 10_000, `the continue turn came ${first.continueTurn.at - first.failedAt} ms after the failure`);
    assert.equal(first.typed.event === 'network_continue' && first.typed.confirmed, true);

    const second = await outage('drop');
    assert.equal(second.retry.event === 'network_retry' && second.retry.wait_ms, 20_000, 'the second wait doubles');
    assert.ok(second.continueTurn.at - second.failedAt >= 20_000);

    // A reset on a whole minute at least 40 s away: the message shows it as `resets 3:07pm (UTC)`.
    const resetAt = (Math.floor(Date.now() / 60_000) + (60 - new Date().getUTCSeconds() < 40 ? 2 : 1)) * 60;
    const third = await outage('limit', resetAt);
    assert.equal(third.retry.event === 'network_retry' && third.retry.reset, true, 'waits for the reset the screen names');
    assert.equal(third.retry.event === 'network_retry' && third.retry.at, new Date(resetAt * 1000 + 5000).toISOString());
    assert.ok(third.continueTurn.at >= resetAt * 1000, 'the continue turn came after the reset');
    const rejected = fs.readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LoggedRequest).filter((r) => r.status === 429);
    assert.ok(rejected.length >= 1 && rejected.every((r) => r.at < resetAt * 1000), 'no request was refused after the reset');
    console.log(`network_error: 500 continue after ${((first.continueTurn.at - first.failedAt) / 1000).toFixed(1)} s, drop after ${((second.continueTurn.at - second.failedAt) / 1000).toFixed(1)} s, 429 after its reset by ${((third.continueTurn.at - resetAt * 1000) / 1000).toFixed(1)} s`);
  } finally {
    await supervisor?.close();
    await pane?.close();
    await model.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
