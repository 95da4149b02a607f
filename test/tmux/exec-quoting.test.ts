import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { singleSpec } from '../../src/commands/exec.js';
import { shellCommandLine } from '../../src/tmux/quote.js';
import { cli, tempDir, waitFor } from '../helpers/bus.js';
import { TestTmux } from '../helpers/tmux.js';

describe('exec: how the command line is built', () => {
  it('quotes each word when there are several, leaves one word as a command line', () => {
    assert.deepEqual(singleSpec(['a', 'sh', '-c', 'exit 3']), { agent: 'a', command: "sh -c 'exit 3'" });
    assert.deepEqual(singleSpec(['a', 'make', 'test']), { agent: 'a', command: 'make test' });
    assert.deepEqual(singleSpec(['a', 'echo hi | wc -c']), { agent: 'a', command: 'echo hi | wc -c' });
    assert.equal(shellCommandLine(['printf', '%s\n', "it's", '', '$HOME', 'a;b']), `printf '%s\n' 'it'\\''s' '' '$HOME' 'a;b'`);
  });
});

describe('exec keeps words and the pane shell', () => {
  const tmux = new TestTmux();
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'bus');
  const base = ['--dir', root, '--tmux-socket', tmux.socket];
  let pane = '';
  const panePid = () => tmux.run(['display-message', '-p', '-t', pane, '#{pane_pid} #{pane_dead} #{pane_current_command}']);

  before(async () => {
    tmux.start();
    assert.equal((await cli(['init', '--dir', root])).code, 0);
    pane = tmux.newPane('bash --norc --noprofile', { PS1: '$ ' });
    const added = await cli(['agents', 'add', 'sh-q', '--tmux', pane, '--deliver', 'none', ...base]);
    assert.equal(added.code, 0, added.stderr);
    await waitFor(() => tmux.run(['display-message', '-p', '-t', pane, '#{pane_current_command}']) === 'bash', 5000);
  });
  after(() => {
    tmux.kill();
    tmp.cleanup();
  });

  it("`sh -c 'exit 3'` runs those three words and returns 3", async () => {
    const result = await cli(['exec', 'sh-q', ...base, '--', 'sh', '-c', 'exit 3']);
    assert.equal(result.code, 3, result.stderr);
  });

  it('passes every word through as it is: quotes, spaces, $, globs, empty words', async () => {
    const words = ["it's", 'a  b', '$HOME', '*', '', 'x;y', '"dq"'];
    const result = await cli(['exec', 'sh-q', ...base, '--', 'printf', '[%s]\\n', ...words]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, words.map((w) => `[${w}]\n`).join(''));
  });

  it('`exit 4` gives exit code 4 and leaves the pane shell alive', async () => {
    const before = panePid();
    const result = await cli(['exec', 'sh-q', ...base, '--', 'exit', '4']);
    assert.equal(result.code, 4, result.stderr);
    const line = await cli(['exec', 'sh-q', ...base, '--', 'echo still here; exit 5']);
    assert.deepEqual([line.code, line.stdout], [5, 'still here\n']);
    assert.equal(panePid(), before, 'the same shell, alive, at its prompt');
    const next = await cli(['exec', 'sh-q', ...base, '--', 'echo', 'ok']);
    assert.deepEqual([next.code, next.stdout], [0, 'ok\n']);
  });
});
