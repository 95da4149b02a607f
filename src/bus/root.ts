import fs from 'node:fs';
import path from 'node:path';
import { BusNotInitializedError, errnoCode, unlessFsRace } from './errors.js';
import { checkAncestors, checkEntry, ensureFifo, ensurePrivateDir } from './fs-safety.js';
import { Layout } from './layout.js';

/**
 * Creates the bus root and everything in it, idempotently, and checks what
 * was already there. Returns the layout of the root.
 */
export function initRoot(root: string): Layout {
  const layout = new Layout(root);
  fs.mkdirSync(path.dirname(layout.root), { recursive: true });
  checkAncestors(layout.root);
  ensurePrivateDir(layout.root);
  for (const dir of layout.directories) ensurePrivateDir(dir);
  for (const pipe of layout.fixedPipes) ensureFifo(pipe);
  return layout;
}

/**
 * Opens an existing root: checks the root directory itself (the part another
 * user could plant on a shared /tmp) and fails clearly if it was never made.
 */
export function openRoot(root: string): Layout {
  const layout = new Layout(root);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(layout.root);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new BusNotInitializedError(`No bus at ${layout.root} (run \`bmad-bus init\`, or pass --dir / set BMAD_BUS_DIR)`);
    }
    throw error;
  }
  checkEntry(layout.root, 'directory', st);
  checkAncestors(layout.root);
  return layout;
}

/** Opens the root, creating it first when it does not exist yet. */
export function openOrInitRoot(root: string): Layout {
  try {
    return openRoot(root);
  } catch (error) {
    if (error instanceof BusNotInitializedError) return initRoot(root);
    throw error;
  }
}

/** Checks every directory and fixed pipe of an initialised root (the router does this at start). */
export function verifyRoot(layout: Layout): void {
  checkEntry(layout.root, 'directory');
  checkAncestors(layout.root);
  for (const dir of layout.directories) {
    try {
      checkEntry(dir, 'directory');
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      ensurePrivateDir(dir);
    }
  }
  for (const pipe of layout.fixedPipes) ensureFifo(pipe);
}

/**
 * The identity (device and inode) of the root directory. A long-running
 * process compares it now and then: a root removed or replaced under it (an
 * `rm -rf` and a new `init`) must not be written into by a stale daemon.
 */
export function rootIdentity(layout: Layout): string | undefined {
  const st = unlessFsRace(() => fs.lstatSync(layout.root), undefined, ['ENOENT', 'ENOTDIR']);
  // Inode numbers are reused at once: the birth time tells a new directory apart.
  return st && `${st.dev}:${st.ino}:${st.birthtimeMs}`;
}
