import type { MessagePort } from 'node:worker_threads';
import type { Surface } from '@recsys/engine';
import { type PauseReport, watchThreadPauses } from '../obs/threadPauses';
import {
  type BundleServeInput,
  type EngineBundle,
  type EngineGroup,
  type EngineList,
  EngineNotReadyError,
  type EngineRerank,
  type EngineService,
  type GroupServeInput,
  type IndexFreshness,
  type LoadProgress,
  type NearCacheSource,
  type RerankServeInput,
  type ServeInput,
} from './EngineService';
import { NearCache } from './NearCache';
import type { RulePreviewJob, RulePreviewLists } from './previewRules';

/**
 * The two ends of an {@link EngineService} across threads: {@link exposeEngine} answers on the
 * thread that holds the engines, a {@link RemoteEngine} asks from another (the HTTP thread of
 * `startHttpThread`). Messages are structured clones on a `MessagePort`: the request's validated
 * input one way, the ranked list with its display fields the other — a few hundred bytes each.
 */
type ToEngine =
  | { t: 'serve'; id: number; namespaceId: string; surface: Surface; input: ServeInput }
  | { t: 'preview'; id: number; namespaceId: string; job: RulePreviewJob }
  | { t: 'bundle'; id: number; namespaceId: string; input: BundleServeInput }
  | { t: 'group'; id: number; namespaceId: string; input: GroupServeInput }
  | { t: 'rerank'; id: number; namespaceId: string; input: RerankServeInput }
  | { t: 'nudge' }
  | { t: 'synced'; sync: number };
type FromEngine =
  | {
      t: 'ready';
      ready: boolean;
      progress: LoadProgress | undefined;
      sync?: number;
      /** In the first message only, with a response cache: see {@link NearCache}. */
      near?: NearCacheSource | undefined;
    }
  | { t: 'served'; id: number; list: EngineList }
  | { t: 'freshness'; freshness: IndexFreshness }
  | { t: 'pauses'; report: PauseReport }
  | { t: 'previewed'; id: number; result: RulePreviewLists }
  | { t: 'bundled'; id: number; bundle: EngineBundle }
  | { t: 'grouped'; id: number; group: EngineGroup }
  | { t: 'reranked'; id: number; rerank: EngineRerank }
  | { t: 'failed'; id: number; notReady: boolean; message: string; stack?: string | undefined };

/** How often {@link exposeEngine} looks how far engines that were still loading have got. */
const READY_CHECK_MS = 100;
/**
 * How often the indexes' freshness and the engine thread's pauses are passed on (for `/metrics`,
 * scraped every 15 s or so).
 */
const FRESHNESS_MS = 1_000;

/** The engine thread's end of the bridge: see {@link exposeEngine}. */
export interface ExposedEngine {
  /**
   * Passes the engines' state (loaded, progress) on now; resolves once the other side has it. Without
   * it a change reaches the other side within {@link READY_CHECK_MS}.
   */
  sync(): Promise<void>;
  /** Stops answering and closes the port. */
  stop(): void;
}

