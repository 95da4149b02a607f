import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isShell } from '../../src/tmux/pane-info.js';
import { TmuxBed } from '../helpers/tmux.js';

// Issue 9, defect 1: `up` passed the first pane's -e to new-session, so it became the
// tmux session environment and every later pane of the session inherited it.
const FIXTURE = `
name: env-leak
defaults:
  command: cat
  submit_delay: 10ms
sessions:
  - name: envs
    windows:
      - name: first
        panes:
          - { name: forwarder, role: sm, env: { DEMO_FORWARD_TO: someone } }
          - { name: sibling, role: dev }
          - { title: test-runner, agent: false }
          - { title: logs, agent: false, command: 'sleep 600', env: { HELPER_ONLY: yes } }
      - name: second
        panes:
          - { name: later, role: qa }
`;

describe("a pane's environment reaches that pane only", () => {
  const bed = new TmuxBed();
  const { tmux, root } = bed;
  const file = path.join(bed.dir, 'team.yaml');

  before(async () => {
    bed.start();
    fs.writeFileSync(file, FIXTURE);
    await bed.up(file);
  });
  after(() => bed.close());

  /** The pane up tagged `session/window/index` (pane indices in tmux follow split order, not the file's). */
  const pane = (key: string): string => {
    const line = tmux.run(['list-panes', '-a', '-F', '#{@bmad_pane} #{pane_id}']).split('\n').find((l) => l.startsWith(`${key} `));
    assert.ok(line, `a pane tagged ${key}`);
    return line.split(' ')[1]!;
  };
  /** The environment of the program in a pane (`#{pane_pid}`), from /proc. */
  const paneEnv = (key: string): Record<string, string> => {
    const pid = tmux.run(['display-message', '-p', '-t', pane(key), '#{pane_pid}']);
    const text = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    return Object.fromEntries(text.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  };

  it("the session environment holds none of the panes' variables", () => {
    const env = tmux.run(['show-environment', '-t', 'envs']);
    for (const name of ['DEMO_FORWARD_TO', 'BMAD_AGENT', 'HELPER_ONLY', 'BMAD_BUS_DIR']) {
      assert.ok(!env.split('\n').some((l) => l.startsWith(`${name}=`)), `${name} in the session environment:\n${env}`);
    }
  });

  it("each agent pane has its own variables and identity, not its siblings'", () => {
    const forwarder = paneEnv('envs/first/0');
    assert.equal(forwarder.DEMO_FORWARD_TO, 'someone');
    assert.equal(forwarder.BMAD_AGENT, 'forwarder');
    assert.equal(forwarder.BMAD_BUS_DIR, root);
    const sibling = paneEnv('envs/first/1');
    assert.equal(sibling.BMAD_AGENT, 'sibling');
    assert.equal(sibling.DEMO_FORWARD_TO, undefined);
    const later = paneEnv('envs/second/0');
    assert.equal(later.BMAD_AGENT, 'later');
    assert.equal(later.DEMO_FORWARD_TO, undefined);
  });

  it("a helper pane has no agent identity and, without a command, runs the user's shell", () => {
    const runner = paneEnv('envs/first/2');
    assert.equal(runner.BMAD_AGENT, undefined);
    assert.equal(runner.DEMO_FORWARD_TO, undefined);
    assert.equal(runner.BMAD_BUS_DIR, root, 'the bus is still at hand');
    const command = tmux.run(['display-message', '-p', '-t', pane('envs/first/2'), '#{pane_current_command}']);
    assert.ok(isShell(command), `the test-runner pane runs a shell, not the agents' command: ${command}`);
    assert.equal(tmux.run(['display-message', '-p', '-t', pane('envs/first/2'), '#{@bmad_agent}']), '');

    const logs = paneEnv('envs/first/3');
    assert.equal(logs.BMAD_AGENT, undefined);
    assert.equal(logs.HELPER_ONLY, 'yes');
    assert.equal(tmux.run(['display-message', '-p', '-t', pane('envs/first/3'), '#{pane_current_command}']), 'sleep');
    assert.equal(paneEnv('envs/first/1').HELPER_ONLY, undefined);
  });
});
