import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { ConfigError, UsageError } from '../bus/errors.js';
import { parseDuration, parseSize } from '../bus/duration.js';
import { show } from '../bus/names.js';

export type Path = ReadonlyArray<string | number>;

/**
 * Reads values out of a parsed YAML document by path, checking each one, and
 * fails with a ConfigError that names the file, the line and the field:
 * `team.yaml:12: sessions[0].windows[1].submit_delay: expected a duration like 500ms or 2s, got "soon"`.
 */
export class TopologyReader {
  readonly file: string;
  private readonly doc: Document;
  private readonly lines: LineCounter;
  private readonly root: unknown;

  constructor(file: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
    this.root = doc.toJS({ maxAliasCount: 100 });
  }

  fail(path: Path, message: string): never {
    const line = this.lineOf(path);
    throw new ConfigError(`${this.file}${line ? `:${line}` : ''}: ${pathText(path) || '(top level)'}: ${message}`);
  }

  /** The raw value at a path (undefined when absent or null). */
  get(path: Path): unknown {
    let value: unknown = this.root;
    for (const key of path) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string | number, unknown>)[key];
    }
    return value ?? undefined;
  }

  has(path: Path): boolean {
    return this.get(path) !== undefined;
  }

  /** An object whose keys are all in `allowed` (typos are errors, not silently ignored). */
  object(path: Path, allowed: readonly string[], optional = false): Record<string, unknown> | undefined {
    const value = this.get(path);
    if (value === undefined) {
      if (optional) return undefined;
      this.fail(path, 'is required');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `expected a mapping, got ${describe(value)}`);
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown field (expected one of ${allowed.join(', ')})`);
    }
    return value as Record<string, unknown>;
  }

  /** A mapping with free keys (agent_groups, env, templates...). */
  map(path: Path): Record<string, unknown> {
    const value = this.get(path);
    if (value === undefined) return {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `expected a mapping, got ${describe(value)}`);
    return value as Record<string, unknown>;
  }

  list(path: Path, optional = true): unknown[] {
    const value = this.get(path);
    if (value === undefined) {
      if (optional) return [];
      this.fail(path, 'is required');
    }
    if (!Array.isArray(value)) this.fail(path, `expected a list, got ${describe(value)}`);
    return value;
  }

  string(path: Path): string | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') this.fail(path, `expected text, got ${describe(value)}`);
    return value;
  }

  requiredString(path: Path): string {
    const value = this.string(path);
    if (value === undefined || value === '') this.fail(path, 'is required');
    return value;
  }

  matching(path: Path, pattern: RegExp, expected: string): string | undefined {
    const value = this.string(path);
    if (value !== undefined && !pattern.test(value)) this.fail(path, `expected ${expected}, got ${show(value)}`);
    return value;
  }

  oneOf<T extends string>(path: Path, choices: readonly T[]): T | undefined {
    const value = this.string(path);
    if (value !== undefined && !(choices as readonly string[]).includes(value)) {
      this.fail(path, `expected one of ${choices.join(', ')}, got ${show(value)}`);
    }
    return value as T | undefined;
  }

  integer(path: Path, min = 0): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) this.fail(path, `expected a whole number of at least ${min}, got ${describe(value)}`);
    return value;
  }

  number(path: Path, min = 0, max = Infinity): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    const n = typeof value === 'string' ? Number(value.replace(/%$/, '')) : value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) this.fail(path, `expected a number from ${min} to ${max}, got ${describe(value)}`);
    return n;
  }

  boolean(path: Path): boolean | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(path, `expected true or false, got ${describe(value)}`);
    return value;
  }

  /** Milliseconds from `500ms`, `2s`, `30m`, or a bare number of milliseconds. */
  duration(path: Path): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') this.fail(path, `expected a duration like 500ms, 30s or 10m, got ${describe(value)}`);
    try {
      return parseDuration(value);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      this.fail(path, `expected a duration like 500ms, 30s or 10m, got ${describe(value)}`);
    }
  }

  /** Bytes from `512MB`, `2GB`. */
  size(path: Path): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') this.fail(path, `expected a size like 512MB or 2GB, got ${describe(value)}`);
    try {
      return parseSize(value);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      this.fail(path, `expected a size like 512MB or 2GB, got ${describe(value)}`);
    }
  }

  stringList(path: Path): string[] {
    return this.list(path).map((_, i) => this.requiredString([...path, i]));
  }

  /** The line of a field: its key's line for a mapping entry, else the value's, else the nearest parent's. */
  lineOf(path: Path): number | undefined {
    let node: unknown = this.doc.contents;
    let best: number | undefined = this.startLine(node);
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) return best;
        best = this.startLine(pair.key) ?? best;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        best = this.startLine(node) ?? best;
      } else {
        return best;
      }
    }
    return best;
  }

  private startLine(node: unknown): number | undefined {
    const range = (node as Node | undefined)?.range;
    return range ? this.lines.linePos(range[0]).line : undefined;
  }
}

export function pathText(path: Path): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${key}` : key;
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return show(value);
}
