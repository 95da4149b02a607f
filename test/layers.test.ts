import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The folders of src/ are layers (DESIGN.md), and a file imports only from
 * its own layer or the ones below it. The router does not import tmux/: it
 * takes its pane sinks as an option (bus/delivery.ts, PaneSinkFactory).
 * client/ sits over router/ because a `send` with no router appends to the
 * router's intake.
 */
const LAYERS = ['bus', 'journal', 'router', 'client', 'tmux', 'agents', 'team', 'channels', 'commands'];
/** Entry points (cli.ts, index.ts, internal.ts) sit on top of every layer. */
const TOP = LAYERS.length;

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function rankOf(file: string): number {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel.length === 1) return TOP;
  const rank = LAYERS.indexOf(rel[0]!);
  assert.ok(rank >= 0, `src/${rel[0]} is not a known layer: add it to LAYERS in test/layers.test.ts`);
  return rank;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative module a file names: static imports, `import type`, re-exports and dynamic `import()`. */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

test('the import scanner sees every form of import', () => {
  const text = [
    "import a from './a.js';",
    "import type { B } from '../bus/b.js';",
    "export { c } from '../journal/c.js';",
    "export * from './d.js';",
    "const { e } = await import('../router/e.js');",
    "import './side-effect.js';",
    "import fs from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.js', '../bus/b.js', '../journal/c.js', './d.js', '../router/e.js', './side-effect.js']);
});

test(`src/ imports only downward: ${LAYERS.join(' → ')} → entry points`, () => {
  const upward: string[] = [];
  for (const file of sources(SRC)) {
    const rank = rankOf(file);
    for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      assert.ok(fs.existsSync(target), `${path.relative(SRC, file)} imports ${spec}, which does not exist`);
      if (rankOf(target) > rank) upward.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, [], 'upward imports');
});
