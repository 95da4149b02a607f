import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEnvelope } from '../../src/bus/envelope.js';
import type { AgentRecord } from '../../src/bus/registry.js';
import type { DeliveryItem, DeliveryResult, Sink } from '../../src/bus/delivery.js';
import { createPaneSink } from '../../src/tmux/pane-sink.js';
import { renderMessage } from '../../src/tmux/render.js';
import { waitFor } from '../helpers/bus.js';
import { TmuxBed, shq } from '../helpers/tmux.js';

// The whole suite runs once per backend: the control-mode client and one tmux process per command.
for (const mode of ['control', 'plain'] as const) {
  describe(`tmux pane sink (${mode})`, () => {
    const bed = new TmuxBed();
    const { tmux, dir } = bed;
    let offset = 0;
    const events: Array<{ to: string; type: string; body: unknown }> = [];
    const sinkOptions = { publish: (m: { to: string; type: string; body: unknown }) => events.push(m), log: () => undefined, pollMs: 100 };
    let previousMode: string | undefined;

    const item = (from: string, to: string, body: unknown): DeliveryItem => {
      const envelope = createEnvelope({ from, to, body });
      const line = JSON.stringify(envelope);
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      return { offset: start, end: offset, line, envelope };
    };
    // Registered as `up` registers: the pane tagged for its agent (a missing pane cannot be).
    const agent = (name: string, pane: string, extra: Partial<AgentRecord> = {}): AgentRecord => {
      tmux.tryRun(['set-option', '-p', '-t', pane, '@bmad_agent', name]);
      return { name, deliver: 'tmux', tmux: pane, tmux_socket: tmux.socket, submit_delay: 5, registered: new Date().toISOString(), ...extra };
    };

    before(() => {
      previousMode = process.env.BMAD_TMUX_MODE;
      process.env.BMAD_TMUX_MODE = mode;
      bed.start();
    });
    after(() => {
      if (previousMode === undefined) delete process.env.BMAD_TMUX_MODE;
      else process.env.BMAD_TMUX_MODE = previousMode;
      return bed.close();
    });

    it(`pastes ${mode === 'control' ? 500 : 100} messages from 4 senders into a cat pane, complete, in order, never interleaved`, async () => {
      const count = mode === 'control' ? 500 : 100;
      const out = path.join(dir, 'cat.out');
      const pane = tmux.newPane(`exec cat > ${shq(out)}`);
      const sink = createPaneSink(agent('cat-agent', pane), sinkOptions);
      const items: DeliveryItem[] = [];
      for (let i = 0; i < count; i++) {
        const sender = `sender-${i % 4}`;
        items.push(item(sender, 'cat-agent', `message ${i} from ${sender} ${'x'.repeat(i % 50)}`));
      }
      await deliverAll(sink, items);
      await waitFor(() => lines(out).length >= count, 10_000, `${count} lines`);
      assert.deepEqual(lines(out), items.map((it) => renderMessage(it.envelope)));
      await sink.close();
    });

    it('GNU readline (bash read -e): a hostile body arrives as exact text, submitted once, runs nothing', async () => {
      const out = path.join(dir, 'readline.out');
      const marker = path.join(dir, 'pwned-rl');
      const loop = `while IFS= read -r -e line; do printf '%s\\n' "$line" >> ${shq(out)}; done`;
      const pane = tmux.newPane(`exec bash --norc --noprofile -c ${shq(loop)}`, { INPUTRC: '/dev/null' });
      const sink = createPaneSink(agent('rl-agent', pane, { command: 'bash' }), sinkOptions);
      const items = [
        item('mallory', 'rl-agent', hostileBody(marker)),
        item('mallory', 'rl-agent', 'first line\nsecond line\nthird'),
        item('mallory', 'rl-agent', { json: 'body', n: 1 }),
        item('mallory', 'rl-agent', 'after'),
      ];
      await deliverAll(sink, items);
      // A second submit of any of them would add a line before the sentinel's.
      const sentinel = item('mallory', 'rl-agent', 'sentinel');
      await deliverAll(sink, [sentinel]);
      await waitFor(() => lines(out).length >= items.length + 1, 10_000, 'all lines and the sentinel');
      assert.deepEqual(lines(out), [...items, sentinel].map((it) => renderMessage(it.envelope)));
      assert.ok(lines(out)[0]!.includes('␛[201~; touch'), 'ESC arrives as a visible ␛');
      assert.equal(lines(out)[1], '[mallory → rl-agent] first line ⏎ second line ⏎ third');
      assert.equal(fs.existsSync(marker), false, 'nothing ran');
      await sink.close();
    });

    it("Python input() with readline: exact text, submitted once, ESC[201~ cannot end the paste", async () => {
      const out = path.join(dir, 'python.out');
      const marker = path.join(dir, 'pwned-py');
      const script = [
        'import readline, sys',
        'while True:',
        '    line = input("py> ")',
        `    with open(${JSON.stringify(out)}, "a") as f: f.write(line + "\\n")`,
      ].join('\n');
      const pane = tmux.newPane(`exec python3 -c ${shq(script)}`, { INPUTRC: '/dev/null' });
      const sink = createPaneSink(agent('py-agent', pane, { command: 'python3' }), sinkOptions);
      const items = [item('mallory', 'py-agent', hostileBody(marker)), item('mallory', 'py-agent', 'two\nlines'), item('mallory', 'py-agent', 'last')];
      await deliverAll(sink, items);
      const sentinel = item('mallory', 'py-agent', 'sentinel');
      await deliverAll(sink, [sentinel]);
      await waitFor(() => lines(out).length >= items.length + 1, 10_000, 'all lines and the sentinel');
      assert.deepEqual(lines(out), [...items, sentinel].map((it) => renderMessage(it.envelope)));
      assert.equal(fs.existsSync(marker), false, 'nothing ran');
      await sink.close();
    });

    it('a pane killed mid-stream loses nothing; the rest arrive in order when it is respawned', async () => {
      const out = path.join(dir, 'killed.out');
      const pane = tmux.newPane(`exec cat >> ${shq(out)}`);
      tmux.run(['set-option', '-w', '-t', pane, 'remain-on-exit', 'on']);
      const sink = createPaneSink(agent('phoenix', pane), sinkOptions);
      let woken = 0;
      sink.onWake?.(() => woken++);
      const items = Array.from({ length: 60 }, (_, i) => item('sender', 'phoenix', `msg ${i}`));
      const waits: DeliveryResult[] = [];
      const delivering = deliverAll(sink, items, 10, waits);
      await waitFor(() => lines(out).length >= 20, 10_000, '20 lines');
      process.kill(tmux.panePid(pane), 'SIGKILL');
      await waitFor(() => waits.some((w) => w.waiting === 'pane dead/missing'), 10_000, 'waiting: pane dead');
      tmux.run(['respawn-pane', '-t', pane]);
      await delivering;
      assert.ok(woken >= 1, 'the sink woke the router when the pane came back');
      await waitFor(() => dedupe(lines(out)).length >= 60, 10_000, 'all 60');
      // At-least-once: messages typed just before the kill may arrive twice; first arrivals are in order.
      assert.deepEqual(dedupe(lines(out)), items.map((it) => renderMessage(it.envelope)));
      await sink.close();
    });

    it('does not type into a bare shell when the agent program was expected', async () => {
      const pane = tmux.newPane('exec bash --norc --noprofile -i');
      await waitFor(() => tmux.run(['display-message', '-p', '-t', pane, '#{pane_current_command}']) === 'bash', 5000, 'bash');
      const sink = createPaneSink(agent('claude-1', pane, { command: 'claude --dangerously-skip-permissions' }), sinkOptions);
      const result = await sink.deliver([item('user', 'claude-1', 'touch nothing')]);
      assert.equal(result.delivered, 0);
      assert.equal(result.waiting, 'pane runs bash, expected claude');
      assert.ok(!tmux.capture(pane).includes('touch nothing'));
      await sink.close();
    });

    it('a missing pane waits and says why', async () => {
      const sink = createPaneSink(agent('ghost', '%9999'), sinkOptions);
      const result = await sink.deliver([item('user', 'ghost', 'hello')]);
      assert.deepEqual({ delivered: result.delivered, waiting: result.waiting }, { delivered: 0, waiting: 'pane dead/missing' });
      assert.ok((result.retryAfterMs ?? 0) > 0);
      await sink.close();
    });

    it('takes a pane out of copy-mode before pasting', async () => {
      const out = path.join(dir, 'copy.out');
      const pane = tmux.newPane(`exec cat > ${shq(out)}`);
      tmux.run(['copy-mode', '-t', pane]);
      assert.equal(tmux.run(['display-message', '-p', '-t', pane, '#{pane_in_mode}']), '1');
      const sink = createPaneSink(agent('copy-agent', pane), sinkOptions);
      const items = [item('user', 'copy-agent', 'out of copy mode')];
      await deliverAll(sink, items);
      await waitFor(() => lines(out).length >= 1, 5000, 'line');
      assert.deepEqual(lines(out), items.map((it) => renderMessage(it.envelope)));
      await sink.close();
    });

    it('reports a submit that never takes as unconfirmed, never as done', async () => {
      // A submit key that only types a space: the text stays in readline's input line.
      const pane = tmux.newPane(`exec bash --norc --noprofile -c ${shq('read -r -e line; sleep 60')}`, { INPUTRC: '/dev/null' });
      const sink = createPaneSink(agent('stuck', pane, { command: 'bash', submit: 'Space' }), sinkOptions);
      const before = events.length;
      const items = [item('user', 'stuck', 'never submitted'), item('user', 'stuck', 'second')];
      const result = await sink.deliver(items);
      assert.equal(result.delivered, 1, 'the batch stops at the unconfirmed message');
      assert.match(result.waiting ?? '', /^unconfirmed: /);
      const event = events.slice(before).find((e) => e.type === 'event');
      assert.equal(event?.to, 'orchestrator');
      assert.equal((event?.body as { event: string }).event, 'delivery_unconfirmed');
      await sink.close();
    });
  });
}

