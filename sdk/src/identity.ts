/**
 * Who the visitor is: the anonymous id, the session, the signed-in user id and the one-time
 * `users.alias` link between them. Ids live in a first-party cookie first (shared across
 * subdomains), then localStorage, then memory.
 */
import { mutationRequest } from '@recsys/protocol';
import { isSessionExpired, parseSession, type SessionRecord } from './session';
import { createCookieStore, createMemoryStore, createStoreChain, createWebStore } from './storage';
import type { TrackerCore } from './trackerCore';
import type { TrackerOptions } from './trackerOptions';
import { createUuid } from './uuid';

const AID = 'rsys_aid';
const UID = 'rsys_uid';
const SESS = 'rsys_sess';
const ALIAS = 'rsys_alias';
const YEAR = 31_536_000;

export interface Identity {
  /** The visitor's anonymous id, made on first use; undefined without consent or in server mode. */
  _anonymousId(): string | undefined;
  /** The session id; `touch` extends the session (an event), otherwise it is only read. */
  _session(touch: boolean): string | undefined;
  _userId(): string | undefined;
  /**
   * Remembers the signed-in user (in memory only while consent is denied) and links the ids; called
   * again when consent is given, it stores the user id kept in memory.
   */
  _identify(userId: string): void;
  /** Forgets every id and the token (logout, consent withdrawn). */
  _wipe(): void;
}

export function createIdentity(core: TrackerCore, options: TrackerOptions): Identity {
  const timeout = options.sessionTimeout ?? 1_800_000;
  const memory = createMemoryStore();
  const local = createWebStore('localStorage');
  const p = core._persistent;
  const ids = createStoreChain(
    p ? [createCookieStore({ domain: options.cookieDomain }), local, memory] : [memory],
  );
  const prefs = createStoreChain(p ? [local, memory] : [memory]);
  let aliasPending = '';

  function anonymousId(): string | undefined {
    if (!core._granted || core._server) return undefined;
    let id = ids.get(AID);
    if (!id) {
      id = createUuid();
      ids.set(AID, id, YEAR);
    }
    return id;
  }

  function aliasOnce(): void {
    const userId = ids.get(UID);
    const anon = anonymousId();
    if (!userId || !anon) return;
    const pair = `${anon} ${userId}`;
    if (prefs.get(ALIAS) === pair || aliasPending === pair) return;
    aliasPending = pair;
    // a tRPC mutation in the protocol's wire format, so the tracking-only build needs no RPC client
    const { url, init } = mutationRequest(
      options.endpoint, // trailing slashes are dropped there
      options.key,
      'users.alias',
      { anonymousId: anon, userId },
      core._token,
    );
    core
      ._fetch(url, init)
      .then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        if (core._granted) prefs.set(ALIAS, pair);
      })
      .catch((e) => core._warn('users.alias failed:', e))
      .finally(() => {
        aliasPending = '';
      });
  }

  function identify(userId: string): void {
    // while consent is denied the user id is kept in memory only
    (core._granted ? ids : memory).set(UID, userId, YEAR);
    if (core._granted && !core._server) aliasOnce();
  }

  return {
    _anonymousId: anonymousId,
    _session(touch) {
      if (!core._granted || core._server) return undefined;
      const now = Date.now();
      let s: SessionRecord | null = parseSession(ids.get(SESS));
      if (!s || isSessionExpired(s, now, timeout, options.sessionDayBoundary ?? 'local'))
        s = { id: createUuid(), last: now };
      else if (!touch) return s.id;
      s.last = now;
      ids.set(SESS, JSON.stringify(s), Math.ceil(timeout / 1000));
      return s.id;
    },
    _userId: () => ids.get(UID) ?? undefined,
    _identify: identify,
    _wipe() {
      core._token = undefined;
      for (const k of [AID, UID, SESS]) ids.remove(k);
      prefs.remove(ALIAS);
    },
  };
}
