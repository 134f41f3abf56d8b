import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider (`oidc-provider@9`) on 127.0.0.1 for tests of the federated login
 * (contract section 10): an ES256 key, one confidential client for the broker, the development
 * login and consent pages (driven over HTTP by `getCode`), `email` / `email_verified` in the ID
 * token (`conformIdTokenClaims: false`) from a small account store, an introspection endpoint, and
 * hooks to stop, restart (same port, so the same issuer), rotate its key, slow it down past the
 * broker's 5 s budget, or rewrite its discovery document.
 */

/** A user of the provider; the development login accepts any password. */
export interface ProviderUser {
  email?: string;
  email_verified?: boolean;
}

/**
 * The account store, by login; the login is the user's subject (`sub`). A login not listed here
 * is a user without an email.
 */
export const PROVIDER_USERS: Record<string, ProviderUser> = {
  ann: { email: ' Ann@Example.com', email_verified: true },
  bob: { email: 'bob@example.com', email_verified: false },
  cid: { email: 'cid@example.com', email_verified: true },
  nomail: {},
};

export interface OidcProviderOptions {
  clientId?: string;
  clientSecret?: string;
  /** The broker's redirect URI registered at the provider. */
  redirectUri?: string;
  /** The port to listen on (0: a free one). */
  port?: number;
}

export interface GetCodeOptions {
  /** A key of PROVIDER_USERS (or any login: it becomes the subject, without an email). */
  login: string;
  redirectUri?: string;
  nonce?: string;
  codeChallenge?: string;
  scope?: string;
}

export interface SignOptions {
  /** Sign with another key (a foreign signer) instead of the provider's. */
  privateJwk?: JWK;
  kid?: string;
  alg?: string;
}

export interface RewrittenAnswer {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}
export type Rewrite = (body: Record<string, unknown>) => RewrittenAnswer | Promise<RewrittenAnswer>;

