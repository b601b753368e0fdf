/**
 * Input limits. They keep one client from degrading the service for others
 * and keep rows small enough for the engine's in-memory indexes. The server
 * enforces them; clients may check them early.
 */
export const limits = {
  itemsPerUpsert: 1_000,
  eventsPerBatch: 500,
  usersPerUpsert: 1_000,
  idLength: 256,
  titleLength: 500,
  descriptionLength: 10_000,
  tagsPerItem: 100,
  tagLength: 128,
  propsKeys: 50,
  propsBytes: 16_384,
  metaKeys: 32,
  metaKeyLength: 64,
  metaStringLength: 1_024,
  traitsKeys: 32,
  traitStringLength: 256,
  /** Largest HTTP body accepted by the tRPC endpoint. */
  maxBodyBytes: 16 * 1024 * 1024,
  /** Largest body accepted by the browser collection endpoint. */
  maxCollectBodyBytes: 1024 * 1024,
  /** Client clocks further ahead than this are clamped to the receive time. */
  maxFutureSkewMs: 5 * 60_000,
  /** Items a recommendation request may ask for. */
  maxRecs: 100,
  /** Members of a `recs.group` request. */
  groupMembersMin: 2,
  groupMembersMax: 10,
  /** Candidates one `recs.rerank` request may send. */
  rerankCandidates: 500,
  pageSize: 100,
  maxPageSize: 1_000,
} as const;
