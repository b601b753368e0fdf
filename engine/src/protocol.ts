/**
 * `@recsys/engine/protocol`: the shared vocabulary, re-exported from its own zero-dependency package
 * (`@recsys/protocol`, in `engine/protocol/`) so that the engine and the server keep one import path
 * while the browser SDK and widgets depend on the vocabulary alone, not on the engine.
 */
export * from '@recsys/protocol';
