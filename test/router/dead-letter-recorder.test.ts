import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { deadLetterFor } from '../../src/journal/dead-letters.js';
import { DeadLetterRecorder } from '../../src/router/dead-letter-recorder.js';
import { tempDir } from '../helpers/bus.js';

describe('the dead-letter recorder', () => {
  test('keeps every record, logs at most 20 a second and counts the rest in the next', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'deadletter.ndjson');
      const logged: string[] = [];
      let now = 5_000;
      const recorder = new DeadLetterRecorder(file, (line) => logged.push(line), () => now);
      for (let i = 0; i < 25; i++) recorder.record(deadLetterFor('invalid_json', `bad ${i}`, `{${i}`, { pipe: 'bus.pipe' }));
      assert.equal(logged.length, 20);
      assert.equal(logged[0], 'dead letter (invalid_json) on bus.pipe: bad 0');
      now += 1_000;
      recorder.record(deadLetterFor('unknown_recipient', 'nobody', 'x'));
      assert.deepEqual(logged.slice(20), ['... and 5 more dead letter(s) in that second (see deadletter.ndjson)', 'dead letter (unknown_recipient): nobody']);
      recorder.close();
      assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 26);
    } finally {
      cleanup();
    }
  });

  test('a log it cannot write is said, and the router goes on', () => {
    const { dir, cleanup } = tempDir();
    try {
      const logged: string[] = [];
      const recorder = new DeadLetterRecorder(path.join(dir, 'missing', 'deadletter.ndjson'), (line) => logged.push(line));
      recorder.record(deadLetterFor('binary', 'not text', Buffer.from([0xff])));
      assert.match(logged[0]!, /^dead-letter log: ENOENT/);
      assert.equal(logged[1], 'dead letter (binary): not text');
      recorder.close();
    } finally {
      cleanup();
    }
  });
});
