// @vitest-environment node
import { createHash } from 'node:crypto';
import { signUserToken as signOnServer, verifyUserToken } from '@recsys/server';
import { describe, expect, it } from 'vitest';
import { signUserToken } from './node';

const secretPart = 'ab'.repeat(24);
const secretKey = `sk_shop_0123456789abcdef_${secretPart}`;
const storedHash = createHash('sha256').update(secretPart).digest('hex');
const now = Date.UTC(2026, 11, 6);

describe('signUserToken from @recsys/sdk/node', () => {
  it('signs tokens the server accepts for that user, byte for byte as the server would', async () => {
    const token = signUserToken({ secretKey, userId: 'u-42', expiresInSeconds: 900, now });
    expect(token).toBe(signOnServer({ secretKey, userId: 'u-42', expiresInSeconds: 900, now }));
    const lookup = async (ns: string, kid: string) =>
      ns === 'shop' && kid === '0123456789abcdef' ? storedHash : undefined;
    expect(await verifyUserToken(token, 'shop', lookup, now)).toEqual({ userId: 'u-42' });
    expect(await verifyUserToken(token, 'shop', lookup, now + 900_000)).toEqual({ failure: 'expired' });
  });

  it('lives one hour unless asked otherwise, and never more than 7 days', () => {
    const [, payload] = signUserToken({ secretKey, userId: 'u-42', now }).split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString()).exp).toBe(now / 1000 + 3600);
    expect(() => signUserToken({ secretKey, userId: 'u-42', expiresInSeconds: 8 * 86_400 })).toThrow(
      /at most|from 1 to 604800/,
    );
    expect(() => signUserToken({ secretKey, userId: 'u-42', expiresInSeconds: 0 })).toThrow(RangeError);
  });

  it('refuses a publishable key, a malformed key and an empty userId', () => {
    expect(() => signUserToken({ secretKey: `pk_shop_0123456789abcdef_${secretPart}`, userId: 'u' })).toThrow(
      /secret key/,
    );
    expect(() => signUserToken({ secretKey: 'sk_nope', userId: 'u' })).toThrow(/secret key/);
    expect(() => signUserToken({ secretKey, userId: '' })).toThrow(/userId/);
  });
});
