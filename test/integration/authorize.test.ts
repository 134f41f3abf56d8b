import type { InitializeMiddleware } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_SECONDS, PENDING_AUTHORIZATION_SECONDS } from '../../functions/domain/authorization.js';
import { FAILURE_WINDOW_SECONDS } from '../../functions/domain/login-throttle.js';
import { selectorOf, Storefront } from '../support/storefront.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';
import { authorizeQuery, CHALLENGE, openAuthorize, postSignIn, signIn, type SignInForm, withShopApp } from '../support/authorize.js';

/**
 * The authorization endpoint and the sign-in page over real HTTP (contract section 8): the
 * validation order that never redirects to an unregistered URI, PKCE S256 only, errors back to
 * the app with state and iss (RFC 9207), the CSRF defence bound to the pending request, one
 * message for a wrong email and a wrong password, and the account counter shared with
 * `POST /customer/{tenant}/login`.
 */

const CUSTOMERS = ['carol', 'dave', 'erin', 'frank', 'gina', 'hank'].map((name, i) => ({
  email: `${name}@example.com`,
  password: `${name}-password`,
  customerNumber: `C-20${i}`,
}));

let broker: TestBroker;
let storefront: Storefront;
let calls: string[] = [];

beforeAll(async () => {
  const seed = withShopApp(testSeed());
  seed.tenants.acme.customers.push(...CUSTOMERS.map((c) => ({ ...c, legalEntities: [] })));
  broker = await startTestBroker(seed);
  storefront = new Storefront(broker.url);
  const count: InitializeMiddleware<any, any> = (next, context) => (args) => {
    calls.push((context.commandName as string).replace(/Command$/, ''));
    return next(args);
  };
  broker.dynamoClient.middlewareStack.add(count, { step: 'initialize', name: 'countRoundTrips' });
});

afterAll(() => broker?.stop());

const open = (overrides: Record<string, string | undefined> = {}) => openAuthorize(broker.url, authorizeQuery(overrides));

/** A 400 page of the broker's own and no redirect: an untrusted redirect URI is never used. */
function expectNoRedirect(answer: { status: number; headers: Headers; html: string }) {
  expect(answer.status).toBe(400);
  expect(answer.headers.get('location')).toBeNull();
  expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(answer.html).toContain('<h1>');
  expect(answer.headers.get('content-security-policy')).toContain("form-action 'none'");
}

