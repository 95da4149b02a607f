import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, test } from 'node:test';
import lockfile from 'proper-lockfile';
import { handOver, type HookCall } from '../../src/agents/hook-handoff.js';
import { HANDOFF_LIMITS } from '../../src/agents/hook-handoff-text.js';
import { readTrail } from '../../src/bus/delivery-trail.js';
import type { Envelope } from '../../src/bus/envelope.js';
import { Layout } from '../../src/bus/layout.js';
import { readPosition } from '../../src/client/read.js';
import { send as sendMessages } from '../../src/client/send.js';
import { cli, tempRoot } from '../helpers/bus.js';

const stop = (continued = false): HookCall => ({ cli: 'claude', event: 'Stop', continued });
const prompt: HookCall = { cli: 'claude', event: 'UserPromptSubmit', continued: false };

interface Blocked {
  decision: string;
  reason: string;
}

/** The ids a handoff's text holds, in the order it holds them. */
const idsIn = (text: string): string[] => [...text.matchAll(/id (\S+) ·/g)].map((m) => m[1]!);

describe('hook delivery: what an agent\'s hooks hand over (no router runs)', () => {
  let root: string;
  let cleanup: () => void;
  let layout: Layout;
  beforeEach(async () => {
    ({ root, cleanup } = tempRoot());
    layout = new Layout(root);
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1', '--deliver', 'hooks'])).code, 0);
  });
  afterEach(() => cleanup());

  // As `bmad-bus send` does with no router: journaled directly.
  const send = (bodies: string[], to = 'dev-1'): Promise<Envelope[]> => sendMessages(layout, bodies.map((body) => ({ from: 'lead', to, body })));
  const block = async (call: HookCall): Promise<Blocked | undefined> => {
    const out = await handOver(layout, 'dev-1', call);
    return out === undefined ? undefined : (JSON.parse(out) as Blocked);
  };

  test('a turn end blocks with the pending messages in order; the next stop (a continuation) confirms them', async () => {
    const sent = await send(['one', 'two\nlines', '{"json": true}']);
    const before = readPosition(layout, 'dev-1');
    const first = await block(stop());
    assert.equal(first?.decision, 'block');
    assert.deepEqual(idsIn(first!.reason), sent.map((e) => e.id));
    assert.match(first!.reason, /^\[bmad-bus\] 3 new bus messages for dev-1, handed over at \d{4}-\d\d-\d\dT[\d:.]+Z\./);
    assert.match(first!.reason, /two\nlines/);
    assert.equal(readPosition(layout, 'dev-1'), before, 'handed over, not yet taken: the position stays');
    assert.deepEqual(readTrail(layout, 'dev-1', sent[0]!.id).map((r) => r.stage), ['handed']);

    assert.equal(await block(stop(true)), undefined, 'nothing more: the stop goes through');
    assert.ok(readPosition(layout, 'dev-1') > before);
    for (const e of sent) assert.deepEqual(readTrail(layout, 'dev-1', e.id).map((r) => r.stage), ['handed', 'received']);
    assert.equal(await block(stop()), undefined, 'each message once');
    const traced = JSON.parse((await cli(['--dir', root, 'trace', sent[1]!.id, '--json'])).stdout) as { recipients: Array<{ via: string; state: string }> };
    assert.deepEqual(traced.recipients.map((r) => [r.via, r.state]), [['hooks', 'received']]);
  });

  test('a block the CLI did not follow (a plain stop came next) hands the same messages again', async () => {
    const sent = await send(['only']);
    assert.deepEqual(idsIn((await block(stop()))!.reason), [sent[0]!.id]);
    assert.deepEqual(idsIn((await block(stop()))!.reason), [sent[0]!.id], 'not taken: handed again, same id');
    // A restart voids it too.
    assert.equal(await handOver(layout, 'dev-1', { cli: 'claude', event: 'SessionStart', continued: false }), undefined);
    assert.deepEqual(idsIn((await block(stop()))!.reason), [sent[0]!.id]);
    assert.equal(await block(stop(true)), undefined);
    assert.equal(await block(stop()), undefined);
  });

  test('a notification between the block and its continuation settles nothing', async () => {
    const sent = await send(['a', 'b']);
    await block(stop());
    assert.equal(await handOver(layout, 'dev-1', { cli: 'claude', event: 'Notification:permission_prompt', continued: false }), undefined);
    const late = await send(['c']);
    const next = await block(stop(true));
    assert.deepEqual(idsIn(next!.reason), [late[0]!.id], 'the first two taken, the new one handed in the same stop');
    for (const e of sent) assert.equal(readTrail(layout, 'dev-1', e.id).at(-1)?.stage, 'received');
  });

  test('a prompt gets them as added context, confirmed by the end of its turn; Gemini CLI speaks its own events', async () => {
    const sent = await send(['for the prompt']);
    const out = JSON.parse((await handOver(layout, 'dev-1', prompt))!) as { hookSpecificOutput: { hookEventName: string; additionalContext: string } };
    assert.equal(out.hookSpecificOutput.hookEventName, 'UserPromptSubmit');
    assert.deepEqual(idsIn(out.hookSpecificOutput.additionalContext), [sent[0]!.id]);
    assert.equal(await block(stop()), undefined, 'the turn ended: taken, nothing new');
    assert.equal(readTrail(layout, 'dev-1', sent[0]!.id).at(-1)?.stage, 'received');

    const gem = await send(['for gemini']);
    const before = JSON.parse((await handOver(layout, 'dev-1', { cli: 'gemini', event: 'BeforeAgent', continued: false }))!) as { hookSpecificOutput: { hookEventName: string } };
    assert.equal(before.hookSpecificOutput.hookEventName, 'BeforeAgent');
    const more = await send(['at the end']);
    const after = JSON.parse((await handOver(layout, 'dev-1', { cli: 'gemini', event: 'AfterAgent', continued: false }))!) as Blocked;
    assert.deepEqual(idsIn(after.reason), [more[0]!.id]);
    assert.equal(readTrail(layout, 'dev-1', gem[0]!.id).at(-1)?.stage, 'received');
    // Gemini CLI runs BeforeAgent for the continuation: that is the block taken.
    assert.equal(await handOver(layout, 'dev-1', { cli: 'gemini', event: 'BeforeAgent', continued: false }), undefined);
    assert.equal(readTrail(layout, 'dev-1', more[0]!.id).at(-1)?.stage, 'received');
  });

  test('a long backlog goes over several turns, each bounded, saying how many remain; at most 4 blocks in a row', async () => {
    const bodies = Array.from({ length: 90 }, (_, i) => `message ${i} ${'x'.repeat(50)}`);
    const sent = await send(bodies);
    const seen: string[] = [];
    let reason = (await block(stop()))!.reason;
    assert.ok(reason.length < HANDOFF_LIMITS.chars + 1000, `bounded: ${reason.length} characters`);
    assert.match(reason, /20 new bus messages for dev-1, handed over at \S+ \(70 more waiting: they come when this turn ends\)/);
    seen.push(...idsIn(reason));
    for (let i = 0; i < 3; i++) {
      reason = (await block(stop(true)))!.reason;
      seen.push(...idsIn(reason));
    }
    assert.equal(await block(stop(true)), undefined, 'a fifth block in a row is not asked for: the CLIs cap a chain');
    assert.equal(seen.length, 80);
    // The next turn (the router's nudge, say) goes on.
    const ctx = JSON.parse((await handOver(layout, 'dev-1', prompt))!) as { hookSpecificOutput: { additionalContext: string } };
    seen.push(...idsIn(ctx.hookSpecificOutput.additionalContext));
    assert.equal(await block(stop()), undefined);
    assert.deepEqual(seen, sent.map((e) => e.id), 'every message once, in order');
  });

  test('a body past the bound is cut, and says where the whole one is', async () => {
    const sent = await send(['y'.repeat(HANDOFF_LIMITS.bodyChars + 500), 'after it']);
    const reason = (await block(stop()))!.reason;
    assert.deepEqual(idsIn(reason), [sent[0]!.id], 'alone: the next one would pass the bound');
    assert.match(reason, new RegExp(`cut at ${HANDOFF_LIMITS.bodyChars} of ${HANDOFF_LIMITS.bodyChars + 500} characters; the whole message: bmad-bus trace ${sent[0]!.id} --json`));
    assert.deepEqual(idsIn((await block(stop(true)))!.reason), [sent[1]!.id]);
  });

  test('nothing for an agent under another delivery mode, for Codex, or for messages of others', async () => {
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-2', '--deliver', 'inbox'])).code, 0);
    await send(['not yours'], 'dev-2');
    assert.equal(await block(stop()), undefined);
    assert.equal(await handOver(layout, 'dev-2', stop()), undefined, 'inbox delivery: its hooks hand nothing over');
    assert.equal(await handOver(layout, 'nobody', stop()), undefined, 'not registered');
    await send(['for codex?']);
    assert.equal(await handOver(layout, 'dev-1', { cli: 'codex', event: 'agent-turn-complete', continued: false }), undefined);
    assert.equal(fs.existsSync(layout.handoffFile('dev-2')), false);
  });

  test('bmad-bus hook prints the answer, fast, and with the lock held elsewhere gives up in about a second, printing nothing', async () => {
    const sent = await send(['through the binary']);
    const started = Date.now();
    const r = await cli(['--dir', root, 'hook', '--cli', 'claude', 'Stop'], { input: JSON.stringify({ hook_event_name: 'Stop', stop_hook_active: false }), env: { BMAD_AGENT: 'dev-1' } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(idsIn((JSON.parse(r.stdout) as Blocked).reason), [sent[0]!.id]);
    assert.ok(Date.now() - started < 5000);

    fs.mkdirSync(layout.handoffsDir, { recursive: true });
    const release = await lockfile.lock(layout.handoffFile('dev-1'), { realpath: false, stale: 60_000 });
    try {
      const held = Date.now();
      const blocked = await cli(['--dir', root, 'hook', '--cli', 'claude', 'Stop'], { input: JSON.stringify({ hook_event_name: 'Stop', stop_hook_active: true }), env: { BMAD_AGENT: 'dev-1' } });
      assert.deepEqual([blocked.code, blocked.stdout], [0, '']);
      assert.ok(Date.now() - held < 4000, `gave up in ${Date.now() - held} ms`);
      assert.match(fs.readFileSync(`${layout.logDir}/hook.log`, 'utf8'), /hook Stop: .*lock/i);
    } finally {
      await release();
    }
    // The handoff is still open: the next continuation confirms it.
    const next = await cli(['--dir', root, 'hook', '--cli', 'claude', 'Stop'], { input: JSON.stringify({ hook_event_name: 'Stop', stop_hook_active: true }), env: { BMAD_AGENT: 'dev-1' } });
    assert.deepEqual([next.code, next.stdout], [0, '']);
    assert.equal(readTrail(layout, 'dev-1', sent[0]!.id).at(-1)?.stage, 'received');
  });
});