export interface OidcProviderFixture {
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /**
   * This provider as a tenant's seed names it (`identityProviders.<name>`): its client, customers
   * matched and created by email; `extra` adds or overrides members (audience, validation...).
   */
  seedEntry(extra?: Record<string, unknown>): Record<string, unknown>;
  /** The provider's current private signing key (its `kid` is in the JWK). */
  readonly privateJwk: JWK;
  /** Drives the provider's login and consent pages and returns the code from the redirect. */
  getCode(options: GetCodeOptions): Promise<string>;
  /** Signs an "external" access token with the provider's own key (or `privateJwk` for a foreign signer). */
  signAccessToken(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** Delays every response (or those whose path starts with one of `paths`) by `ms`; 0 ends it. */
  setSlow(ms: number, paths?: string[]): void;
  /** Rewrites the discovery document served (undefined: serve the provider's own). */
  setDiscovery(transform: ((document: Record<string, unknown>) => Record<string, unknown>) | undefined): void;
  /**
   * Rewrites what the provider answers at `path` (e.g. `/token`): a broken or hostile provider.
   * The function gets the provider's JSON answer and returns the status and body to send instead.
   */
  rewrite(path: string, transform: Rewrite | undefined): void;
  /** How many requests reached the provider per path (discovery, JWKS, token...). */
  readonly hits: Map<string, number>;
  stop(): Promise<void>;
  /** Starts it again on the same port; `newKey` gives it a fresh signing key (a new `kid`). */
  restart(options?: { newKey?: boolean }): Promise<void>;
}

/** The parts of oidc-provider's Koa application the fixture uses (the package ships no types). */
interface KoaContext {
  path: string;
  body: unknown;
  status: number;
  set(name: string, value: string): void;
}
interface ProviderApp {
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  callback(): RequestListener;
}

export async function newEcKey(kid = `k-${randomBytes(6).toString('hex')}`): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<OidcProviderFixture> {
  const clientId = options.clientId ?? 'broker-client';
  const clientSecret = options.clientSecret ?? `secret-${randomBytes(16).toString('hex')}`;
  let privateJwk = await newEcKey();
  let slow = { ms: 0, paths: [] as string[] };
  const rewrites = new Map<string, Rewrite>();
  const hits = new Map<string, number>();
  const pending = new Set<NodeJS.Timeout>();

  // Listen first on a free port: the issuer names it.
  let server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const redirectUri = options.redirectUri ?? 'https://shop.example/social/callback';

  const makeProvider = () => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri, 'https://other.example/cb'],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: { keys: [privateJwk] },
      cookies: { keys: ['test-cookie-key-0123456789'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      conformIdTokenClaims: false,
      features: {
        devInteractions: { enabled: true },
        introspection: { enabled: true, allowedPolicy: async () => true },
      },
      pkce: { required: () => false },
      ttl: { AccessToken: 3600, IdToken: 3600, Grant: 3600, Interaction: 600, Session: 3600, AuthorizationCode: 60 },
      extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => {
        const user = userOf(String(token.accountId));
        return user.email === undefined ? {} : { email: user.email, email_verified: user.email_verified === true };
      },
      findAccount: (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: () => {
          const user = userOf(id);
          return { sub: id, ...(user.email === undefined ? {} : { email: user.email, email_verified: user.email_verified }) };
        },
      }),
    }) as unknown as ProviderApp;
    provider.use(async (ctx, next) => {
      hits.set(ctx.path, (hits.get(ctx.path) ?? 0) + 1);
      if (slow.ms > 0 && (slow.paths.length === 0 || slow.paths.some((path) => ctx.path.startsWith(path)))) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            pending.delete(timer);
            resolve();
          }, slow.ms);
          pending.add(timer);
        });
      }
      await next();
      const rewrite = rewrites.get(ctx.path);
      if (rewrite) {
        const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
        const answer = await rewrite((body ?? {}) as Record<string, unknown>);
        if (answer.status !== undefined) ctx.status = answer.status;
        for (const [name, value] of Object.entries(answer.headers ?? {})) ctx.set(name, value);
        ctx.body = answer.body;
      }
    });
    return provider;
  };

  /** The login names a user of the store, or any other subject (without an email). */
  const userOf = (login: string): ProviderUser => PROVIDER_USERS[login] ?? {};

  let provider = makeProvider();
  server.on('request', provider.callback());

  const stop = async () => {
    for (const timer of pending) clearTimeout(timer);
    pending.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const fixture: OidcProviderFixture = {
    issuer,
    port,
    clientId,
    clientSecret,
    redirectUri,
    get privateJwk() {
      return privateJwk;
    },
    hits,
    seedEntry: (extra = {}) => ({
      issuer,
      clientId,
      clientSecret,
      redirectUri,
      customerIdentifier: 'EMAIL',
      autoProvision: true,
      ...extra,
    }),
    getCode: (codeOptions) => driveLogin(issuer, clientId, redirectUri, codeOptions),
    async signAccessToken(claims, signOptions = {}) {
      const key = signOptions.privateJwk ?? privateJwk;
      const { importJWK } = await import('jose');
      const alg = signOptions.alg ?? String(key.alg ?? 'ES256');
      return new SignJWT(claims)
        .setProtectedHeader({ alg, kid: signOptions.kid ?? key.kid, typ: 'at+jwt' })
        .sign(await importJWK(key, alg));
    },
    setSlow(ms, paths = []) {
      slow = { ms, paths };
    },
    setDiscovery(transform) {
      fixture.rewrite('/.well-known/openid-configuration', transform && ((body) => ({ body: transform(body) })));
    },
    rewrite(path, transform) {
      if (transform) rewrites.set(path, transform);
      else rewrites.delete(path);
    },
    stop,
    async restart(restartOptions = {}) {
      if (server.listening) await stop();
      if (restartOptions.newKey) privateJwk = await newEcKey();
      provider = makeProvider();
      server = createServer(provider.callback());
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
  return fixture;
}

/**
 * The browser's part of the code flow, with fetch: the authorization request, the login form
 * (`prompt=login`, any password), the consent form (`prompt=consent`), following each redirect by
 * hand with a cookie jar, until the provider redirects to the client's redirect URI with a code.
 */
async function driveLogin(issuer: string, clientId: string, defaultRedirect: string, options: GetCodeOptions): Promise<string> {
  const jar = new Map<string, string>();
  const redirectUri = options.redirectUri ?? defaultRedirect;
  const authorize = new URL(`${issuer}/auth`);
  authorize.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: options.scope ?? 'openid email',
    redirect_uri: redirectUri,
    state: randomBytes(8).toString('hex'),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...(options.codeChallenge === undefined ? {} : { code_challenge: options.codeChallenge, code_challenge_method: 'S256' }),
  }).toString();

  const send = async (url: string, form?: Record<string, string>) => {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      // An expired cookie is the provider clearing it.
      if (/expires=Thu, 01 Jan 1970/i.test(cookie) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return { response, body: await response.text() };
  };

  let url = authorize.toString();
  for (let step = 0; step < 12; step++) {
    const { response, body } = await send(url);
    if (response.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
      // The development pages post back to the page's own URL; the login page has a login field.
      const prompt = body.includes('name="login"') ? 'login' : 'consent';
      const { response: submit } = await send(url, prompt === 'login' ? { prompt, login: options.login, password: 'any' } : { prompt });
      const next = submit.headers.get('location');
      if (!next) throw new Error(`the ${prompt} form answered ${submit.status} without a redirect`);
      url = new URL(next, url).toString();
      continue;
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`the provider answered ${response.status} at ${new URL(url).pathname} without a redirect`);
    const target = new URL(location, url);
    if (target.origin + target.pathname === new URL(redirectUri).origin + new URL(redirectUri).pathname) {
      const code = target.searchParams.get('code');
      if (!code) throw new Error(`the provider redirected without a code: ${target.searchParams.get('error')}`);
      return code;
    }
    url = target.toString();
  }
  throw new Error('the provider did not redirect back with a code');
}
