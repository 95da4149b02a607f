/**
 * `bmad-bus/internal`: the building blocks under the public API, for tests
 * and tools. Not a stable API: names and shapes here change without notice.
 */
export { Layout, resolveRoot } from './bus/layout.js';
export { createEnvelope, serialize, parseLine, normalize } from './bus/envelope.js';
export { errnoCode, isFsRace, unlessFsRace, FS_RACES } from './bus/errors.js';
export * from './journal/reader.js';
export * from './journal/writer.js';
export * from './journal/segments.js';
export * from './journal/cursors.js';
export * from './router/line-splitter.js';
export * from './router/intake-format.js';
export * from './router/intake-reader.js';
export * from './router/intake-writer.js';
export * from './router/intake-mark.js';
export { startDaemon, stopDaemon } from './router/daemon-control.js';