/** A 303 back to the app with the error, the state (if any) and the issuer. */
function expectErrorRedirect(
  answer: SignInForm,
  error: string,
  base = 'http://127.0.0.1:4567/callback',
  state: string | null = 'state-123',
) {
  expect(answer.status).toBe(303);
  const location = new URL(answer.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(base);
  expect(location.searchParams.get('error')).toBe(error);
  expect(location.searchParams.get('error_description')).toBeTruthy();
  expect(location.searchParams.get('state')).toBe(state);
  expect(location.searchParams.get('iss')).toBe(broker.issuer);
  expect(location.searchParams.get('code')).toBeNull();
  return location;
}

describe('the sign-in page and its code', () => {
  it('shows the page with its security headers, then signs in with a 303 carrying code, state and iss', async () => {
    const form = await open();
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = form.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self' http:\/\/127\.0\.0\.1:4567; /);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(form.headers.get('x-frame-options')).toBe('DENY');
    expect(form.headers.get('cache-control')).toBe('no-store');
    expect(form.headers.get('referrer-policy')).toBe('no-referrer');
    expect(form.headers.get('x-content-type-options')).toBe('nosniff');
    const [cookie] = form.headers.getSetCookie();
    expect(cookie).toMatch(/^tb_csrf=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/oauth\/authorize; HttpOnly; SameSite=Strict$/);
    expect(form.html).toContain(`<form method="post" action="${broker.issuer}/oauth/authorize">`);
    expect(form.html).not.toMatch(/<script/i);
    expect(form.html).toMatch(/<label for="email">/);
    expect(form.html).toMatch(/<label for="password">/);

    const signedIn = await signIn(broker.url, form, 'carol@example.com', 'carol-password');
    expect(signedIn.status).toBe(303);
    const location = new URL(signedIn.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:4567/callback');
    expect([...location.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state']);
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(broker.issuer);
    const code = location.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{64}$/);
    // The code is stored as a hash only, under the request's selector, bound to what was asked.
    const record = await broker.deps.authorizations.findAuthorization(selectorOf(code));
    expect(record).toMatchObject({
      tenant: 'acme',
      clientId: 'shop-app',
      redirectUri: 'http://127.0.0.1:4567/callback',
      codeChallenge: CHALLENGE,
      scopes: ['customer.customer_read_own'],
      state: 'state-123',
      code: {
        customer: { customerNumber: 'C-200', email: 'carol@example.com', legalEntities: [] },
        expiresAt: broker.clock.now + CODE_SECONDS,
      },
    });
    expect(JSON.stringify(record)).not.toContain(code);
    // The cookie has done its work.
    expect(signedIn.headers.getSetCookie()[0]).toMatch(/^tb_csrf=; Max-Age=0;/);

    const issued = broker.logLines.map((line) => JSON.parse(line)).find((l) => l.event === 'authorization_code_issued');
    expect(issued).toMatchObject({ tenant: 'acme', clientId: 'shop-app', customerNumber: 'C-200' });
    expect(broker.logLines.join('\n')).not.toContain(code);
    expect(broker.logLines.join('\n')).not.toContain('carol-password');
  });

  it('keeps the redirect URI’s own query and accepts a private-use scheme', async () => {
    const web = await open({ redirect_uri: 'https://shop.example/cb?from=app' });
    expect(web.status).toBe(200);
    expect(web.headers.get('content-security-policy')).toContain("form-action 'self' https://shop.example;");
    const signedIn = await signIn(broker.url, web, 'carol@example.com', 'carol-password');
    const location = new URL(signedIn.headers.get('location')!);
    expect(location.searchParams.get('from')).toBe('app');
    expect(location.searchParams.get('code')).toBeTruthy();

    const native = await open({ redirect_uri: 'com.acme.shop:/callback' });
    expect(native.status).toBe(200);
    expect(native.headers.get('content-security-policy')).toContain("form-action 'self' com.acme.shop:;");
    const nativeSignIn = await signIn(broker.url, native, 'carol@example.com', 'carol-password');
    expect(nativeSignIn.headers.get('location')).toMatch(/^com\.acme\.shop:\/callback\?code=/);
  });

  it('round trips: the request is one write; a sign-in reads the request, then customer ∥ attempt, then the code ∥ its index entry, then the re-read ∥ the cleared counter', async () => {
    await open(); // the app client and tenant are now cached, as in a warm function
    calls = [];
    const form = await open();
    expect([...calls].sort()).toEqual(['PutItem']);
    calls = [];
    expect((await signIn(broker.url, form, 'carol@example.com', 'carol-password')).status).toBe(303);
    expect([...calls].sort()).toEqual(['BatchGetItem', 'BatchGetItem', 'DeleteItem', 'GetItem', 'PutItem', 'UpdateItem', 'UpdateItem']);
  });
});

describe('requests that are not redirected (RFC 6749 section 4.1.2.1)', () => {
  it.each([
    ['an unknown client', { client_id: 'nobody' }],
    ['a missing client_id', { client_id: undefined }],
    ['a malformed client_id', { client_id: 'shop app<script>' }],
    ['an over-long client_id', { client_id: 'x'.repeat(5000) }],
    ['a service client', { client_id: 'orders-svc' }],
    ['an unregistered redirect URI', { redirect_uri: 'https://evil.example/callback' }],
    ['a missing redirect URI', { redirect_uri: undefined }],
    ['an over-long redirect URI', { redirect_uri: `http://127.0.0.1/callback?${'x'.repeat(5000)}` }],
    ['a registered URI with another path', { redirect_uri: 'http://127.0.0.1:4567/callback/../evil' }],
    ['localhost instead of the loopback IP (RFC 8252 section 8.3)', { redirect_uri: 'http://localhost:4567/callback' }],
    ['a look-alike host', { redirect_uri: 'http://127.0.0.1.evil.example/callback' }],
    ['https on the loopback address', { redirect_uri: 'https://127.0.0.1:4567/callback' }],
    ['an extra query on a web redirect URI', { redirect_uri: 'https://shop.example/cb?from=app&x=1' }],
  ] as [string, Record<string, string | undefined>][])(
    '%s: a 400 page, no redirect, even with everything else wrong too',
    async (_, overrides) => {
      expectNoRedirect(await open({ ...overrides, response_type: 'token', code_challenge: undefined }));
    },
  );

  it('a repeated client_id or redirect_uri is refused on the page', async () => {
    expectNoRedirect(await openAuthorize(broker.url, `${authorizeQuery()}&client_id=other-app`));
    expectNoRedirect(await openAuthorize(broker.url, `${authorizeQuery()}&redirect_uri=${encodeURIComponent('https://evil.example/')}`));
  });

  it('an IPv6 loopback redirect URI is accepted; CSP has no IPv6 host syntax, so form-action allows it by scheme', async () => {
    const form = await open({ redirect_uri: 'http://[::1]:4567/callback' });
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("form-action 'self' http:;");
  });

  it('a loopback redirect URI on another port is accepted (RFC 8252 section 7.3)', async () => {
    for (const port of ['1', '55555', '65535']) {
      const form = await open({ redirect_uri: `http://127.0.0.1:${port}/callback` });
      expect(form.status).toBe(200);
      expect(form.headers.get('content-security-policy')).toContain(`form-action 'self' http://127.0.0.1:${port};`);
    }
  });
});

describe('errors redirected to the app with state and iss', () => {
  it.each([
    ['no code_challenge', 'invalid_request', { code_challenge: undefined }],
    ['code_challenge_method plain', 'invalid_request', { code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) }],
    ['no code_challenge_method (RFC 7636 would default to plain)', 'invalid_request', { code_challenge_method: undefined }],
    ['an unknown code_challenge_method', 'invalid_request', { code_challenge_method: 'S512' }],
    ['a challenge that is not S256', 'invalid_request', { code_challenge: 'short' }],
    ['a challenge with bad characters', 'invalid_request', { code_challenge: `${'a'.repeat(42)}=` }],
    ['an over-long challenge', 'invalid_request', { code_challenge: 'a'.repeat(5000) }],
    ['response_type token', 'unsupported_response_type', { response_type: 'token' }],
    ['response_type code id_token', 'unsupported_response_type', { response_type: 'code id_token' }],
    ['no response_type', 'invalid_request', { response_type: undefined }],
    ['a scope the client does not have', 'invalid_scope', { scope: 'customer.customer_read_own order.order_manage' }],
    ['a malformed scope', 'invalid_scope', { scope: 'customer.customer_read_own "x"' }],
    ['an over-long scope', 'invalid_request', { scope: 'a'.repeat(5000) }],
  ] as [string, string, Record<string, string | undefined>][])('%s → %s', async (_, error, overrides) => {
    expectErrorRedirect(await open(overrides), error);
  });

  it('a repeated parameter is invalid_request, never a 500', async () => {
    for (const name of ['response_type', 'scope', 'code_challenge', 'code_challenge_method']) {
      const value = authorizeQuery().get(name)!;
      expectErrorRedirect(await openAuthorize(broker.url, `${authorizeQuery()}&${name}=${encodeURIComponent(value)}`), 'invalid_request');
    }
    // Two states: neither is echoed.
    expectErrorRedirect(await openAuthorize(broker.url, `${authorizeQuery()}&state=other`), 'invalid_request', undefined, null);
  });

  it('an over-long state is refused and not echoed; no state is no state', async () => {
    expectErrorRedirect(await open({ state: 's'.repeat(1025) }), 'invalid_request', undefined, null);
    expectErrorRedirect(await open({ state: undefined, code_challenge: undefined }), 'invalid_request', undefined, null);
    expect((await open({ state: 's'.repeat(1024) })).status).toBe(200);
  });

  it('the error keeps the redirect URI’s own query', async () => {
    const location = expectErrorRedirect(
      await open({ redirect_uri: 'https://shop.example/cb?from=app', code_challenge: undefined }),
      'invalid_request',
      'https://shop.example/cb',
    );
    expect(location.searchParams.get('from')).toBe('app');
  });

  it('no scope grants all of the client’s scopes', async () => {
    const form = await open({ scope: undefined });
    const record = await broker.deps.authorizations.findAuthorization(selectorOf(form.request));
    expect(record?.scopes).toEqual(['customer.customer_read_own', 'customer.profile']);
  });

  it('every parameter over-long at once: a 4xx, never a 500', async () => {
    const long = 'x'.repeat(4000);
    for (const name of [
      'response_type',
      'client_id',
      'redirect_uri',
      'scope',
      'state',
      'code_challenge',
      'code_challenge_method',
      'other',
    ]) {
      const answer = await open({ [name]: long });
      expect(answer.status, name).toBeLessThan(500);
    }
  });

  it('a state with markup is never echoed raw into HTML', async () => {
    const state = '"><script>alert(1)</script>';
    const form = await open({ state });
    expect(form.status).toBe(200);
    expect(form.html).not.toContain('<script');
    const refused = await open({ state, client_id: 'nobody' });
    expect(refused.html).not.toContain('<script');
    // Redirected, it is a query parameter, encoded.
    const redirected = expectErrorRedirect(await open({ state, code_challenge: undefined }), 'invalid_request', undefined, state);
    expect(redirected.href).not.toContain('<script');
  });
});

describe('the sign-in form: CSRF defence bound to the pending request', () => {
  it.each([
    ['no cookie', (form: SignInForm) => ({ form: { request: form.request }, cookie: undefined })],
    ['another browser’s cookie', (form: SignInForm) => ({ form: { request: form.request }, cookie: `tb_csrf=${'A'.repeat(43)}` })],
    ['a malformed cookie', (form: SignInForm) => ({ form: { request: form.request }, cookie: 'tb_csrf=<script>' })],
    ['an unknown request', (form: SignInForm) => ({ form: { request: 'B'.repeat(64) }, cookie: `tb_csrf=${form.csrf}` })],
    ['a malformed request', (form: SignInForm) => ({ form: { request: '<b>x</b>' }, cookie: `tb_csrf=${form.csrf}` })],
    ['no request', (form: SignInForm) => ({ form: {}, cookie: `tb_csrf=${form.csrf}` })],
  ])('%s: a 400 page to start again, no redirect, no attempt spent', async (_, make) => {
    const form = await open();
    const { form: fields, cookie } = make(form);
    // The right password, and the wrong one: neither is checked.
    for (const password of ['dave-password', 'wrong-password']) {
      const answer = await postSignIn(broker.url, { ...fields, email: 'dave@example.com', password }, cookie);
      expectNoRedirect(answer);
      expect(answer.html).toContain('start signing in again');
    }
    expect(broker.logLines.filter((l) => l.includes('"login_failed"') && l.includes('dave@example.com'))).toEqual([]);
  });

  it('a form posted with another request’s cookie is refused (the cookie is bound to its request)', async () => {
    const mine = await open();
    const theirs = await open();
    expectNoRedirect(
      await postSignIn(
        broker.url,
        { request: theirs.request, email: 'dave@example.com', password: 'dave-password' },
        `tb_csrf=${mine.csrf}`,
      ),
    );
  });

  it('an expired request (past 10 minutes) is refused', async () => {
    const form = await open();
    broker.clock.advance(PENDING_AUTHORIZATION_SECONDS + 1);
    const answer = await signIn(broker.url, form, 'dave@example.com', 'dave-password');
    expectNoRedirect(answer);
    expect(answer.html).toContain('expired');
  });

  it('a request signs in once: the second sign-in is refused', async () => {
    const form = await open();
    expect((await signIn(broker.url, form, 'dave@example.com', 'dave-password')).status).toBe(303);
    const again = await signIn(broker.url, form, 'dave@example.com', 'dave-password');
    expectNoRedirect(again);
    expect(again.html).toContain('already used');
  });

  it('five concurrent sign-ins with one form: exactly one gets the code, the others are told it was used, none 5xx', async () => {
    const form = await open();
    const answers = await Promise.all(Array.from({ length: 5 }, () => signIn(broker.url, form, 'hank@example.com', 'hank-password')));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([303, 400, 400, 400, 400]);
    for (const lost of answers.filter((a) => a.status === 400)) expect(lost.html).toContain('already used');
    const issued = broker.logLines.filter((l) => l.includes('"authorization_code_issued"') && l.includes('C-205'));
    expect(issued).toHaveLength(1);
  });

  it('a repeated field, another content type or an over-long body: a 4xx page, never a 500', async () => {
    const form = await open();
    const cookie = `tb_csrf=${form.csrf}`;
    const repeated = await postSignIn(broker.url, `request=${form.request}&email=a@b.co&email=c@d.co&password=whatever` as never, cookie);
    expect(repeated.status).toBe(400);
    const json = await fetch(`${broker.url}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'text/plain', cookie },
      body: 'hello',
    });
    expect(json.status).toBe(400);
    expect(json.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const large = await postSignIn(broker.url, { request: form.request, email: 'dave@example.com', password: 'x'.repeat(20_000) }, cookie);
    expect(large.status).toBe(413);
    expect(large.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });
});

describe('credentials on the page', () => {
  it('a wrong password and an unknown email show the same page, with the email escaped', async () => {
    const form = await open();
    const wrongPassword = await signIn(broker.url, form, 'erin@example.com', 'wrong-password');
    const unknownEmail = await signIn(broker.url, form, 'nobody@example.com', 'wrong-password');
    expect(wrongPassword.status).toBe(200);
    expect(unknownEmail.status).toBe(200);
    expect(wrongPassword.html.replace('erin@example.com', 'EMAIL')).toBe(unknownEmail.html.replace('nobody@example.com', 'EMAIL'));
    expect(wrongPassword.html).toContain('role="alert"');
    expect(wrongPassword.html).toContain('The email address or password is not correct.');
    expect(wrongPassword.html).not.toContain('wrong-password');
    // The password field gets the focus once the email is filled in.
    expect(wrongPassword.html).toMatch(/<input id="password"[^>]* autofocus/);

    const markup = await signIn(broker.url, form, '<script>alert(1)</script>@example.com', 'wrong-password');
    expect(markup.status).toBe(200);
    expect(markup.html).not.toContain('<script');
    expect(markup.html).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;@example.com"');

    // The same form still signs in.
    broker.clock.advance(10);
    expect((await signIn(broker.url, form, 'erin@example.com', 'erin-password')).status).toBe(303);
  });

  it('a missing or malformed email or a short password: the page again (400), nothing checked', async () => {
    const form = await open();
    for (const [email, password] of [
      ['', 'frank-password'],
      ['frank', 'frank-password'],
      ['frank@example.com', ''],
      ['frank@example.com', 'short'],
      [`${'f'.repeat(300)}@example.com`, 'frank-password'],
    ]) {
      const answer = await signIn(broker.url, form, email!, password!);
      expect(answer.status, `${email} ${password}`).toBe(400);
      expect(answer.html).toContain('role="alert"');
    }
    expect(broker.logLines.filter((l) => l.includes('"login_failed"') && l.includes('frank@example.com'))).toEqual([]);
  });

  /** Fails the account's attempts through `fail` until it locks, with time for each slow-down. */
  async function lockOut(fail: () => Promise<number>) {
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await fail()).not.toBe(429);
      broker.clock.advance(10);
    }
  }

  it('failures on the page lock the storefront login too (one account counter)', async () => {
    const form = await open();
    await lockOut(async () => (await signIn(broker.url, form, 'gina@example.com', 'wrong-password')).status);
    const locked = await signIn(broker.url, form, 'gina@example.com', 'gina-password');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.html).toContain('Too many failed attempts');
    expect(locked.html).toContain('role="alert"');
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    expect((await storefront.login(anonymous, 'gina@example.com', 'gina-password')).status).toBe(429);
    broker.clock.advance(FAILURE_WINDOW_SECONDS);
  });

  it('failures at the storefront login lock the page too', async () => {
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    await lockOut(async () => (await storefront.login(anonymous, 'frank@example.com', 'wrong-password')).status);
    const form = await open();
    const locked = await signIn(broker.url, form, 'frank@example.com', 'frank-password');
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many failed attempts');
    // After the window the account signs in again, on the same form if it is still valid.
    broker.clock.advance(FAILURE_WINDOW_SECONDS);
    const again = await open();
    expect((await signIn(broker.url, again, 'frank@example.com', 'frank-password')).status).toBe(303);
  });
});

describe('under an https issuer with a path (a custom domain in front of the API)', () => {
  let other: TestBroker;
  beforeAll(async () => {
    other = await startTestBroker(withShopApp(testSeed()), { issuer: 'https://auth.example/broker' });
  });
  afterAll(() => other?.stop());

  it('posts the form to the issuer, scopes the cookie to its path and marks it Secure; errors carry that iss', async () => {
    const form = await openAuthorize(other.url, authorizeQuery());
    expect(form.status).toBe(200);
    expect(form.html).toContain('<form method="post" action="https://auth.example/broker/oauth/authorize">');
    expect(form.headers.getSetCookie()[0]).toMatch(/; Path=\/broker\/oauth\/authorize; HttpOnly; SameSite=Strict; Secure$/);
    const refused = await openAuthorize(other.url, authorizeQuery({ code_challenge_method: 'plain' }));
    expect(new URL(refused.headers.get('location')!).searchParams.get('iss')).toBe('https://auth.example/broker');
  });
});
