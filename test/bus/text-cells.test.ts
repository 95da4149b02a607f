import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayWidth, fit, fitRight, sanitize, truncate } from '../../src/bus/text-cells.js';

describe('display width', () => {
  test('wide, narrow and zero-width text, ANSI-free', () => {
    assert.equal(displayWidth('abc'), 3);
    assert.equal(displayWidth('日本語'), 6, 'CJK takes two columns a character');
    assert.equal(displayWidth('한국'), 4);
    assert.equal(displayWidth('✅'), 2, 'an emoji in U+2600–27BF is wide (the old width table said 1)');
    assert.equal(displayWidth('☀'), 1, '☀ U+2600 alone is text presentation: one column, as terminals show it');
    assert.equal(displayWidth('☀\uFE0F'), 2, '☀ with VS16 is an emoji: two columns');
    assert.equal(displayWidth('🎉'), 2);
    assert.equal(displayWidth('👨\u200D👩\u200D👧'), 2, 'a ZWJ family is one emoji');
    assert.equal(displayWidth('e\u0301te\u0301'), 3, 'combining marks take no column');
    assert.equal(displayWidth('\x1b[1;31m日本\x1b[0m'), 4, 'colour codes take no column');
  });

  test('sanitize leaves nothing a terminal would obey', () => {
    assert.equal(sanitize('a\x1b[2Jb\tc\x07'), 'ab c ');
  });
});

describe('truncate and fit', () => {
  test('cut at display width, ending in …', () => {
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('abc', 3), 'abc', 'what fits stays whole');
    assert.equal(truncate('abc', 1), '…');
    assert.equal(truncate('abc', 0), '');
    assert.equal(truncate('日本語テキスト', 7), '日本語…');
    assert.equal(truncate('日本語テキスト', 6), '日本…', 'a wide character that does not fit whole is left out');
    assert.equal(truncate('✅✅✅', 4), '✅…');
    assert.equal(truncate('e\u0301e\u0301e\u0301e\u0301', 3), 'e\u0301e\u0301…', 'a mark stays with its letter');
    assert.equal(truncate('👨\u200D👩\u200D👧👨\u200D👩\u200D👧', 3), '👨\u200D👩\u200D👧…', 'an emoji sequence is never split');
    for (const text of ['日本語テキスト', '✅ done ☀ sunny', 'e\u0301'.repeat(20), '🎉'.repeat(9)]) {
      for (let width = 1; width < 12; width++) assert.ok(displayWidth(truncate(text, width)) <= width, `${text} cut to ${width}`);
    }
  });

  test('long text: only its head is measured, and zero-width runs longer than that head still end right', () => {
    const body = '日本語'.repeat(350_000);
    assert.equal(truncate(body, 120), `${'日本語'.repeat(19)}日本…`, '59 wide characters and the … make 119 columns');
    const marks = `a${'\u0301'.repeat(100_000)}bcdef`;
    assert.equal(truncate(marks, 3), `${marks.slice(0, 100_002)}…`, 'the marks stay with their letter, the cut comes after them');
    assert.equal(truncate(`a${'\u0301'.repeat(5000)}`, 3), `a${'\u0301'.repeat(5000)}`, 'all of it fits: nothing cut');
  });

  test('fit and fitRight pad to exactly the width', () => {
    assert.equal(fit('日本', 6), '日本  ');
    assert.equal(fitRight('✅', 4), '  ✅');
    assert.equal(fit('日本語', 4), '日… ', 'a cut that ends a column short is padded');
    assert.equal(displayWidth(fit('☀\uFE0F sun', 8)), 8);
  });
});
