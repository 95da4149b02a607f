import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, REPO, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';

// The shipped example team, end to end: up starts the router, messages go through the journal into panes.
describe('tmux team end to end (router + demo agents)', () => {
  const bed = new TmuxBed();
  const { tmux, base } = bed;
  const file = path.join(REPO, 'examples', 'team.yaml');
  const dev = 'dev-webrtc-epic36-1';

  before(() => {
    bed.start();
    // The daemon `up` starts: stopped before the team goes down.
    bed.onClose(() => cli(['stop', ...base]));
  });
  after(() => bed.close());

  const pane = async (agent: string) => (await cli(['capture', agent, '-n', '200', ...base])).stdout;
  const journal = async () => (await cli(['tail', '--no-follow', '-n', '1000', '--json', ...base])).stdout;

  it('up brings the team up and starts the router', async () => {
    const result = await bed.up(file, { args: [], timeoutMs: 60_000 });
    assert.match(result.stdout, /router (started|already running)/);
    await waitFor(async () => (await pane(dev)).includes('waiting for messages'), 15_000, 'demo agent started');
  });

  it('a message reaches the pane and the agent answers through the bus', async () => {
    assert.equal((await cli(['send', dev, 'hello dev, $(touch nothing)', '--from', 'tester', ...base])).code, 0);
    await waitFor(async () => (await pane(dev)).includes('got from tester: hello dev, $(touch nothing)'), 15_000, 'pasted');
    await waitFor(async () => (await journal()).includes('"ack: hello dev, $(touch nothing)"'), 15_000, 'the ack in the journal');
  });

  it('the scrum master hands work on and the team acks back', async () => {
    assert.equal((await cli(['send', 'sm-webrtc-epic36-1', 'story 42', '--from', 'tester', ...base])).code, 0);
    await waitFor(async () => (await pane('qa-webrtc-epic36-1')).includes('got from sm-webrtc-epic36-1: from sm-webrtc-epic36-1: story 42'), 20_000, 'qa got it');
    await waitFor(async () => (await pane('sm-webrtc-epic36-1')).includes('got from qa-webrtc-epic36-1: ack: from sm-webrtc-epic36-1: story 42'), 20_000, 'sm got the ack');
  });

  it('messages for a dead pane wait in the journal and arrive in order when it is respawned', async () => {
    const paneId = (await cli(['agents', '--json', ...base])).stdout.match(new RegExp(`"name": "${dev}"[\\s\\S]*?"tmux": "(%\\d+)"`))?.[1];
    assert.ok(paneId, 'dev pane id');
    process.kill(tmux.panePid(paneId), 'SIGKILL');
    await waitFor(() => tmux.run(['display-message', '-p', '-t', paneId, '#{pane_dead}']) === '1', 5000, 'pane dead');
    for (let i = 1; i <= 5; i++) assert.equal((await cli(['send', dev, `while away ${i}`, '--from', 'tester', ...base])).code, 0);
    await new Promise((r) => setTimeout(r, 500));
    // The supervisor (run by the daemon `up` started) may have respawned it already.
    tmux.tryRun(['respawn-pane', '-t', paneId]);
    await waitFor(async () => (await pane(dev)).includes('got from tester: while away 5'), 20_000, 'all five after respawn');
    const text = await pane(dev);
    const order = [1, 2, 3, 4, 5].map((i) => text.indexOf(`got from tester: while away ${i}`));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `in order: ${order}`);
  });

  it('status shows the panes', async () => {
    const result = await cli(['status', ...base]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /project-webrtc-epic36\s+\d+:dev\s+0 %\d+\s+dev-webrtc-epic36-1\s+dev\s+node\s+alive/);
  });
});
