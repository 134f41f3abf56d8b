import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkFromMail } from '../support/eml.js';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { attributeStrings, rawRequest } from '../support/reliability-util.js';
import { startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider.js';
import { TEST_SECRETS, testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * Issue 4, secrets in logs and at rest. A full flow against local mode (service tokens for every
 * client by both authentication methods, introspection, revocation, anonymous login and both
 * refresh forms, customer login with right and wrong passwords, an unknown email,
 * refresh, validate, logout, theft detection, 503s from injected store faults, wrong client
 * secrets, tokens in odd places), then:
 *  - every log line the broker wrote (and anything written to the console meanwhile) is scanned
 *    for every token, secret and password issued, presented or seeded, and for any 16-character
 *    piece of a token's random part: zero hits;
 *  - the whole table (`token-broker`, every page of a Scan) is scanned the same way: no stored
 *    string (S, SS, and inside L and M) holds any of them.
 */

let broker: TestBroker;
let storefront: Storefront;
/** A real identity provider: the federated logins are part of the flow (contract section 10). */
let idp: OidcProviderFixture;
const consoleLines: string[] = [];
/** The real console.log, for this harness's own summary line while the console is captured. */
const report = console.log.bind(console);

/** Secrets that must never appear, with what they are (for the failure message). */
const secrets = new Map<string, string>();
/** Tokens issued or presented; their random parts are scanned in 16-character pieces too. */
const tokens = new Set<string>();

function token(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '') return;
  tokens.add(value);
  secrets.set(value, what);
  // A saas_token's header and payload are public; its signature is what proves it.
  if (value.startsWith('eyJ')) secrets.set(value.split('.')[2]!, `${what} signature`);
}

function secret(value: string, what: string): void {
  secrets.set(value, what);
}

/** 16-character windows over a token's verifier (after the selector and the generation byte). */
function tokenPieces(value: string): string[] {
  if (!/^[A-Za-z0-9_-]{64}$/.test(value)) return [];
  const pieces: string[] = [];
  for (let start = 24; start + 16 <= value.length; start += 4) pieces.push(value.slice(start, start + 16));
  return pieces;
}

function findLeaks(texts: string[]): string[] {
  const leaks: string[] = [];
  for (const [value, what] of secrets) {
    for (const text of texts) if (text.includes(value)) leaks.push(`${what} in: ${text.slice(0, 300)}`);
  }
  for (const value of tokens) {
    for (const piece of tokenPieces(value)) {
      for (const text of texts)
        if (text.includes(piece)) leaks.push(`a piece of a token (${secrets.get(value)}) in: ${text.slice(0, 300)}`);
    }
  }
  return [...new Set(leaks)];
}

const WRONG_PASSWORDS = ['Tr0ub4dor&3-wrong', 'hunter2-hunter2', 'correct-horse-battery', 'P@ssw0rd-0042', 'letmein-please-7'];
const WRONG_SECRETS = ['orders-secret-0002', 'reports-secret-9999', 'not-a-real-secret-42'];

async function json(response: Response): Promise<Record<string, any>> {
  const text = await response.text();
  return text ? (JSON.parse(text) as Record<string, any>) : {};
}

/** Fails the next call of `command` on the store, after the store did the work when `after`. */
function failNext(command: string, after: boolean): void {
  let armed = true;
  const name = `secretsScanFault${command}${after ? 'After' : 'Before'}`;
  const middleware: InitializeMiddleware<any, any> = (next, context) => async (args) => {
    if (!armed || context.commandName !== `${command}Command`) return next(args);
    armed = false;
    broker.dynamoClient.middlewareStack.remove(name);
    if (after) await next(args).catch(() => undefined);
    throw Object.assign(new Error('Connection timed out after 1500 ms'), { name: 'TimeoutError' });
  };
  broker.dynamoClient.middlewareStack.add(middleware, { step: 'initialize', name });
}

beforeAll(async () => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map(String).join(' ')));
  }
  idp = await startOidcProvider();
  const seed = testSeed();
  Object.assign(seed.tenants.acme, {
    identityProviders: {
      default: idp.seedEntry({ audience: 'https://api.acme.example' }),
    },
  });
  // Signup with double opt-in (contract section 11): the tenant's mail settings.
  Object.assign(seed.tenants.acme, { mail: { from: 'shop@acme.example', optInLink: 'https://shop.acme.example/optin?token={token}' } });
  broker = await startTestBroker(seed);
  storefront = new Storefront(broker.url);
  secret(idp.clientSecret, "the identity provider's client secret");
  secret(String(idp.privateJwk.d), "the identity provider's private key d");

  // What was seeded: client secrets, the customer's password, and the key material on disk.
  for (const [name, value] of Object.entries(TEST_SECRETS)) secret(value, `client secret ${name}`);
  secret('correct-horse', 'customer password');
  const onDisk = JSON.parse(readFileSync(join(broker.dataDir, 'secrets.json'), 'utf8')) as {
    keys: { cacheKey: string };
    signingKeys: { privateJwk: { d: string } }[];
  };
  secret(onDisk.keys.cacheKey, 'cache key');
  expect(onDisk.signingKeys.length).toBeGreaterThan(0);
  for (const key of onDisk.signingKeys) secret(key.privateJwk.d, 'private signing key d');
  for (const value of WRONG_PASSWORDS) secret(value, 'presented wrong password');
  for (const value of WRONG_SECRETS) secret(value, 'presented wrong client secret');

  await runFullFlow();
});

