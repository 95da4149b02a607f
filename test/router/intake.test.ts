import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { HEADER_BYTES, encodeRecord, listIntakeSegments, segmentFile } from '../../src/router/intake-format.js';
import { IntakeReader } from '../../src/router/intake-reader.js';
import { IntakeWriter } from '../../src/router/intake-writer.js';
import { tempDir } from '../helpers/bus.js';

const read = (reader: IntakeReader): string[] => [...reader.read()].map((r) => `${r.pipe}:${r.data.toString()}`);

describe('the intake', () => {
  test('records come back in order, across segments, each with the generation of its segment', () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = new IntakeWriter(dir, { segmentBytes: 4096 });
      const written: string[] = [];
      for (let i = 0; i < 200; i++) {
        const data = `line ${i} ${'x'.repeat(i % 97)}\n`;
        writer.append(i % 2 ? 'bus.pipe' : 'agents/a-to-b.pipe', 1000 + i, Buffer.from(data));
        written.push(`${i % 2 ? 'bus.pipe' : 'agents/a-to-b.pipe'}:${data}`);
      }
      assert.ok(listIntakeSegments(dir).length > 3, 'several segments');
      const reader = new IntakeReader(dir, { seq: 1, offset: 0 });
      const records = [...reader.read()];
      assert.deepEqual(records.map((r) => `${r.pipe}:${r.data.toString()}`), written);
      assert.deepEqual(records.map((r) => r.ts), written.map((_, i) => 1000 + i));
      assert.ok(new Set(records.map((r) => r.generation)).size === listIntakeSegments(dir).length);
      // Read on from where it stopped: nothing twice, the next one only.
      writer.append('bus.pipe', 1, Buffer.from('later\n'));
      assert.deepEqual(read(reader), ['bus.pipe:later\n']);
      reader.close();
      writer.close();
    } finally {
      cleanup();
    }
  });

  test('a record cut short (a killed writer) is the end; a new writer goes on after the last whole one', () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = new IntakeWriter(dir);
      writer.append('bus.pipe', 1, Buffer.from('one\n'));
      const { offset } = writer.end;
      writer.close();
      // What a write killed half-way leaves: the head and part of the data, no footer, then zeros.
      const torn = encodeRecord('bus.pipe', 2, Buffer.from('two two two\n')).subarray(0, 20);
      const fd = fs.openSync(segmentFile(dir, 1), 'r+');
      fs.writeSync(fd, torn, 0, torn.length, offset);
      fs.closeSync(fd);
      assert.deepEqual(read(new IntakeReader(dir, { seq: 1, offset: HEADER_BYTES })), ['bus.pipe:one\n']);
      const again = new IntakeWriter(dir);
      assert.equal(again.end.offset, offset, 'the torn record is cut off');
      again.append('bus.pipe', 3, Buffer.from('three\n'));
      assert.deepEqual(read(new IntakeReader(dir, { seq: 1, offset: HEADER_BYTES })), ['bus.pipe:one\n', 'bus.pipe:three\n']);
      again.close();
    } finally {
      cleanup();
    }
  });

  test('a reader that reached the end of a segment the writer then leaves still gets its last record', () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = new IntakeWriter(dir, { segmentBytes: 1024 });
      const reader = new IntakeReader(dir, { seq: 1, offset: 0 });
      const got: string[] = [];
      for (let i = 0; i < 100; i++) {
        writer.append('bus.pipe', i, Buffer.from(`${i}${'.'.repeat(90)}\n`));
        if (i % 3 === 0) got.push(...read(reader));
      }
      got.push(...read(reader));
      assert.deepEqual(got.map((g) => Number.parseInt(g.slice('bus.pipe:'.length), 10)), Array.from({ length: 100 }, (_, i) => i));
      writer.close();
    } finally {
      cleanup();
    }
  });

  test('room is reserved ahead of the end (the full-disk case is in disk-full.test)', () => {
    const { dir, cleanup } = tempDir();
    try {
      const writer = new IntakeWriter(dir);
      assert.equal(writer.full, false);
      const size = fs.statSync(segmentFile(dir, 1)).size;
      assert.ok(size >= HEADER_BYTES + 200 * 1024, `zeros written ahead (${size} bytes)`);
      writer.close();
      assert.ok(path.basename(segmentFile(dir, 1)).startsWith('intake-'));
    } finally {
      cleanup();
    }
  });
});
