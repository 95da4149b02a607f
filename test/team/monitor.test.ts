import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cli, waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

describe('monitor in an 80x24 terminal', () => {
  const bed = new TmuxBed();
  const { tmux, root, base } = bed;
  const monitorLine = [process.execPath, BIN, ...base, 'monitor', '--interval', '300ms'].map(shq).join(' ');

  before(async () => {
    bed.start();
    assert.equal((await cli(['init', '--dir', root])).code, 0);
    const pane = tmux.newPane('cat');
    for (const [name, role, extra] of [['dev-1', 'dev', ['--tmux', pane, '--deliver', 'tmux']], ['qa-1', 'qa', []]] as const) {
      const added = await cli(['agents', 'add', name, '--role', role, ...extra, ...base]);
      assert.equal(added.code, 0, added.stderr);
    }
    for (const args of [
      ['task', 'add', 'Write the parser', '--priority', 'high', '--role', 'dev'],
      ['task', 'add', 'Tidy the docs', '--priority', 'low', '--role', 'qa'],
      ['task', 'schedule', '--strategy', 'round_robin'],
      ['send', 'orchestrator', '{"event":"restart","agent":"dev-1","text":"restarted after a crash"}', '--type', 'event', '--body-json', '--from', 'supervisor'],
    ]) {
      const result = await cli([...args, ...base]);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
    // A session of exactly 80x24 for the dashboard: no status line, fixed size.
    tmux.run(['new-session', '-d', '-s', 'mon', '-x', '80', '-y', '24', 'sleep 600']);
    tmux.run(['set-option', '-t', 'mon', 'status', 'off']);
    tmux.run(['set-option', '-w', '-t', 'mon', 'remain-on-exit', 'on']);
    tmux.run(['resize-window', '-t', 'mon', '-x', '80', '-y', '24']);
  });
  after(() => bed.close());

  const screen = () => tmux.run(['capture-pane', '-p', '-t', 'mon']);
  const dead = () => tmux.run(['display-message', '-p', '-t', 'mon', '#{pane_dead} #{pane_dead_status}#{pane_dead_signal}']);
  const start = () => tmux.run(['respawn-pane', '-k', '-t', 'mon', monitorLine]);
  // tmux 3.3 does not always record a respawned pane's exit status (measured: empty
  // for a plain `sh -c 'exit 3'` too); when it does, it must be 0 and no signal.
  const assertCleanExit = (state: string) => assert.match(state, /^1 0?$/, `exit status 0, got ${state}`);

  it('shows the sections, an agent row, the task queue and the events, and q quits', async () => {
    assert.equal(tmux.run(['display-message', '-p', '-t', 'mon', '#{pane_width}x#{pane_height}']), '80x24');
    start();
    const shown = await waitFor(() => {
      const s = screen();
      // The whole frame, footer included: a capture can land while the monitor is still drawing one.
      return s.includes('Events (1)') && /dev-1 +dev +busy/.test(s) && /^ q quit/.test(s.split('\n')[23] ?? '') ? s : undefined;
    }, 15_000, `the dashboard\n${screen()}`);
    const lines = shown.split('\n');
    assert.equal(lines.length, 24);
    assert.ok(lines.every((l) => l.length <= 80), shown);
    assert.match(lines[0]!, /^ bmad-bus monitor .*\d\d:\d\d:\d\d ?$/);
    assert.match(shown, /router DOWN/);
    assert.match(shown, /── Agents \(3\) ─/);
    assert.match(shown, /AGENT +ROLE +STATUS +TASK +UNDEL +CPU +MEM/);
    // The agent with a pane: its session, status, its task, and the memory of its process tree.
    assert.match(shown, /bystander +dev-1 +dev +busy +t1 Write the parser +\d+ +(\d+%|-) +\d+[KMG]/);
    assert.match(shown, /qa-1 +qa +busy +t2 Tidy the docs/);
    assert.match(shown, /── Tasks: critical 0 · high 0 · normal 0 · low 0 · assigned 2 · failed 0 ─/);
    assert.match(shown, /high +t1 +→ dev-1 +Write the parser/);
    assert.match(shown, /supervisor restart agent=dev-1 restarted after a crash|supervisor restart restarted after a crash agent=dev-1/);
    assert.match(lines[23]!, /^ q quit/);

    tmux.run(['send-keys', '-t', 'mon', 'q']);
    await waitFor(() => dead().startsWith('1'), 10_000, 'monitor to exit on q');
    assertCleanExit(dead());
    // The alternate screen is left: the dashboard is gone from the terminal.
    assert.doesNotMatch(screen(), /Agents \(/);
  });

  it('Ctrl-C quits too, and a new task shows on the next refresh', async () => {
    start();
    await waitFor(() => screen().includes('Agents (3)'), 15_000, 'the dashboard');
    assert.equal((await cli(['task', 'add', 'Fix the flaky test', '--priority', 'critical', ...base])).code, 0);
    await waitFor(() => /critical +t3 +ready +Fix the flaky test/.test(screen()), 10_000, `the new task\n${screen()}`);
    // SIGWINCH: a bigger terminal gets a bigger frame at once.
    tmux.run(['resize-window', '-t', 'mon', '-x', '100', '-y', '30']);
    await waitFor(() => screen().split('\n').some((l) => /^── Agents \(3\) ─+$/.test(l) && l.length === 100), 10_000, `a 100-column frame\n${screen()}`);
    tmux.run(['send-keys', '-t', 'mon', 'C-c']);
    await waitFor(() => dead().startsWith('1'), 10_000, 'monitor to exit on C-c');
    assertCleanExit(dead());
  });

  it('--once prints one frame of the terminal size and exits', async () => {
    const result = await cli(['monitor', '--once', ...base]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.replace(/\n$/, '').split('\n');
    assert.equal(lines.length, 24);
    assert.match(result.stdout, /Agents \(3\)/);
    assert.match(result.stdout, /Events \(1\)/);
  });

  it('`up` opens it in a topology pane (`command: "$BMAD_BUS_BIN" monitor`) on the team\'s bus and server', async () => {
    const file = path.join(bed.dir, 'team.yaml');
    fs.writeFileSync(file, [
      'name: with-monitor',
      'sessions:',
      '  - name: mon-support',
      '    windows:',
      '      - name: dashboard',
      '        panes:',
      '          - { title: monitor, agent: false, command: \'"$BMAD_BUS_BIN" monitor\' }',
      '',
    ].join('\n'));
    await bed.up(file);
    const pane = () => tmux.run(['capture-pane', '-p', '-t', 'mon-support:dashboard']);
    await waitFor(() => pane().includes('Agents (3)') && pane().includes(root), 15_000, `the dashboard in the team's pane\n${pane()}`);
    const down = await cli(['down', file, ...base]);
    assert.equal(down.code, 0, down.stderr);
  });
});