afterAll(async () => {
  vi.restoreAllMocks();
  await broker.stop();
  await idp.stop();
});

async function runFullFlow(): Promise<void> {
  const url = broker.url;
  const tokenUrl = `${url}/oauth/token`;
  const clients = [
    ['orders-svc', TEST_SECRETS.orders],
    ['reports-svc', TEST_SECRETS.reports],
    ['globex-svc', TEST_SECRETS.globex],
  ] as const;
  const introspectAs = (token: string, [id, secretValue]: readonly [string, string] = clients[1]) =>
    postForm(`${url}/oauth/introspect`, { token }, { authorization: basic(id, secretValue) }).then(json);

  // Service tokens for every client, by Basic and by client_secret_post, all scopes and one.
  const service: string[] = [];
  for (const [id, secretValue] of clients) {
    const byBasic = await json(await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic(id, secretValue) }));
    const byPost = await json(
      await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: id, client_secret: secretValue, scope: 'order.order_read' }),
    );
    expect(byBasic.access_token).toBeTypeOf('string');
    expect(byPost.access_token).toBeTypeOf('string');
    token(byBasic.access_token, `service token of ${id}`);
    token(byPost.access_token, `service token of ${id}`);
    service.push(byBasic.access_token, byPost.access_token);
  }
  // Wrong secrets, by both methods, and a secret in the query string (refused before use).
  for (const wrong of WRONG_SECRETS) {
    expect((await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic('orders-svc', wrong) })).status).toBe(
      401,
    );
    expect((await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: 'orders-svc', client_secret: wrong })).status).toBe(
      401,
    );
  }
  expect(
    (await postForm(`${tokenUrl}?client_secret=${WRONG_SECRETS[0]}`, { grant_type: 'client_credentials', client_id: 'orders-svc' })).status,
  ).toBe(400);

  // Introspection and revocation.
  for (const value of service) await introspectAs(value);
  expect(await introspectAs(service[0]!, clients[2])).toEqual({ active: false });
  expect(
    (await postForm(`${url}/oauth/revoke`, { token: service[0]! }, { authorization: basic('orders-svc', TEST_SECRETS.orders) })).status,
  ).toBe(200);

  // Anonymous login, refresh (both forms), introspection, revocation by refresh token.
  const anonymous = (await storefront.anonymousLogin({ currency: 'EUR' })).body;
  token(anonymous.access_token, 'anonymous access token');
  token(anonymous.refresh_token, 'anonymous refresh token');
  const refreshed = (await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).body;
  token(refreshed.access_token, 'anonymous access token');
  token(refreshed.refresh_token, 'anonymous refresh token');
  const renewed = await storefront.anonymousRefresh({ anonymous_token: refreshed.access_token });
  expect(renewed.status).toBe(200);
  token(renewed.body.access_token, 'anonymous access token (anonymous_token form)');
  expect((await introspectAs(refreshed.access_token)).active).toBe(true);
  const doomed = (await storefront.anonymousLogin()).body;
  token(doomed.access_token, 'anonymous access token');
  token(doomed.refresh_token, 'anonymous refresh token');
  expect(
    (await postForm(`${url}/oauth/revoke`, { token: doomed.refresh_token }, { authorization: basic('reports-svc', TEST_SECRETS.reports) }))
      .status,
  ).toBe(200);

  // Customer login: right password, wrong passwords, an unknown email. (Each costs a scrypt.)
  const bearer = (await storefront.anonymousLogin()).body;
  token(bearer.access_token, 'anonymous access token');
  token(bearer.refresh_token, 'anonymous refresh token');
  const login = await storefront.login(bearer.access_token, 'ann@example.com', 'correct-horse');
  expect(login.status).toBe(200);
  token(login.body.access_token, 'customer access token');
  token(login.body.refresh_token, 'customer refresh token');
  token(login.body.saas_token, 'saas_token');
  for (const wrong of WRONG_PASSWORDS.slice(0, 2)) {
    expect((await storefront.login(bearer.access_token, 'ann@example.com', wrong)).status).toBe(401);
    broker.clock.advance(5); // past the wait after the 2nd failure
  }
  expect((await storefront.login(bearer.access_token, 'nobody@example.com', WRONG_PASSWORDS[2]!)).status).toBe(401);

  // Federated logins: a real code (and its replay), the provider's tokens echoed back, a token
  // exchange with a token the provider signed, and one that fails its checks.
  const federated = async (path: string, query: Record<string, string>) => {
    const session = (await storefront.anonymousLogin()).body;
    token(session.access_token, 'anonymous access token');
    token(session.refresh_token, 'anonymous refresh token');
    const response = await fetch(`${url}/customer/acme/${path}?${new URLSearchParams(query)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.access_token}` },
    });
    return { status: response.status, body: await json(response) };
  };
  const code = await idp.getCode({ login: 'cid', nonce: 'secrets-scan-nonce' });
  secret(code, 'provider code');
  const social = await federated('socialLogin', { code, nonce: 'secrets-scan-nonce' });
  expect(social.status).toBe(200);
  for (const field of ['access_token', 'refresh_token', 'saas_token']) token(social.body[field], `federated ${field}`);
  token(social.body.social_access_token, "the provider's access token");
  token(social.body.social_id_token, "the provider's ID token");
  expect((await federated('socialLogin', { code })).status).toBe(401);
  const now = Math.floor(Date.now() / 1000);
  const external = await idp.signAccessToken({
    iss: idp.issuer,
    sub: 'scan-user',
    aud: 'https://api.acme.example',
    email: 'scan-user@example.com',
    email_verified: true,
    iat: now,
    exp: now + 300,
  });
  token(external, 'external access token');
  const exchanged = await federated('exchangeauthtoken', { subjectAccessToken: external });
  expect(exchanged.status).toBe(200);
  for (const field of ['access_token', 'refresh_token', 'saas_token']) token(exchanged.body[field], `exchanged ${field}`);
  const forged = await idp.signAccessToken({ iss: idp.issuer, sub: 'x', aud: 'https://other.example', iat: now, exp: now + 300 });
  token(forged, 'refused external access token');
  expect((await federated('exchangeauthtoken', { subjectAccessToken: forged })).status).toBe(401);

  // Refresh, validate, introspect, logout.
  const customerRefresh = await storefront.refresh(login.body.refresh_token, { bearer: login.body.access_token, legalEntityId: 'LE-1' });
  expect(customerRefresh.status).toBe(200);
  token(customerRefresh.body.access_token, 'customer access token');
  token(customerRefresh.body.refresh_token, 'customer refresh token');
  expect((await storefront.validate(customerRefresh.body.access_token)).status).toBe(200);
  expect((await introspectAs(customerRefresh.body.access_token)).active).toBe(true);

  // Theft detection: a consumed anonymous refresh token used again after the grace window.
  broker.clock.advance(11);
  expect((await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).status).toBe(401);
  expect(broker.logLines.some((line) => line.includes('"event":"refresh_reuse_detected"'))).toBe(true);

  // 503s from injected store faults, with secrets and tokens in the failed requests: a lost
  // refresh answer (the write happened) and its retry, a customer login, a validate, a token.
  failNext('GetItem', false);
  const unavailable = await postForm(tokenUrl, {
    grant_type: 'client_credentials',
    client_id: 'orders-svc',
    client_secret: TEST_SECRETS.orders,
    scope: 'order.order_manage',
  });
  expect(unavailable.status).toBe(503);
  expect(unavailable.headers.get('retry-after')).not.toBeNull();
  failNext('UpdateItem', true);
  const lost = await storefront.refresh(customerRefresh.body.refresh_token);
  expect(lost.status).toBe(503);
  const retried = await storefront.refresh(customerRefresh.body.refresh_token);
  expect(retried.status).toBe(200);
  token(retried.body.access_token, 'customer access token');
  token(retried.body.refresh_token, 'customer refresh token');
  failNext('BatchGetItem', false);
  expect((await storefront.login(bearer.access_token, 'ann@example.com', WRONG_PASSWORDS[3]!)).status).toBe(503);
  failNext('GetItem', false);
  expect((await storefront.validate(retried.body.access_token)).status).toBe(503);

  // Logout, by the query parameter; afterwards the token fails and a second logout is a 401.
  expect((await storefront.logout(retried.body.access_token)).status).toBe(204);
  expect((await storefront.validate(retried.body.access_token)).status).toBe(401);
  expect((await storefront.logout(retried.body.access_token)).status).toBe(401);

  // Tokens and secrets in places no well-behaved client puts them.
  const live = retried.body.access_token as string;
  await rawRequest(url, {
    method: 'GET',
    path: `/customer/acme/validateauthtoken?access_token=${live}&password=${WRONG_PASSWORDS[2]}`,
    headers: { 'x-api-key': live, authorization: `Bearer ${live}` },
  });
  await rawRequest(url, { method: 'GET', path: `/oauth/${live}` });
  await rawRequest(url, { method: 'GET', path: `/customer/${live}/validateauthtoken` });
  await rawRequest(url, {
    method: 'POST',
    path: `/customer/acme/login`,
    headers: {
      authorization: `Basic ${Buffer.from(`ann@example.com:${WRONG_PASSWORDS[3]}`).toString('base64')}`,
      'content-type': 'text/plain',
    },
    body: `${WRONG_PASSWORDS[3]} ${live}`,
  });
  await rawRequest(url, {
    method: 'POST',
    path: '/oauth/token',
    headers: { 'content-type': 'application/json' },
    body: `{"client_secret":"${TEST_SECRETS.orders}", broken`,
  });
  await rawRequest(url, { method: 'GET', path: `//:1/${live}` });

  await signupFlow(url);
}

