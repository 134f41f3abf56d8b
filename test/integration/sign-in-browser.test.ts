import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { authorizeQuery, withShopApp } from '../support/authorize.js';
import { testSeed } from '../support/seed.js';

/**
 * The sign-in page in a real headless Chromium (contract section 8, issue 10): the browser comes
 * from `npm ci` (@sparticuz/chromium ships it; ../shared/notes/tested-here.md), so this test
 * never skips: a browser that cannot start fails it. JavaScript is off throughout: the page must
 * work without it. The "app" is a tiny loopback HTTP server that receives the redirect.
 */

const SCREENSHOTS = resolve('test-results');

let broker: TestBroker;
let browser: Browser;
let app: Server;
let appUrl: string;
/** What the app's redirect endpoint received, in order. */
const received: URL[] = [];

beforeAll(async () => {
  broker = await startTestBroker(withShopApp(testSeed()));
  app = createServer((req, res) => {
    const url = new URL(req.url ?? '/', appUrl);
    if (url.pathname === '/callback') {
      received.push(url);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>App</title><h1>Signed in</h1>');
      return;
    }
    // A hostile page that frames the sign-in form (clickjacking): frame-ancestors must stop it.
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>Framer</title><iframe id="f" src="${broker.url}/oauth/authorize?${authorizeQuery({ redirect_uri: `${appUrl}/callback` })}"></iframe>`,
    );
  });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  // No try/catch, no skip: if Chromium cannot start, the test fails here.
  browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => app?.close(done));
  await broker?.stop();
});

// The page is evaluated through DevTools (strings: the project's TypeScript has no DOM library).

/** A page with JavaScript off, collecting every Content-Security-Policy violation Chromium reports. */
async function newPage(): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(false);
  await page.setViewport({ width: 480, height: 720 });
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  return { page, violations };
}

describe('the sign-in page in Chromium', () => {
  it('is served with its security headers, shows one error, then redirects to the app with code, state and iss', async () => {
    const { page, violations } = await newPage();
    const authorizeUrl = `${broker.url}/oauth/authorize?${authorizeQuery({ redirect_uri: `${appUrl}/callback`, state: 'browser-state' })}`;
    const response = (await page.goto(authorizeUrl))!;
    expect(response.status()).toBe(200);
    const headers = response.headers();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['x-frame-options']).toBe('DENY');

    // The inline stylesheet is allowed by its hash: the button has its colour, not the default.
    expect(await page.evaluate("getComputedStyle(document.querySelector('button')).backgroundColor")).toBe('rgb(29, 78, 216)');
    // Autofocus on the first field, labels tied to their inputs.
    expect(await focusedAfterLoad(page)).toBe('email');
    expect(await page.evaluate("document.querySelector('label[for=email]').control?.id")).toBe('email');
    expect(await page.evaluate("document.querySelector('label[for=password]').control?.id")).toBe('password');
    expect(await page.$('script')).toBeNull();
    await page.screenshot({ path: `${SCREENSHOTS}/sign-in.png` });
    console.log(`sign-in page screenshot: ${SCREENSHOTS}/sign-in.png`);

    // A wrong password first: the page again, the error announced, the focus on the password.
    await page.type('#email', 'ann@example.com');
    await page.type('#password', 'wrong-password');
    const [failed] = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(failed!.status()).toBe(200);
    expect(await page.$eval('[role="alert"]', (e) => e.textContent)).toBe('The email address or password is not correct.');
    expect(await page.$eval('#email', (e) => (e as unknown as { value: string }).value)).toBe('ann@example.com');
    expect(await page.$eval('#password', (e) => (e as unknown as { value: string }).value)).toBe('');
    expect(await focusedAfterLoad(page)).toBe('password');
    expect(await page.$eval('#password', (e) => e.getAttribute('aria-describedby'))).toBe('error');
    await page.screenshot({ path: `${SCREENSHOTS}/sign-in-error.png` });
    console.log(`sign-in error screenshot: ${SCREENSHOTS}/sign-in-error.png`);

    // Then the right one: Chromium follows the 303 to the app (form-action allows it).
    await page.type('#password', 'correct-horse');
    const [landed] = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(landed!.url().startsWith(`${appUrl}/callback?`)).toBe(true);
    expect(await page.$eval('h1', (e) => e.textContent)).toBe('Signed in');
    const redirect = received.at(-1)!;
    expect(redirect.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(redirect.searchParams.get('state')).toBe('browser-state');
    expect(redirect.searchParams.get('iss')).toBe(broker.issuer);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('follows the redirect to an IPv6 loopback app too (form-action allows it by scheme)', async () => {
    const seen: string[] = [];
    const v6 = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>App</title><h1>Signed in</h1>');
    });
    await new Promise<void>((done) => v6.listen(0, '::1', done));
    try {
      const redirectUri = `http://[::1]:${(v6.address() as AddressInfo).port}/callback`;
      const { page, violations } = await newPage();
      await page.goto(`${broker.url}/oauth/authorize?${authorizeQuery({ redirect_uri: redirectUri })}`);
      await page.type('#email', 'ann@example.com');
      await page.type('#password', 'correct-horse');
      const [landed] = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      expect(landed!.url().startsWith(`${redirectUri}?code=`)).toBe(true);
      expect(seen).toHaveLength(1);
      expect(violations).toEqual([]);
      await page.close();
    } finally {
      await new Promise((done) => v6.close(done));
    }
  });

  it('will not be framed by another site (frame-ancestors)', async () => {
    const { page, violations } = await newPage();
    const before = received.length;
    await page.goto(`${appUrl}/framer`, { waitUntil: 'load' });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    // Blocked: the frame shows Chromium's error page, never the form.
    expect(frame).toBeDefined();
    expect(await frame!.$('form')).toBeNull();
    expect(violations.join('\n')).toMatch(/frame-ancestors/);
    expect(received.length).toBe(before);
    await page.close();
  });
});

/**
 * The element `autofocus` focused. Chromium applies autofocus in a rendering step after the load,
 * which on a busy machine comes later than the load event: ask again briefly before answering.
 */
async function focusedAfterLoad(page: { evaluate(expression: string): Promise<unknown> }): Promise<unknown> {
  let focused: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    focused = await page.evaluate('document.activeElement?.id');
    if (focused !== undefined && focused !== '') return focused;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return focused;
}
