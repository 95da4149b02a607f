import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ProfileSet } from '../../src/agents/profiles.js';
import { readNetworkFailure, resetTimeOf } from '../../src/agents/screen-failures.js';
import { REPO } from '../helpers/bus.js';

// The network_error recogniser on Claude Code's real screens (test/agents/screens/claude-*/network-*.txt,
// captured against the fake model's outage mode with CLAUDE_CODE_MAX_RETRIES=1).
const DIR = path.join(REPO, 'test', 'agents', 'screens', 'claude-2.1.332');
const screen = (name: string) => fs.readFileSync(path.join(DIR, `${name}.txt`), 'utf8');
const profiles = new ProfileSet();
const claude = profiles.get('claude')!;

describe('network_error screens', () => {
  test('Claude Code gave up on a 500: recognised; after the continue turn: not any more', () => {
    const failure = readNetworkFailure(claude, screen('network-error'));
    assert.ok(failure, 'the error screen is a network_error');
    assert.match(failure.line, /^● API Error: 500 Fake outage/);
    assert.equal(failure.resetAt, undefined);
    assert.equal(readNetworkFailure(claude, screen('network-recovered')), undefined, 'a user turn came after the error');
    assert.equal(readNetworkFailure(claude, screen('idle')), undefined);
    assert.equal(readNetworkFailure(claude, screen('busy')), undefined);
    assert.equal(readNetworkFailure(claude, screen('rate-limited')), undefined, 'still retrying by itself is not given up');
  });

  test('a 429 naming its reset: the reset time is read (UTC as the line says)', () => {
    const text = screen('network-limit');
    const line = /resets (\d{1,2}:\d{2}[ap]m) \(UTC\)/.exec(text)![1]!;
    const [, h, m, half] = /^(\d+):(\d+)([ap]m)$/.exec(line)!;
    const hour = (Number(h) % 12) + (half === 'pm' ? 12 : 0);
    const now = new Date(Date.UTC(2026, 11, 1, hour, Number(m) - 2, 30));
    const failure = readNetworkFailure(claude, text, now);
    assert.ok(failure);
    assert.equal(failure.resetAt, Date.UTC(2026, 11, 1, hour, Number(m), 0));
    assert.equal(readNetworkFailure(claude, screen('network-limit-recovered')), undefined);
  });

  test('clock times: 12-hour and 24-hour, local or UTC, always the next one to come', () => {
    const patterns = claude.screen!.reset_time.map((s) => new RegExp(s, 'iu'));
    const now = new Date(Date.UTC(2026, 11, 1, 15, 30));
    assert.equal(resetTimeOf(patterns, 'limit reached · resets 3pm (UTC)', now), Date.UTC(2026, 11, 2, 15, 0), 'passed today: tomorrow');
    assert.equal(resetTimeOf(patterns, 'resets at 16:45 (UTC)', now), Date.UTC(2026, 11, 1, 16, 45));
    assert.equal(resetTimeOf(patterns, 'try again at 12:05am UTC', now), Date.UTC(2026, 11, 2, 0, 5));
    assert.equal(resetTimeOf(patterns, 'resets 5 (UTC)', now), undefined, 'a bare number is no clock time');
    assert.equal(resetTimeOf(patterns, 'no time here', now), undefined);
  });

  test('the other CLIs\' give-up lines, and their own retries are not', () => {
    const codex = profiles.get('codex')!;
    assert.ok(readNetworkFailure(codex, '■ exceeded retry limit, last status: 429 Too Many Requests\n\n› Ask Codex to do anything\n'));
    assert.equal(readNetworkFailure(codex, '• Server is busy, reconnecting 3/5\n\n› Ask Codex to do anything\n'), undefined);
    const qwen = profiles.get('qwen')!;
    assert.equal(readNetworkFailure(qwen, '✕ [API Error: 429 rate limit] (Retrying in 59s… (attempt 1/10))\n>   Type your message or @path/to/file\n'), undefined);
    assert.ok(readNetworkFailure(profiles.get('gemini')!, '✕ [API Error: fetch failed]\n>   Type your message or @path/to/file\n'));
    assert.equal(readNetworkFailure(profiles.get('readline')!, 'API Error: 500'), undefined, 'a profile without screens never has one');
  });
});
