import { type EmbeddingEncoder, vectorToBytes } from '@recsys/engine';
import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';
import type { NamespaceRuntime } from './namespaceRuntime';
import { writeEmbeddings } from './reads';

/**
 * Embeds items whose text changed, one batch at a time, off the request path. The vectors are
 * stored, not applied: the next poll applies them here and in every other process alike.
 */
export class EmbeddingJob {
  private running: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly encoder: EmbeddingEncoder,
    private readonly log: Logger,
    private readonly batchSize: number,
  ) {}

  /** The batch being embedded, if any. */
  get current(): Promise<void> | undefined {
    return this.running;
  }

  /**
   * Starts one batch for the first namespace with pending items, unless one is running: text
   * vectors first, then the learned encoder's complement lists (see `LearnedComplements`).
   */
  start(runtimes: Iterable<NamespaceRuntime>): void {
    if (this.running) return;
    let rt: NamespaceRuntime | undefined;
    let cold: NamespaceRuntime | undefined;
    for (const r of runtimes) {
      if (r.pendingEmbeddings.size > 0) {
        rt = r;
        break;
      }
      if (cold === undefined && (r.learned?.pending.size ?? 0) > 0) cold = r;
    }
    const target = rt ?? cold;
    if (!target) return;
    const batch = rt ? this.embedBatch(target) : target.learned!.fillBatch(this.batchSize);
    this.running = batch
      .catch((error: unknown) => {
        this.log.error({ err: error, namespace: target.namespaceId }, 'embedding batch failed; will retry');
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  private async embedBatch(rt: NamespaceRuntime): Promise<void> {
    const batch = [...rt.pendingEmbeddings].slice(0, this.batchSize);
    const vectors = await this.encoder.encode(batch.map(([, p]) => p.text));
    await writeEmbeddings(
      this.database,
      rt.namespaceId,
      this.encoder.modelId,
      batch.map(([itemId, p], i) => ({
        itemId,
        textHash: p.hash,
        vector: Buffer.from(vectorToBytes(vectors[i]!)),
      })),
    );
    // Until the poll applies the stored vectors, do not embed the same items again.
    for (const [id, p] of batch) {
      rt.storedHashes.set(id, p.hash);
      rt.pendingEmbeddings.delete(id);
    }
  }
}
