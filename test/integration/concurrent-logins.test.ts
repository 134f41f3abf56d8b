import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_AFTER } from '../../functions/domain/login-throttle.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { Storefront } from '../support/storefront.js';

/**
 * One customer logging in from several devices at once: every right password gets its session.
 * Each success deletes the account's attempt counter while the others are reserving their
 * attempts on it; the reservation must absorb that churn, not answer 503 (a bug found while
 * building the sign-in page, which shares the counter).
 *
 * At most LOCK_AFTER logins per round: a reservation counts every attempt in flight, so a
 * (LOCK_AFTER + 1)th that reserves before any success has cleared the counter is refused with
 * 429 by design (the parallel-guess tests rely on it). Whether that happens is a matter of timing,
 * which a store in its own process (local mode since issue 13, and DynamoDB) makes real.
 */

let broker: TestBroker;
let storefront: Storefront;
beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});
afterAll(() => broker.stop());

describe('concurrent successful logins of one account', () => {
  it(`all succeed: 10 rounds of ${LOCK_AFTER} parallel logins with the right password`, async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      const anonymous = await Promise.all(Array.from({ length: LOCK_AFTER }, () => storefront.anonymousLogin()));
      const logins = await Promise.all(anonymous.map((a) => storefront.login(a.body.access_token, 'ann@example.com', 'correct-horse')));
      statuses.push(...logins.map((login) => login.status));
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });
});
