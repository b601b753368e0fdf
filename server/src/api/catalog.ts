import { router } from './init';
import { archiveItemsProcedure, listItemsProcedure, restoreItemsProcedure } from './items';

/**
 * The catalog as the console browses it: `items.list`, `items.remove` and `items.restore` under
 * `admin.*`, where console sessions reach them (reads for viewers, archive and restore for operators).
 */
export const catalogRouter = router({
  /** A page of items by id: search in ids and titles, filter by archived and available. */
  list: listItemsProcedure,
  /** Archives items (never recommended again, kept for history, restorable). */
  archive: archiveItemsProcedure,
  /** Restores archived items. */
  restore: restoreItemsProcedure,
});
