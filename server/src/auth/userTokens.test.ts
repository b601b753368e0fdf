import { USER_TOKEN_MAX_SECONDS } from '@recsys/engine/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { createKeyResolver, type KeyResolver } from './keyResolver';
import { createApiKey, createNamespace, revokeApiKey } from './namespaces';
import { signUserToken, verifyUserToken } from './userTokens';

describe('user tokens', () => {
  let database: Database;
  let resolver: KeyResolver;
  let secretKey: string;
  let otherSecretKey: string;
  const now = Date.UTC(2026, 11, 6, 12);

  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    await createNamespace(database, 'shop');
    await createNamespace(database, 'other');
    secretKey = (await createApiKey(database, 'shop', { kind: 'secret' })).key;
    otherSecretKey = (await createApiKey(database, 'other', { kind: 'secret' })).key;
    resolver = createKeyResolver(database);
  });
  afterAll(() => database.close());

  const verify = (token: string, namespaceId = 'shop', at = now) =>
    verifyUserToken(token, namespaceId, resolver.secretKeyHash, at);

  it('accepts a token signed with a secret key of the namespace for its user until it expires', async () => {
    const token = signUserToken({ secretKey, userId: 'u-7', expiresInSeconds: 600, now });
    expect(token).toMatch(/^ut1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await verify(token)).toEqual({ userId: 'u-7' });
    expect(await verify(token, 'shop', now + 599_000)).toEqual({ userId: 'u-7' });
    expect(await verify(token, 'shop', now + 600_000)).toEqual({ failure: 'expired' });
  });

  it('keeps any userId intact, including non-ASCII ones', async () => {
    const token = signUserToken({ secretKey, userId: 'jürgen.🛒/"quoted"', now });
    expect(await verify(token)).toEqual({ userId: 'jürgen.🛒/"quoted"' });
  });

  it('refuses a token of another namespace, even one signed with that namespace’s own key', async () => {
    const foreign = signUserToken({ secretKey: otherSecretKey, userId: 'u-7', now });
    expect(await verify(foreign)).toEqual({ failure: 'wrong namespace' });
    expect(await verify(foreign, 'other')).toEqual({ userId: 'u-7' });
  });

  it('refuses a token whose user, expiry or signature was changed', async () => {
    const token = signUserToken({ secretKey, userId: 'u-7', now });
    const [version, payload, mac] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forge = (changes: object) =>
      `${version}.${Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url')}.${mac}`;
    expect(await verify(forge({ sub: 'u-8' }))).toEqual({ failure: 'bad signature' });
    expect(await verify(forge({ exp: claims.exp + 60 }))).toEqual({ failure: 'bad signature' });
    const flipped = `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    expect(await verify(`${version}.${payload}.${flipped}`)).toEqual({ failure: 'bad signature' });
    expect(await verify(`${version}.${payload}.${mac.slice(0, -2)}`)).toEqual({ failure: 'bad signature' });
  });

  it('refuses malformed tokens without throwing', async () => {
    const token = signUserToken({ secretKey, userId: 'u-7', now });
    for (const bad of [
      '',
      'ut1',
      'ut1..',
      token.replace(/^ut1/, 'ut2'),
      `${token}.x`,
      'ut1.bm90IGpzb24.AAAA',
      `ut1.${Buffer.from('{"ns":"shop"}').toString('base64url')}.AAAA`,
      `ut1.${Buffer.from('null').toString('base64url')}.AAAA`,
      `${token.slice(0, 10)}\u0000${token.slice(10)}`,
      'x'.repeat(5000),
    ]) {
      expect(await verify(bad)).toEqual({ failure: 'malformed' });
    }
  });

  it('refuses a token that would live longer than 7 days', async () => {
    expect(() =>
      signUserToken({ secretKey, userId: 'u-7', expiresInSeconds: USER_TOKEN_MAX_SECONDS + 1 }),
    ).toThrow(/expiresInSeconds/);
    // Signed with a clock far ahead: expires more than 7 days after the server's now.
    const early = signUserToken({ secretKey, userId: 'u-7', now: now + 3_600_000 });
    expect(await verify(early, 'shop', now - USER_TOKEN_MAX_SECONDS * 1000)).toEqual({
      failure: 'lifetime over 7 days',
    });
  });

  it('refuses to sign with a publishable key', async () => {
    const { key } = await createApiKey(database, 'shop', { kind: 'publishable', allowedOrigins: ['*'] });
    expect(() => signUserToken({ secretKey: key, userId: 'u-7' })).toThrow(/secret key/);
  });

  it('stops accepting the tokens of a revoked key', async () => {
    const created = await createApiKey(database, 'shop', { kind: 'secret' });
    const token = signUserToken({ secretKey: created.key, userId: 'u-7', now });
    expect(await verify(token)).toEqual({ userId: 'u-7' });
    await revokeApiKey(database, 'shop', created.keyId);
    resolver.clear();
    expect(await verify(token)).toEqual({ failure: 'unknown or revoked key' });
    // The namespace's other keys and their tokens are unaffected.
    expect(await verify(signUserToken({ secretKey, userId: 'u-7', now }))).toEqual({ userId: 'u-7' });
  });
});