/** Delivers like the router does: batches, one call at a time, retrying what is left. */
async function deliverAll(sink: Sink, items: DeliveryItem[], batch = 50, results: DeliveryResult[] = []): Promise<void> {
  let at = 0;
  const deadline = Date.now() + 60_000;
  while (at < items.length) {
    const result = await sink.deliver(items.slice(at, at + batch));
    results.push(result);
    at += result.delivered;
    // As the router's consumer does: go back to what the sink can no longer vouch for.
    if (result.rewindTo !== undefined) {
      const back = items.findIndex((it) => it.offset >= result.rewindTo!);
      if (back >= 0 && back < at) at = back;
    }
    if (result.delivered === 0) {
      if (Date.now() > deadline) throw new Error(`stuck: ${result.waiting}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function hostileBody(marker: string): string {
  return `C-c \x03 Enter 'single' "double" $(touch ${marker}) \`touch ${marker}\` ünïcödé 🚀 ${'\\'}n\nnext line\x1b[201~; touch ${marker}\n\x1b[200~ end \x07\x7f`;
}

function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
  } catch {
    return [];
  }
}

/** First arrivals only: a re-delivery (at-least-once) repeats lines already seen. */
function dedupe(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((line) => !seen.has(line) && Boolean(seen.add(line)));
}
