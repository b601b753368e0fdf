import { type Command, InvalidArgumentError } from 'commander';
import type { Database } from '../db/client';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

/** Options of {@link trainNamespaceEncoder}. */
export interface TrainEncoderOptions {
  namespaceId: string;
  /**
   * Learn only from purchases at or after this time (ISO-8601), e.g. to follow a changed range.
   * @default every purchase
   */
  since?: string | undefined;
  /**
   * Ridge strength (see `CoPurchaseProjectionOptions.ridge`).
   * @default 10
   */
  ridge?: number | undefined;
}

const PAGE = 20_000;

/**
 * Trains a namespace's learned cold-item encoder from its purchases (baskets: the order id, else
 * the session) and its catalog text, and stores it; every engine host loads it on its next poll.
 */
export async function trainNamespaceEncoder(database: Database, options: TrainEncoderOptions) {
  const { itemText, trainCoPurchaseProjection } = await import('@recsys/engine');
  const { readEventPage, readItems, readNextTransactionId } = await import('../replicate/reads');
  const { toEngineItem } = await import('../replicate/rows');
  const { writeLearnedEncoder } = await import('../replicate/learnedComplements');
  const sinceMs = options.since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(options.since);
  const hi = await readNextTransactionId(database);
  const texts = new Map<string, string>();
  for (const row of await readItems(database, { lo: 0, hi }, options.namespaceId)) {
    const text = itemText(toEngineItem(row));
    if (text.length > 0) texts.set(row.itemId, text);
  }
  const baskets = new Map<string, string[]>();
  let after: { ts: string; eventId: string } | undefined;
  for (;;) {
    const rows = await readEventPage(database, options.namespaceId, hi, after, PAGE);
    for (const e of rows) {
      if (e.type !== 'purchase' || e.itemId === null || e.tsMs < sinceMs) continue;
      const key = e.orderId !== null ? `o:${e.orderId}` : `s:${e.sessionId}`;
      const basket = baskets.get(key);
      if (basket === undefined) baskets.set(key, [e.itemId]);
      else basket.push(e.itemId);
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) break;
    after = { ts: last.tsText, eventId: last.eventId };
  }
  let projection: ReturnType<typeof trainCoPurchaseProjection>;
  try {
    projection = trainCoPurchaseProjection(
      { texts, baskets: baskets.values() },
      options.ridge !== undefined ? { ridge: options.ridge } : {},
    );
  } catch (error) {
    throw new UserError(
      'BAD_REQUEST',
      `Namespace "${options.namespaceId}": ${(error as Error).message} (${baskets.size} baskets, ${texts.size} items with text).`,
    );
  }
  return writeLearnedEncoder(database, options.namespaceId, projection, options.since);
}

export function registerEncoderCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('encoder')
    .description('the learned cold-item encoder: complements for items without sales')
    .command('train')
    .description(
      "learn from a namespace's co-purchases where items without sales find complements, and activate it",
    )
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option('--since <iso>', 'learn only from purchases at or after this time')
    .option('--ridge <n>', 'ridge strength (default 10)', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError('--ridge must be a positive number.');
      return n;
    })
    .option('--json', 'print the stored model as JSON')
    .action((opts: { namespace: string; since?: string; ridge?: number; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) {
          throw new UserError('BAD_REQUEST', `--since "${opts.since}" is not an ISO-8601 time.`);
        }
        const info = await trainNamespaceEncoder(database, {
          namespaceId: opts.namespace,
          since: opts.since,
          ridge: opts.ridge,
        });
        if (opts.json) return console.log(JSON.stringify(info));
        console.log(
          `Trained ${info.modelId} for "${opts.namespace}" on ${info.pairs} co-bought pairs of ${info.items} items (ridge ${info.ridge}); servers load it on their next poll.`,
        );
      }),
    );
}
