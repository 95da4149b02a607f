/** Internals for tests and tools: not a stable API. */
export * from './journal/reader.js';
export * from './journal/writer.js';
export * from './journal/segments.js';
export * from './journal/cursors.js';
export * from './router/line-splitter.js';
export * from './router/intake.js';
export { startDaemon, stopDaemon } from './router/daemon-control.js';
