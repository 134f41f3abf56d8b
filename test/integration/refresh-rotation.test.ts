import type { InitializeMiddleware } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../functions/domain/tokens.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { INVALID_REFRESH, INVALID_TOKEN, selectorOf, Storefront } from '../support/storefront.js';

/**
 * Contract section 6: refresh tokens are one-time. Concurrency, the grace window, theft, and a
 * response lost after the write, all against local mode over HTTP.
 */

let broker: TestBroker;
let storefront: Storefront;

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});

afterAll(() => broker.stop());

describe('concurrent refreshes with one token', () => {
  it('produce exactly one successor: 50 customer refreshes in parallel all get the same new pair', async () => {
    const { login } = await storefront.customer();
    const answers = await Promise.all(Array.from({ length: 50 }, () => storefront.refresh(login.refresh_token)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const successors = new Set(answers.map((a) => `${a.body.access_token}/${a.body.refresh_token}`));
    expect(successors.size).toBe(1);
    const family = await broker.storefront.sessions.findSession(selectorOf(login.refresh_token));
    expect(family?.refresh.hash).toBe(hashToken(answers[0]!.body.refresh_token));
    expect((await storefront.validate(answers[0]!.body.access_token)).status).toBe(200);
  });

  it('produce exactly one successor for anonymous sessions too', async () => {
    const first = (await storefront.anonymousLogin()).body;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => storefront.anonymousRefresh({ refresh_token: first.refresh_token })),
    );
    expect(answers.every((a) => a.status === 200 && a.body.sessionId === first.sessionId)).toBe(true);
    expect(new Set(answers.map((a) => a.body.refresh_token)).size).toBe(1);
  });
});

describe('the grace window', () => {
  it('answers a retry with the just-consumed token with the same successor', async () => {
    const { login } = await storefront.customer();
    const first = await storefront.refresh(login.refresh_token);
    broker.clock.advance(10); // the default grace is 10 s, inclusive
    const retry = await storefront.refresh(login.refresh_token);
    expect(retry.status).toBe(200);
    expect(retry.body.access_token).toBe(first.body.access_token);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    expect(retry.body.expires_in).toBe(first.body.expires_in - 10);
  });

  it('keeps the previous access token working after a refresh, for requests in flight', async () => {
    const { login } = await storefront.customer();
    await storefront.refresh(login.refresh_token);
    expect((await storefront.validate(login.access_token)).status).toBe(200);
  });
});

describe('reuse after the grace window', () => {
  it('is theft: the request fails and the whole family is revoked, the successor included', async () => {
    const { login } = await storefront.customer();
    const successor = (await storefront.refresh(login.refresh_token)).body;
    broker.clock.advance(11);
    expect(await storefront.refresh(login.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect(await storefront.validate(successor.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.refresh(successor.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    const family = await broker.storefront.sessions.findSession(selectorOf(login.refresh_token));
    expect(family?.revokedAt).toBe(broker.clock.now);
    // Audit events (contract section 12): the reuse, and the revocation it caused.
    const events = broker.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.message === 'audit');
    for (const event of ['refresh_reuse_detected', 'family_revoked']) {
      expect(events).toContainEqual(
        expect.objectContaining({ event, tenant: 'acme', clientId: 'storefront-web', sessionId: login.session_id }),
      );
    }
  });

  it('also catches a token two rotations old', async () => {
    const first = (await storefront.anonymousLogin()).body;
    const second = (await storefront.anonymousRefresh({ refresh_token: first.refresh_token })).body;
    broker.clock.advance(11);
    const third = (await storefront.anonymousRefresh({ refresh_token: second.refresh_token })).body;
    expect(await storefront.anonymousRefresh({ refresh_token: first.refresh_token })).toMatchObject({ status: 401 });
    expect((await storefront.anonymousRefresh({ refresh_token: third.refresh_token })).status).toBe(401);
  });

  it('does not revoke a family for a forged token under its selector, which any access token reveals', async () => {
    const { login } = await storefront.customer();
    const successor = (await storefront.refresh(login.refresh_token)).body;
    broker.clock.advance(11);
    const forged = Buffer.concat([Buffer.from(login.access_token, 'base64url').subarray(0, 16), Buffer.alloc(32, 7)]).toString('base64url');
    expect(await storefront.refresh(forged)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect((await storefront.refresh(successor.refresh_token)).status).toBe(200);
  });

  it('remembers the last eight consumed tokens exactly: reuse of the oldest of them still revokes', async () => {
    let current = (await storefront.anonymousLogin()).body;
    const consumed: string[] = [];
    for (let i = 0; i < 9; i++) {
      consumed.push(current.refresh_token);
      current = (await storefront.anonymousRefresh({ refresh_token: current.refresh_token })).body;
      broker.clock.advance(11);
    }
    // consumed[0] was overwritten by consumed[8] (same generation slot): just invalid.
    expect(await storefront.anonymousRefresh({ refresh_token: consumed[0]! })).toMatchObject({ status: 401 });
    const next = await storefront.anonymousRefresh({ refresh_token: current.refresh_token });
    expect(next.status).toBe(200);
    broker.clock.advance(11);
    // That refresh consumed generation 9, which took consumed[1]'s slot; consumed[2] is the
    // oldest still remembered: its reuse is theft, and the family ends.
    const family = () => broker.storefront.sessions.findSession(selectorOf(current.refresh_token));
    expect(await storefront.anonymousRefresh({ refresh_token: consumed[1]! })).toMatchObject({ status: 401 });
    expect((await family())?.revokedAt).toBeUndefined();
    expect(await storefront.anonymousRefresh({ refresh_token: consumed[2]! })).toMatchObject({ status: 401 });
    expect((await family())?.revokedAt).toBe(broker.clock.now);
  });

  it('does not revoke a family when an access token is presented as a refresh token', async () => {
    const { login } = await storefront.customer();
    expect(await storefront.refresh(login.access_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect((await storefront.refresh(login.refresh_token)).status).toBe(200);
  });
});

describe('a store failure after the write', () => {
  it('does not consume the token without its successor: the retry gets the successor that was written', async () => {
    const { login } = await storefront.customer();
    let armed = true;
    // The UpdateItem reaches the store; then the connection "drops" before the broker hears back.
    const dropResponseAfterWrite: InitializeMiddleware<any, any> = (next, context) => async (args) => {
      const result = await next(args);
      if (armed && context.commandName === 'UpdateItemCommand') {
        armed = false;
        throw Object.assign(new Error('socket hang up after the write'), { name: 'TimeoutError' });
      }
      return result;
    };
    broker.dynamoClient.middlewareStack.add(dropResponseAfterWrite, { step: 'initialize', name: 'dropResponseAfterWrite' });
    try {
      const lost = await storefront.refresh(login.refresh_token);
      expect(lost.status).toBe(503);
      expect(lost.headers.get('retry-after')).toBe('1');
      expect(armed).toBe(false);

      const retry = await storefront.refresh(login.refresh_token);
      expect(retry.status).toBe(200);
      const family = await broker.storefront.sessions.findSession(selectorOf(login.refresh_token));
      expect(family?.refresh.hash).toBe(hashToken(retry.body.refresh_token));
      expect(family?.access.hash).toBe(hashToken(retry.body.access_token));
      expect((await storefront.validate(retry.body.access_token)).status).toBe(200);
    } finally {
      broker.dynamoClient.middlewareStack.remove('dropResponseAfterWrite');
    }
  });
});
