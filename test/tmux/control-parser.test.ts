import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ControlParser, type ControlEvent } from '../../src/tmux/control-parser.js';
import { tmuxCommandLine } from '../../src/tmux/quote.js';
import { waitFor } from '../helpers/bus.js';
import { TestTmux } from '../helpers/tmux.js';

/** Feeds `bytes` in pieces of `size` bytes (1: one byte at a time) and collects the events. */
function parse(bytes: Buffer, size: number): ControlEvent[] {
  const parser = new ControlParser();
  const events: ControlEvent[] = [];
  for (let at = 0; at < bytes.length; at += size) events.push(...parser.push(bytes.subarray(at, at + size)));
  return events;
}

describe('tmux control-mode parser', () => {
  const stream = Buffer.from(
    [
      // The attach command's own block (flags 0) is not ours.
      '%begin 1700000000 100 0',
      '%end 1700000000 100 0',
      '%session-changed $0 bystander',
      '%begin 1700000001 101 1',
      'bmad-bus',
      '%end 1700000001 101 1',
      // Output that looks like protocol: a captured screen, UTF-8 of every length, an empty line, CRLF.
      '%begin 1700000002 102 1',
      'ünïcödé 🚀 ␛ 日本語',
      '%end 1 2 1',
      '',
      '%begin 9 9 1',
      'crlf line\r',
      '%end 1700000002 102 1',
      '%window-add @3',
      '%begin 1700000003 103 1',
      "parse error: unknown command: nope",
      '%error 1700000003 103 1',
      // if-shell: the command it chooses is answered in a block of its own.
      '%begin 1700000004 104 1',
      '%end 1700000004 104 1',
      '%begin 1700000004 105 1',
      'chosen',
      '%end 1700000004 105 1',
      '%exit server exited',
      '',
    ].join('\n'),
  );
  const expected: ControlEvent[] = [
    { type: 'notification', line: '%session-changed $0 bystander' },
    { type: 'block', ok: true, lines: ['bmad-bus'] },
    { type: 'block', ok: true, lines: ['ünïcödé 🚀 ␛ 日本語', '%end 1 2 1', '', '%begin 9 9 1', 'crlf line'] },
    { type: 'notification', line: '%window-add @3' },
    { type: 'block', ok: false, lines: ['parse error: unknown command: nope'] },
    { type: 'block', ok: true, lines: [] },
    { type: 'block', ok: true, lines: ['chosen'] },
    { type: 'exit', reason: 'server exited' },
  ];

  it('reads blocks, errors, notifications and %exit from a whole stream', () => {
    assert.deepEqual(parse(stream, stream.length), expected);
  });

  it('gives the same events fed one byte at a time (UTF-8 characters split across reads)', () => {
    assert.deepEqual(parse(stream, 1), expected);
  });

  it('gives the same events for every other chunk size', () => {
    for (const size of [2, 3, 5, 7, 13, 64]) assert.deepEqual(parse(stream, size), expected, `chunks of ${size}`);
  });

  it('keeps an incomplete line until its newline comes', () => {
    const parser = new ControlParser();
    assert.deepEqual(parser.push('%begin 1 1 1\nhal'), []);
    assert.deepEqual(parser.push('f'), []);
    assert.deepEqual(parser.push('\n%end 1 1 1'), []);
    assert.deepEqual(parser.push('\n'), [{ type: 'block', ok: true, lines: ['half'] }]);
  });

  describe('on a real tmux -C stream', () => {
    const tmux = new TestTmux();
    before(() => tmux.start());
    after(() => tmux.kill());

    it('parses what tmux writes the same whole and one byte at a time', async () => {
      const pane = tmux.newPane("printf '%s\\n' 'ünïcödé 🚀' '%end 1 2 1'; exec cat");
      await waitFor(() => tmux.capture(pane).includes('%end 1 2 1'), 5000, 'the pane to print');
      const commands = [
        ['display-message', '-p', 'one'],
        ['capture-pane', '-p', '-t', pane, '-S', '0', '-E', '1'],
        ['no-such-command'],
        ['if-shell', '-F', '1', 'display-message -p yes', 'display-message -p no'],
      ];
      const child = spawn('tmux', ['-L', tmux.socket, '-C', 'attach-session', '-f', 'ignore-size,no-output'], { stdio: ['pipe', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      const exited = new Promise((r) => child.on('exit', r));
      for (const command of commands) child.stdin.write(`${tmuxCommandLine(command)}\n`);
      // Waits for the last answer (the if-shell's chosen command), then detaches.
      const deadline = Date.now() + 10_000;
      while (!Buffer.concat(chunks).toString().includes('\nyes\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.stdin.end();
      await exited;
      const bytes = Buffer.concat(chunks);
      const whole = parse(bytes, bytes.length);
      assert.deepEqual(parse(bytes, 1), whole);
      const blocks = whole.filter((e) => e.type === 'block');
      assert.deepEqual(blocks, [
        { type: 'block', ok: true, lines: ['one'] },
        { type: 'block', ok: true, lines: ['ünïcödé 🚀', '%end 1 2 1'] },
        { type: 'block', ok: false, lines: ['parse error: unknown command: no-such-command'] },
        { type: 'block', ok: true, lines: [] },
        { type: 'block', ok: true, lines: ['yes'] },
      ]);
      assert.equal(whole.at(-1)?.type, 'exit');
    });
  });
});