/** Answers a {@link RemoteEngine} on `port` from `engines` (this thread's engine host). */
export function exposeEngine(engines: EngineService, port: MessagePort): ExposedEngine {
  const post = (message: FromEngine) => port.postMessage(message);
  const syncs = new Map<number, () => void>();
  let nextSync = 0;
  let ready = engines.ready;
  let progress = engines.progress;
  post({ t: 'ready', ready, progress, near: engines.nearCache });
  // The host has no ready event; a loading host is looked at until it is ready, and each step of
  // its progress is passed on (for the HTTP thread's /readyz).
  const readyCheck = ready
    ? undefined
    : setInterval(() => {
        if (engines.ready === ready && engines.progress === progress) return;
        ready = engines.ready;
        progress = engines.progress;
        if (ready) clearInterval(readyCheck);
        post({ t: 'ready', ready, progress });
      }, READY_CHECK_MS).unref();
  let freshness: IndexFreshness | undefined;
  // Every request waits for this thread: its GC pauses and event-loop delay are reported to the HTTP
  // thread, whose /metrics would otherwise show only its own.
  const pauses = watchThreadPauses();
  const freshnessCheck = setInterval(() => {
    post({ t: 'pauses', report: pauses.take() });
    const now = engines.freshness;
    if (!now || now === freshness) return;
    freshness = now;
    post({ t: 'freshness', freshness: now });
  }, FRESHNESS_MS).unref();
  port.on('message', (message: ToEngine) => {
    if (message.t === 'nudge') {
      engines.nudge();
      return;
    }
    if (message.t === 'synced') {
      syncs.get(message.sync)?.();
      syncs.delete(message.sync);
      return;
    }
    const { id } = message;
    // Answers off this turn of the event loop; a failure becomes a `failed` message.
    const answer = <T>(run: () => T | Promise<T>, reply: (value: T) => FromEngine) => {
      Promise.resolve()
        .then(run)
        .then(
          (value) => post(reply(value)),
          (error: unknown) => post(failure(id, error)),
        );
    };
    const { namespaceId } = message;
    switch (message.t) {
      case 'preview':
        return answer(
          () => engines.previewRules(namespaceId, message.job),
          (result) => ({ t: 'previewed', id, result }),
        );
      case 'bundle':
        return answer(
          () => engines.serveBundle(namespaceId, message.input),
          (bundle) => ({ t: 'bundled', id, bundle }),
        );
      case 'group':
        return answer(
          () => engines.serveGroup(namespaceId, message.input),
          (group) => ({ t: 'grouped', id, group }),
        );
      case 'rerank':
        return answer(
          () => engines.serveRerank(namespaceId, message.input),
          (rerank) => ({ t: 'reranked', id, rerank }),
        );
    }
    // An engine host answers synchronously; anything else is awaited.
    let list: EngineList | Promise<EngineList>;
    try {
      list = engines.serve(message.namespaceId, message.surface, message.input);
    } catch (error) {
      post(failure(id, error));
      return;
    }
    if (list instanceof Promise) {
      list.then(
        (l) => post({ t: 'served', id, list: l }),
        (error: unknown) => post(failure(id, error)),
      );
    } else {
      post({ t: 'served', id, list });
    }
  });
  return {
    sync() {
      ready = engines.ready;
      progress = engines.progress;
      if (ready) clearInterval(readyCheck);
      const sync = nextSync++;
      return new Promise<void>((resolve) => {
        syncs.set(sync, resolve);
        post({ t: 'ready', ready, progress, sync });
      });
    },
    stop() {
      clearInterval(readyCheck);
      clearInterval(freshnessCheck);
      pauses.stop();
      // Nobody will answer a pending sync any more.
      for (const resolve of syncs.values()) resolve();
      syncs.clear();
      port.close();
    },
  };
}

function failure(id: number, error: unknown): FromEngine {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    t: 'failed',
    id,
    notReady: err instanceof EngineNotReadyError,
    message: err.message,
    stack: err.stack,
  };
}

