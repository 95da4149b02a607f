import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayWidth } from '../../src/bus/text-cells.js';
import { columnWidths, layRow, renderTable } from '../../src/bus/text-table.js';

describe('renderTable', () => {
  test('columns as wide as their widest cell, two spaces apart; the last one unpadded', () => {
    const lines = renderTable(['NAME', 'ROLE', 'WAITING'], [['alice', 'dev', ''], ['bob-the-builder', '-', 'pane busy']]);
    assert.deepEqual(lines, [
      'NAME             ROLE  WAITING',
      'alice            dev',
      'bob-the-builder  -     pane busy',
    ]);
  });

  test('wide characters and emoji line up by display width', () => {
    const lines = renderTable(['AGENT', 'ROLE', 'NOTE'], [['日本語', 'dev', 'x'], ['✅ ok', 'qa', 'y'], ['☀ sun', 'e\u0301crit', 'z'], ['ascii', '-', 'w']]);
    assert.deepEqual(lines, [
      'AGENT   ROLE   NOTE',
      '日本語  dev    x',
      '✅ ok   qa     y',
      '☀ sun   e\u0301crit  z',
      'ascii   -      w',
    ]);
    // The third column starts at the same screen column on every line.
    const starts = lines.map((l) => displayWidth(l.slice(0, l.lastIndexOf(' ') + 1)));
    assert.equal(new Set(starts).size, 1, `NOTE starts at ${starts}`);
  });

  test('maxWidth and a total width cut cells with … at display width', () => {
    const columns = [{ header: 'ID', maxWidth: 6 }, { header: 'TITLE' }];
    const rows = [['t1-long-id', '日本語のタイトルです'], ['t2', 'short']];
    assert.deepEqual(renderTable(columns, rows), ['ID      TITLE', 't1-lo…  日本語のタイトルです', 't2      short']);
    assert.deepEqual(renderTable(columns, rows, { width: 17, minLastWidth: 4 }), ['ID      TITLE', 't1-lo…  日本語の…', 't2      short']);
    assert.deepEqual(renderTable(columns, rows, { width: 5, minLastWidth: 4 }), ['ID      TIT…', 't1-lo…  日…', 't2      sho…'], 'never under minLastWidth; the header is cut too');
  });

  test('right-aligned numbers, other gaps, paint gets padded cells and the header as row -1', () => {
    const seen: string[] = [];
    const lines = renderTable(['NAME', { header: 'N', align: 'right' }], [['a', '7'], ['b', '12']], {
      gap: 1,
      paint: (text, { row, column, value }) => {
        seen.push(`${row}:${column}:${value}`);
        return row >= 0 && column === 1 ? `<${text}>` : text;
      },
    });
    assert.deepEqual(lines, ['NAME  N', 'a    < 7>', 'b    <12>']);
    assert.deepEqual(seen, ['-1:0:NAME', '-1:1:N', '0:0:a', '0:1:7', '1:0:b', '1:1:12']);
  });

  test('columnWidths and layRow: fixed widths win, a 0-wide column is hidden', () => {
    const columns = [{ header: 'A' }, { header: 'HIDDEN', width: 0 }, { header: 'B', width: 4, align: 'right' as const }];
    const widths = columnWidths(columns, [['日本', 'x', '1']]);
    assert.deepEqual(widths, [4, 0, 4]);
    assert.deepEqual(layRow(columns, widths, ['日本', 'x', '1']), [{ column: 0, text: '日本' }, { column: 2, text: '   1' }]);
  });
});
