export type { EngineEvent, EngineItem, EventType, EventWeights } from './types';
