import fs from 'node:fs';
import path from 'node:path';
import { unlessFsRace, UsageError } from '../bus/errors.js';
import { writeFileAtomic } from '../bus/fs-safety.js';

/**
 * Editing the agent CLIs' own configuration files (JSON settings, Codex's
 * config.toml) without clobbering them: what `hooks install` does for the
 * hooks (hook-config.ts) and the MCP server (mcp-config.ts). A change is
 * planned first (before / after text), then written, so `--dry-run` and
 * "already installed" fall out of comparing the two.
 */

/** One file's planned change: what it holds now ('' when missing) and what it would hold. */
export interface FileEdit {
  file: string;
  before: string;
  after: string;
}

export function readText(file: string): string {
  return unlessFsRace(() => fs.readFileSync(file, 'utf8'), '', ['ENOENT']);
}

/** Writes an edit (atomically, keeping the file's mode; new files 0600); false when there was nothing to change. */
export function applyEdit(edit: FileEdit): boolean {
  if (edit.after === edit.before) return false;
  fs.mkdirSync(path.dirname(edit.file), { recursive: true });
  const mode = fs.existsSync(edit.file) ? fs.statSync(edit.file).mode & 0o777 : 0o600;
  writeFileAtomic(edit.file, edit.after, mode);
  return true;
}

/** A settings file's JSON object ({} when empty); anything else is refused before anything is changed. */
export function parseJsonObject(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${(error as Error).message}); fix it first, nothing was changed`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * The text for `next`, the edited `settings` that came from `text`: the text
 * itself when nothing changed (the user's own formatting stays), '' when a
 * file that was empty would hold nothing.
 */
export function jsonText(text: string, settings: Record<string, unknown>, next: Record<string, unknown>): string {
  if (text.trim() === '' && Object.keys(next).length === 0) return '';
  if (text.trim() !== '' && JSON.stringify(settings) === JSON.stringify(next)) return text;
  return `${JSON.stringify(next, null, 2)}\n`;
}

/** A JSON object's member as an object (a copy), {} when missing or not one. */
export function objectAt(settings: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = settings[key];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
}

/** Sets `settings[key]` to `value`, or deletes it when `value` is empty. */
export function setOrDelete(settings: Record<string, unknown>, key: string, value: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0) settings[key] = value;
  else delete settings[key];
}

/**
 * Sets (or, with `body` undefined, removes) one TOML table, `[name]` with
 * its sub-tables `[name.…]`, as whole lines; everything else stays byte for
 * byte. A new table goes at the end after one blank line, which removing it
 * takes away again, so uninstall gives back the file as it was.
 */
export function setTomlTable(text: string, name: string, body: string[] | undefined): string {
  const lines = text === '' ? [] : text.split('\n');
  const header = (line: string): string | undefined => /^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$/.exec(line)?.[1]?.replace(/"([^"]*)"/g, '$1');
  const isOurs = (line: string): boolean => {
    const h = header(line);
    return h !== undefined && (h === name || h.startsWith(`${name}.`));
  };
  const start = lines.findIndex(isOurs);
  let end = start;
  if (start !== -1) {
    end = start + 1;
    while (end < lines.length && (header(lines[end]!) === undefined || isOurs(lines[end]!))) end++;
    // Blank lines before the next table are that table's spacing, not ours.
    while (end > start + 1 && lines[end - 1]!.trim() === '') end--;
  }
  const block = body === undefined ? [] : [`[${name}]`, ...body];
  if (start === -1) {
    if (body === undefined) return text;
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const joined = [...lines, ...(lines.length > 0 ? [''] : []), ...block].join('\n');
    return `${joined}\n`;
  }
  if (body === undefined) {
    // Take the blank line that separated it too.
    const from = start > 0 && lines[start - 1]!.trim() === '' ? start - 1 : start;
    lines.splice(from, end - from);
    const joined = lines.join('\n');
    return joined.trim() === '' ? '' : joined;
  }
  lines.splice(start, end - start, ...block);
  return lines.join('\n');
}