/** Signup, the link from the outbox (twice: one use), a resend and a second link, a short password. */
async function signupFlow(url: string): Promise<void> {
  const password = 'signup-pass-4711';
  secret(password, 'signup password');
  secret('short7x', 'refused short signup password');
  const anonymous = async () => (await storefront.anonymousLogin()).body.access_token as string;
  const signup = async (body: unknown) =>
    fetch(`${url}/customer/acme/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await anonymous()}` },
      body: JSON.stringify(body),
    });
  const linkTokens = () =>
    readdirSync(broker.outbox)
      .filter((name) => name.endsWith('.eml'))
      .sort()
      .map((name) => new URL(linkFromMail(readFileSync(join(broker.outbox, name), 'utf8'), 'https://shop.acme.example/optin?token=')))
      .map((link) => link.searchParams.get('token')!);
  expect((await signup({ signup: { email: 'scan@example.com', password }, customerDetails: { company: 'Scan' } })).status).toBe(201);
  expect((await signup({ email: 'scan2@example.com', password: 'short7x' })).status).toBe(400);
  broker.clock.advance(61);
  const resent = await fetch(`${url}/customer/acme/signup/optin/refresh_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'scan@example.com' }),
  });
  expect(resent.status).toBe(202);
  const [first, second] = linkTokens();
  token(first, 'first signup link token');
  token(second, 'second signup link token');
  const confirm = async (value: string) =>
    fetch(`${url}/customer/acme/signup/optin/${encodeURIComponent(value)}`, { headers: { authorization: `Bearer ${await anonymous()}` } });
  expect((await confirm(first!)).status).toBe(400);
  const confirmed = await confirm(second!);
  expect(confirmed.status).toBe(200);
  const login = await json(confirmed);
  for (const field of ['access_token', 'refresh_token', 'saas_token']) token(login[field], `signup login ${field}`);
  expect((await confirm(second!)).status).toBe(400);
}

describe('after a full flow', () => {
  it('issued and collected what it set out to scan for', () => {
    expect(tokens.size).toBeGreaterThanOrEqual(20);
    expect(broker.logLines.length).toBeGreaterThanOrEqual(40);
    expect(broker.logLines.some((line) => line.includes('dependency unavailable'))).toBe(true);
    // The scan covers every kind of line: request lines and metrics (EMF) lines too (issue 14).
    expect(broker.logLines.some((line) => line.includes('"status":') && line.includes('"requestId":'))).toBe(true);
    expect(broker.logLines.some((line) => line.includes('"_aws":'))).toBe(true);
  });

  it('the scanner finds a planted secret, a planted token and a planted piece of a token', () => {
    const someToken = [...tokens].find((value) => value.length === 64)!;
    expect(findLeaks([`{"x":"${someToken}"}`]).length).toBeGreaterThan(0);
    expect(findLeaks([`{"x":"..${someToken.slice(30, 50)}.."}`]).length).toBeGreaterThan(0);
    expect(findLeaks([`{"password":"${WRONG_PASSWORDS[0]}"}`]).length).toBeGreaterThan(0);
    expect(findLeaks(['{"message":"nothing here"}'])).toEqual([]);
  });

  it('no log line holds a token, a secret, a password or key material', () => {
    for (const line of broker.logLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(findLeaks([...broker.logLines, ...consoleLines])).toEqual([]);
  });

  it('no stored attribute holds a token, a secret, a password or key material', async () => {
    const stored: string[] = [];
    let items = 0;
    let pages = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await broker.dynamoClient.send(new ScanCommand({ TableName: 'token-broker', ExclusiveStartKey: startKey, Limit: 7 }));
      pages++;
      for (const item of page.Items ?? []) {
        items++;
        for (const [name, value] of Object.entries(item)) for (const text of attributeStrings(value)) stored.push(`${name}=${text}`);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    report(
      JSON.stringify({
        reliability: 'secrets-scan',
        scannedItems: items,
        pages,
        storedStrings: stored.length,
        logLines: broker.logLines.length,
        secretsScannedFor: secrets.size,
        tokens: tokens.size,
      }),
    );
    expect(pages).toBeGreaterThan(1);
    expect(items).toBeGreaterThanOrEqual(15);
    expect(findLeaks(stored)).toEqual([]);
  });
});