/** An {@link EngineService} whose engines live on another thread (see {@link exposeEngine}). */
export class RemoteEngine implements EngineService {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    {
      resolve: (value: never) => void;
      reject: (error: Error) => void;
      /** The {@link NearCache} key a served list is kept under. */
      nearKey?: string | undefined;
    }
  >();
  /** The lists the engine thread's response cache answered, kept here; absent without that cache. */
  private near: NearCache | undefined;
  private isReady = false;
  private loadProgress: LoadProgress | undefined;
  private indexFreshness: IndexFreshness | undefined;
  private readonly pauseListeners: Array<(report: PauseReport) => void> = [];
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: FromEngine) => this.receive(message));
    port.on('close', () => this.fail('The engine thread closed its port.'));
  }

  get ready(): boolean {
    return this.isReady;
  }

  get progress(): LoadProgress | undefined {
    return this.loadProgress;
  }

  /** As last passed on by the engine thread (within a second). */
  get freshness(): IndexFreshness | undefined {
    return this.indexFreshness;
  }

  /** Calls `listener` with each report of the engine thread's pauses (about once a second). */
  watchPauses(listener: (report: PauseReport) => void): void {
    this.pauseListeners.push(listener);
  }

  nudge(): void {
    if (!this.closed) this.port.postMessage({ t: 'nudge' } satisfies ToEngine);
  }

  /** A list kept here (see {@link NearCache}) is answered at once; any other is asked for. */
  serve(namespaceId: string, surface: Surface, input: ServeInput): EngineList | Promise<EngineList> {
    if (this.closed) return Promise.reject(new Error('The engine thread is gone.'));
    if (!this.isReady) return Promise.reject(new EngineNotReadyError());
    const nearKey = this.near && NearCache.keyOf(namespaceId, surface, input);
    if (nearKey !== undefined) {
      const kept = this.near!.get(nearKey);
      if (kept) return kept;
    }
    const id = this.nextId++;
    return new Promise<EngineList>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, nearKey });
      this.port.postMessage({ t: 'serve', id, namespaceId, surface, input } satisfies ToEngine);
    });
  }

  previewRules(namespaceId: string, job: RulePreviewJob): Promise<RulePreviewLists> {
    return this.ask<RulePreviewLists>((id) => ({ t: 'preview', id, namespaceId, job }));
  }

  serveBundle(namespaceId: string, input: BundleServeInput): Promise<EngineBundle> {
    return this.ask<EngineBundle>((id) => ({ t: 'bundle', id, namespaceId, input }));
  }

  serveGroup(namespaceId: string, input: GroupServeInput): Promise<EngineGroup> {
    return this.ask<EngineGroup>((id) => ({ t: 'group', id, namespaceId, input }));
  }

  serveRerank(namespaceId: string, input: RerankServeInput): Promise<EngineRerank> {
    return this.ask<EngineRerank>((id) => ({ t: 'rerank', id, namespaceId, input }));
  }

  /** Sends one request to the engine thread and resolves with its answer. */
  private ask<T>(message: (id: number) => ToEngine): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The engine thread is gone.'));
    if (!this.isReady) return Promise.reject(new EngineNotReadyError());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage(message(id));
    });
  }

  /** Rejects what is in flight and stops listening. */
  close(): void {
    this.fail('The engine connection was closed.');
    this.port.close();
  }

  private receive(message: FromEngine) {
    if (message.t === 'freshness') {
      this.indexFreshness = message.freshness;
      return;
    }
    if (message.t === 'pauses') {
      for (const listener of this.pauseListeners) listener(message.report);
      return;
    }
    if (message.t === 'ready') {
      if (message.near) this.near = new NearCache(message.near);
      this.isReady = message.ready;
      this.loadProgress = message.progress;
      if (message.sync !== undefined) {
        this.port.postMessage({ t: 'synced', sync: message.sync } satisfies ToEngine);
      }
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.t === 'served') {
      if (waiting.nearKey !== undefined) this.near?.set(waiting.nearKey, message.list);
      (waiting.resolve as (list: EngineList) => void)(message.list);
    } else if (message.t === 'previewed') {
      (waiting.resolve as (result: RulePreviewLists) => void)(message.result);
    } else if (message.t === 'bundled') {
      (waiting.resolve as (bundle: EngineBundle) => void)(message.bundle);
    } else if (message.t === 'grouped') {
      (waiting.resolve as (group: EngineGroup) => void)(message.group);
    } else if (message.t === 'reranked') {
      (waiting.resolve as (rerank: EngineRerank) => void)(message.rerank);
    } else {
      const error = message.notReady ? new EngineNotReadyError() : new Error(message.message);
      if (!message.notReady && message.stack) error.stack = message.stack;
      waiting.reject(error);
    }
  }

  private fail(reason: string) {
    if (this.closed) return;
    this.closed = true;
    this.isReady = false;
    for (const { reject } of this.pending.values()) reject(new Error(reason));
    this.pending.clear();
  }
}
