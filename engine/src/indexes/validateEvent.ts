import { EVENT_TYPES, isEventType } from '../protocol';
import type { EngineEvent } from '../types';

/** Throws a precise error for a malformed event (what, where, how to fix). */
export function validateEvent(e: EngineEvent, index: number): void {
  const where = `addEvents: events[${index}]`;
  if (typeof e !== 'object' || e === null) throw new Error(`${where} must be an object.`);
  if (!isEventType(e.type)) {
    throw new Error(`${where}.type ${JSON.stringify(e.type)} is not one of ${EVENT_TYPES.join(', ')}.`);
  }
  if (typeof e.userKey !== 'string' || e.userKey === '') {
    throw new Error(`${where}.userKey must be a non-empty string (the resolved user or anon:<id>).`);
  }
  if (typeof e.ts !== 'number' || !Number.isFinite(e.ts)) {
    throw new Error(
      `${where}.ts must be epoch milliseconds (got ${JSON.stringify(e.ts)}); convert ISO strings with Date.parse.`,
    );
  }
  if (e.itemId !== undefined && (typeof e.itemId !== 'string' || e.itemId === '')) {
    throw new Error(
      `${where}.itemId must be a non-empty string or absent (got ${JSON.stringify(e.itemId)}).`,
    );
  }
  if (e.value !== undefined && (typeof e.value !== 'number' || !Number.isFinite(e.value))) {
    throw new Error(`${where}.value must be a finite number or absent (got ${JSON.stringify(e.value)}).`);
  }
}
