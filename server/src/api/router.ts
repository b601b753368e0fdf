import { adminRouter } from './admin';
import { eventsRouter } from './events';
import { router } from './init';
import { itemsRouter } from './items';
import { recsRouter } from './recs';
import { usersRouter } from './users';

export const appRouter = router({
  items: itemsRouter,
  users: usersRouter,
  events: eventsRouter,
  recs: recsRouter,
  admin: adminRouter,
});

/** The router's type: what `@recsys/sdk`'s typed client is inferred from. */
export type AppRouter = typeof appRouter;
