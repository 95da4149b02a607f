import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCapture, wrapCommand } from '../../src/tmux/exec.js';
import { parseSpec } from '../../src/commands/exec.js';
import { cli, tempDir, waitFor } from '../helpers/bus.js';
import { TestTmux } from '../helpers/tmux.js';

describe('exec: parsing', () => {
  it('finds the output between the markers, not in the echo of the typed line', () => {
    const nonce = 'abc123';
    const typed = wrapCommand('echo hi', nonce);
    assert.ok(!typed.includes(`BMADX-S-${nonce}`) && !typed.includes(`BMADX-E-${nonce}`), 'the typed text never contains a marker');
    const screen = ['$ ' + typed.replace('\n', '\n> '), `BMADX-S-${nonce}`, 'hi', '', `BMADX-E-${nonce}-0`, '$ '].join('\n');
    assert.deepEqual(parseCapture(screen, nonce), { output: 'hi', exitCode: 0, truncated: false });
    assert.equal(parseCapture(screen.replace(`BMADX-E-${nonce}-0`, ''), nonce), undefined);
    assert.deepEqual(parseCapture(`x\nBMADX-E-${nonce}-7`, nonce), { output: 'x', exitCode: 7, truncated: true });
  });

  it("reads 'AGENT: COMMAND' specs", () => {
    assert.deepEqual(parseSpec('dev-1: make test -j2'), { agent: 'dev-1', command: 'make test -j2' });
    assert.deepEqual(parseSpec('%3: echo a:b'), { agent: '%3', command: 'echo a:b' });
    assert.throws(() => parseSpec('no command'), /AGENT: COMMAND/);
  });
});

describe('exec in real shell panes', () => {
  const tmux = new TestTmux();
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'bus');
  const base = ['--dir', root, '--tmux-socket', tmux.socket];

  before(async () => {
    tmux.start();
    assert.equal((await cli(['init', '--dir', root])).code, 0);
    for (const name of ['sh-a', 'sh-b']) {
      const pane = tmux.newPane('bash --norc --noprofile', { PS1: '$ ' });
      const added = await cli(['agents', 'add', name, '--tmux', pane, '--deliver', 'none', ...base]);
      assert.equal(added.code, 0, added.stderr);
      await waitFor(() => tmux.run(['display-message', '-p', '-t', pane, '#{pane_current_command}']) === 'bash', 5000);
    }
    const cat = tmux.newPane('cat');
    assert.equal((await cli(['agents', 'add', 'not-a-shell', '--tmux', cat, '--deliver', 'none', ...base])).code, 0);
  });
  after(() => {
    tmux.kill();
    tmp.cleanup();
  });

  it('returns the output and passes the exit code on', async () => {
    const result = await cli(['exec', 'sh-a', ...base, '--', 'echo hello; printf "%s\\n" "a  b" "$((6*7))"']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'hello\na  b\n42\n');
    const failed = await cli(['exec', 'sh-a', ...base, '--', 'echo oops >&2; (exit 3)']);
    assert.equal(failed.code, 3);
    assert.equal(failed.stdout, 'oops\n');
    // A comment at the end and quotes do no harm; the output without a final newline comes back whole.
    const tricky = await cli(['exec', 'sh-a', '--json', ...base, '--', `printf 'no newline'; echo -n " it's" # done`]);
    assert.equal(tricky.code, 0, tricky.stderr);
    const json = JSON.parse(tricky.stdout) as { output: string; exitCode: number; agent: string };
    assert.deepEqual([json.agent, json.output, json.exitCode], ['sh-a', "no newline it's", 0]);
  });

  it('times out with a clear error, and --interrupt frees the shell', async () => {
    const slow = await cli(['exec', 'sh-b', '--timeout', '500ms', '--interrupt', ...base, '--', 'sleep 30']);
    assert.equal(slow.code, 1);
    assert.match(slow.stderr, /`sleep 30` in sh-b \(%\d+\) did not finish within 0\.5s \(interrupted with C-c\)/);
    const next = await cli(['exec', 'sh-b', ...base, '--', 'echo free']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout, 'free\n');
  });

  it('refuses a pane that does not run a shell', async () => {
    const result = await cli(['exec', 'not-a-shell', ...base, '--', 'ls']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /runs `cat`, not a shell/);
  });

  it('--parallel runs several at once and prints each under its agent', async () => {
    const started = Date.now();
    const result = await cli(['exec', '--parallel', ...base, 'sh-a: sleep 1; echo from-a', 'sh-b: sleep 1; echo from-b; (exit 4)']);
    const took = Date.now() - started;
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stdout, /^== sh-a: sleep 1; echo from-a {2}\(exit 0, [\d.]+s\)\nfrom-a\n== sh-b: sleep 1; echo from-b; \(exit 4\) {2}\(exit 4, [\d.]+s\)\nfrom-b\n$/);
    // Both slept a second at the same time (a loose bound: the machines are shared).
    assert.ok(took < 10_000, `took ${took} ms`);
    const json = await cli(['exec', '--parallel', '--json', ...base, 'sh-a: echo 1', 'nobody: echo 2']);
    assert.equal(json.code, 1);
    const outcomes = JSON.parse(json.stdout) as Array<{ agent: string; ok: boolean; result?: { output: string }; error?: string }>;
    assert.deepEqual(outcomes.map((o) => [o.agent, o.ok]), [['sh-a', true], ['nobody', false]]);
    assert.equal(outcomes[0]!.result!.output, '1');
    assert.match(outcomes[1]!.error!, /No agent named `nobody`/);
  });
});
