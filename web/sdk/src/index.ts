export * from './errors.js';
export * from './types.js';
export * from './paging.js';
export * from './ledger.js';
export * from './presence.js';
export * from './upload.js';
export * from './rest.js';
export * from './realtime.js';
