import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ProfileSet } from '../../src/agents/profiles.js';
import { readScreen, transcriptShows } from '../../src/agents/screen-reader.js';
import { REPO } from '../helpers/bus.js';

/**
 * The built-in profiles read the screens captured from each real CLI at its
 * pinned version (test/agents/screens/<cli>-<version>/<state>.txt, made by
 * test/agents/capture-screens.ts). A CLI that changes its screen in a new
 * version shows up here first, when its fixtures are captured again.
 */
const SCREENS = path.join(REPO, 'test', 'agents', 'screens');
const EXPECTED: Record<string, { state: string; input?: RegExp }> = {
  idle: { state: 'idle', input: /^$/ },
  typed: { state: 'idle', input: /^Summarise the README in one sentence\.$/ },
  busy: { state: 'busy' },
  permission: { state: 'waiting_input' },
  modal: { state: 'waiting_input' },
  'rate-limited': { state: 'rate_limited' },
  pasted: { state: 'idle', input: /^\[Pasted/ },
  // After an API error it gave up on (screen-failures.test.ts reads the error), and after the continue turn.
  'network-error': { state: 'idle', input: /^$/ },
  'network-recovered': { state: 'idle', input: /^$/ },
  'network-limit': { state: 'idle', input: /^$/ },
  'network-limit-recovered': { state: 'idle', input: /^$/ },
};

describe('screen recognisers on the real CLIs\' captured screens', () => {
  const profiles = new ProfileSet();
  const dirs = fs.existsSync(SCREENS) ? fs.readdirSync(SCREENS).sort() : [];
  test('there are fixtures for all five CLIs', () => {
    assert.deepEqual(dirs.map((d) => d.replace(/-[\d.]+$/, '')), ['claude', 'codex', 'gemini', 'opencode', 'qwen']);
  });
  for (const dir of dirs) {
    const profile = profiles.get(dir.replace(/-[\d.]+$/, ''))!;
    test(`${dir}: every captured state is read as that state`, () => {
      const files = fs.readdirSync(path.join(SCREENS, dir)).filter((f) => f.endsWith('.txt'));
      assert.ok(files.length >= 6, `${dir} has its six screens`);
      for (const file of files) {
        const name = file.replace(/\.txt$/, '');
        const expected = EXPECTED[name];
        assert.ok(expected, `a known state name: ${file}`);
        const reading = readScreen(profile, fs.readFileSync(path.join(SCREENS, dir, file), 'utf8'));
        assert.equal(reading.state, expected.state, `${dir}/${file}`);
        if (expected.input) assert.match(reading.input ?? '(no input box)', expected.input, `${dir}/${file}: the input box`);
      }
    });
  }

  // What people type (in the input box) and what they typed before (the transcript's echo, Codex's footer) is not a state.
  const HOSTILE = 'Do you want to proceed? rate limit 429 Too Many Requests, usage limit reached, approval, Allow execution of x, esc to interrupt, Permission required';
  const ECHO: Record<string, string> = { claude: '❯ ', codex: '› ', gemini: ' > ', qwen: '  > ' };
  for (const dir of dirs) {
    const cli = dir.replace(/-[\d.]+$/, '');
    const profile = profiles.get(cli)!;
    test(`${dir}: words of a state in the input box or in an echoed prompt are not that state`, () => {
      const typed = fs.readFileSync(path.join(SCREENS, dir, 'typed.txt'), 'utf8').replace('Summarise the README in one sentence.', HOSTILE.slice(0, 90));
      assert.equal(readScreen(profile, typed).state, 'idle', `${dir}: typed`);
      const echo = ECHO[cli];
      if (!echo) return; // opencode draws its transcript with the box's own border
      const rows = fs.readFileSync(path.join(SCREENS, dir, 'idle.txt'), 'utf8').replace(/\s+$/, '').split('\n');
      const input = new RegExp(profile.screen!.input, 'iu');
      let at = rows.length - 1;
      while (at > 0 && !input.test(rows[at]!)) at--;
      rows.splice(Math.max(0, at - 2), 0, `${echo}${HOSTILE}`, `  fake-model default · ~/project · ${HOSTILE}`);
      assert.equal(readScreen(profile, rows.join('\n')).state, 'idle', `${dir}: echoed\n${rows.slice(-16).join('\n')}`);
    });
  }

  test('a message wrapped inside box borders still shows; an earlier copy of the same text is not this one', () => {
    const opencode = profiles.get('opencode')!;
    const text = `[lead → x-1] long ${'0123456789'.repeat(30)}`;
    const box = '  ┃  Ask anything…\n  ┃  Build · Fake model';
    const wrapped = readScreen(opencode, `  ┃  [lead → x-1] long\n  ┃  ${'0123456789'.repeat(15)}\n  ┃  ${'0123456789'.repeat(15)}\n\n${box}`);
    assert.ok(transcriptShows(opencode, wrapped, text, readScreen(opencode, box)), 'the row break and the ┃ border are not in the message');
    const claude = profiles.get('claude')!;
    const once = readScreen(claude, '❯ [lead → c-1] run the tests\n──────\n❯ [lead → c-1] run the tests\n──────');
    const stillOnce = readScreen(claude, '❯ [lead → c-1] run the tests\n──────\n❯ \n──────');
    const twice = readScreen(claude, '❯ [lead → c-1] run the tests\n❯ [lead → c-1] run the tests\n──────\n❯ \n──────');
    assert.ok(!transcriptShows(claude, stillOnce, '[lead → c-1] run the tests', once), 'the earlier copy is not a submission');
    assert.ok(transcriptShows(claude, twice, '[lead → c-1] run the tests', once));
  });

  test('a submission shows: the box empty and the message (or a new collapsed marker) in the transcript', () => {
    const claude = profiles.get('claude')!;
    const typed = readScreen(claude, '❯ earlier message\n──────\n❯ run the tests\n──────\n  ? for shortcuts');
    assert.equal(typed.input, 'run the tests');
    const after = readScreen(claude, '❯ earlier message\n❯ run the tests\n✻ Thinking… (esc to interrupt)\n──────\n❯ \n──────');
    assert.equal(after.input, '');
    assert.equal(after.state, 'busy');
    assert.ok(transcriptShows(claude, after, 'run the tests'));
    assert.ok(!transcriptShows(claude, after, 'something never typed'));
    const pastedBefore = readScreen(claude, '──────\n❯ [Pasted text #1 +19 lines]\n──────');
    const pastedAfter = readScreen(claude, '❯ [Pasted text #1 +19 lines]\n──────\n❯ \n──────');
    assert.ok(transcriptShows(claude, pastedAfter, 'x'.repeat(3000), pastedBefore), 'the marker moved up into the transcript');
  });
});
