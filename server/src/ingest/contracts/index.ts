export * from '../../api/recsContract';
export * from './common';
export * from './events';
export * from './items';
export { limits } from './limits';
export * from './pii';
export * from './users';
