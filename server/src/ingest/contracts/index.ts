export { limits } from '@recsys/engine/protocol';
export * from './common';
export * from './events';
export * from './items';
export * from './pgSafe';
export * from './pii';
export * from './users';
