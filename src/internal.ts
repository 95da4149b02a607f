/** Internals for tests and tools: not a stable API. */
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
