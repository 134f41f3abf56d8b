import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/http/route-table.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';

/**
 * The API reference page (`GET /docs`, issue 14 item 7) in a real headless Chromium, as the
 * sign-in page is tested (sign-in-browser.test.ts): JavaScript off (the page needs none), every
 * request the page makes recorded (it must make none but itself: no third-party asset), every
 * CSP violation collected, and a screenshot in test-results/docs.png.
 */

const SCREENSHOTS = resolve('test-results');

let broker: TestBroker;
let browser: Browser;

beforeAll(async () => {
  broker = await startTestBroker();
  browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await broker?.stop();
});

describe('the API reference page in Chromium', () => {
  it('renders every route, styled, with no request but its own and no CSP violation', async () => {
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.setViewport({ width: 1280, height: 900 });
    const requests: string[] = [];
    const failed: string[] = [];
    const violations: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('requestfailed', (request) => failed.push(`${request.url()} ${request.failure()?.errorText}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });

    const response = (await page.goto(`${broker.url}/docs`, { waitUntil: 'networkidle0' }))!;
    expect(response.status()).toBe(200);
    const headers = response.headers();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['cache-control']).toBe('public, max-age=300');

    expect(requests).toEqual([`${broker.url}/docs`]);
    expect(failed).toEqual([]);
    expect(violations).toEqual([]);
    expect(await page.$('script')).toBeNull();

    // Every route of the route table is on the page, as a method and a path in an operation heading.
    const operations = (await page.$$eval('section.op h3', (headings) => headings.map((h) => h.textContent ?? ''))) as string[];
    for (const route of ROUTES) expect(operations, `${route.method} ${route.path}`).toContain(`${route.method}${route.path}`);
    // The base URL is the configured issuer, not the build's placeholder.
    expect(await page.$eval('main > p.meta', (p) => p.textContent)).toContain(broker.issuer);
    // The inline stylesheet is applied (allowed by its hash): a GET badge has its colour.
    expect(await page.evaluate("getComputedStyle(document.querySelector('.method.get')).backgroundColor")).toBe('rgb(4, 120, 87)');

    await page.screenshot({ path: `${SCREENSHOTS}/docs.png` });
    console.log(`docs page screenshot: ${SCREENSHOTS}/docs.png`);
    // One operation whole: parameters, body, responses and the errors rendered from the tables.
    await (await page.$('#customerLogin'))!.screenshot({ path: `${SCREENSHOTS}/docs-operation.png` });
    await page.close();
  });
});
