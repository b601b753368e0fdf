import type { MessagePort } from 'node:worker_threads';
import type { Surface } from '@recsys/engine';
import { type EngineList, EngineNotReadyError, type EngineService, type ServeInput } from './EngineService';

/**
 * The two ends of an {@link EngineService} across threads: {@link exposeEngine} answers on the
 * thread that holds the engines, a {@link RemoteEngine} asks from another (the HTTP thread of
 * `startHttpThread`). Messages are structured clones on a `MessagePort`: the request's validated
 * input one way, the ranked list with its display fields the other — a few hundred bytes each.
 */
type ToEngine =
  | { t: 'serve'; id: number; namespaceId: string; surface: Surface; input: ServeInput }
  | { t: 'nudge' };
type FromEngine =
  | { t: 'ready'; ready: boolean }
  | { t: 'served'; id: number; list: EngineList }
  | { t: 'failed'; id: number; notReady: boolean; message: string; stack?: string | undefined };

/** How often {@link exposeEngine} looks whether engines that were still loading are ready. */
const READY_CHECK_MS = 100;

/**
 * Answers a {@link RemoteEngine} on `port` from `engines` (this thread's engine host). Returns a
 * function that stops answering and closes the port.
 */
export function exposeEngine(engines: EngineService, port: MessagePort): () => void {
  const post = (message: FromEngine) => port.postMessage(message);
  let ready = engines.ready;
  post({ t: 'ready', ready });
  // The host has no ready event; a loading host is looked at until it is ready.
  const readyCheck = ready
    ? undefined
    : setInterval(() => {
        if (!engines.ready) return;
        ready = true;
        clearInterval(readyCheck);
        post({ t: 'ready', ready });
      }, READY_CHECK_MS).unref();
  port.on('message', (message: ToEngine) => {
    if (message.t === 'nudge') {
      engines.nudge();
      return;
    }
    const { id } = message;
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
  return () => {
    clearInterval(readyCheck);
    port.close();
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
    { resolve: (list: EngineList) => void; reject: (error: Error) => void }
  >();
  private isReady = false;
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: FromEngine) => this.receive(message));
    port.on('close', () => this.fail('The engine thread closed its port.'));
  }

  get ready(): boolean {
    return this.isReady;
  }

  nudge(): void {
    if (!this.closed) this.port.postMessage({ t: 'nudge' } satisfies ToEngine);
  }

  serve(namespaceId: string, surface: Surface, input: ServeInput): Promise<EngineList> {
    if (this.closed) return Promise.reject(new Error('The engine thread is gone.'));
    if (!this.isReady) return Promise.reject(new EngineNotReadyError());
    const id = this.nextId++;
    return new Promise<EngineList>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ t: 'serve', id, namespaceId, surface, input } satisfies ToEngine);
    });
  }

  /** Rejects what is in flight and stops listening. */
  close(): void {
    this.fail('The engine connection was closed.');
    this.port.close();
  }

  private receive(message: FromEngine) {
    if (message.t === 'ready') {
      this.isReady = message.ready;
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.t === 'served') {
      waiting.resolve(message.list);
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
