import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAge, formatBytes, formatDuration, formatRate, formatSeconds, formatTimestamp } from '../../src/bus/human-format.js';

test('formatDuration: milliseconds, then two units', () => {
  const cases: Array<[number, string]> = [
    [0, '0ms'], [999, '999ms'], [1000, '1s'], [59_999, '59s'], [65_000, '1m05s'], [3_723_000, '1h02m'], [90_061_000, '1d01h'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
});

test('formatAge: one unit, rounded; the future counts as now', () => {
  const cases: Array<[number, string]> = [[-5000, '0s ago'], [400, '0s ago'], [59_400, '59s ago'], [65_000, '1m ago'], [7_200_000, '2h ago'], [3 * 86_400_000, '3d ago']];
  for (const [ms, text] of cases) assert.equal(formatAge(ms), text, `${ms} ms`);
});

test('formatBytes: binary units, one decimal from a gigabyte', () => {
  const cases: Array<[number, string]> = [[512, '512B'], [1024, '1K'], [12 * 1024 + 300, '12K'], [300 * 1024 ** 2, '300M'], [1.5 * 1024 ** 3, '1.5G'], [2 * 1024 ** 3, '2.0G']];
  for (const [bytes, text] of cases) assert.equal(formatBytes(bytes), text, `${bytes} bytes`);
});

test('formatTimestamp: ISO time without the T and the milliseconds', () => {
  assert.equal(formatTimestamp('2024-05-01T12:00:00.123Z'), '2024-05-01 12:00:00Z');
  assert.equal(formatTimestamp('2024-05-01T12:00:00Z'), '2024-05-01 12:00:00Z');
});

test('formatSeconds: whole seconds bare, else one decimal', () => {
  const cases: Array<[number, string]> = [[30_000, '30s'], [1500, '1.5s'], [200, '0.2s'], [2000, '2s'], [61_240, '61.2s']];
  for (const [ms, text] of cases) assert.equal(formatSeconds(ms), text, `${ms} ms`);
});

test('formatRate: a tenth below 100 a second', () => {
  assert.equal(formatRate(12.34), '12.3');
  assert.equal(formatRate(0), '0.0');
  assert.equal(formatRate(340.6), '341');
});
