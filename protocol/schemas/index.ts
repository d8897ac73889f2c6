export * from './common.js';
export * from './root.js';
export * from './release.js';
export * from './ownership.js';
export * from './directive.js';
export * from './status.js';
