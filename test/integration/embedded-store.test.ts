import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import { startTestBroker } from '../support/local-broker.js';
import { Storefront } from '../support/storefront.js';

/**
 * Issue 13 item 3: local mode runs dynalite in a process of its own, outside the broker's event
 * loop. What a user notices of that: nothing is left running after the broker stops or dies, a
 * store that dies is a clear 503 and a clear stop of `npm start`, never a 500 or a hang.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const parent = mkdtempSync(join(tmpdir(), 'token-broker-store-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The store processes serving `dataDir` (its path is in their arguments), with their parents. */
function storeProcesses(dataDir: string): { pid: number; ppid: number }[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('dynalite-store.mjs') && line.includes(dataDir))
    .map((line) => {
      const [pid, ppid] = line.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid) };
    });
}

/** `npm start` on `dataDir`; resolves once it listens, with its stderr so far and its exit. */
function npmStart(dataDir: string) {
  const child = spawn(join(root, 'node_modules/.bin/tsx'), ['bin/local.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('listening on')) resolve();
    });
    void exited.then((code) => reject(new Error(`npm start exited with ${code}: ${stderr}`)));
  });
  return { child, listening, exited, stderr: () => stderr };
}

describe('the embedded store', () => {
  it('runs in a process of its own, which close() ends', async () => {
    const broker = await startTestBroker();
    const pid = broker.embeddedStore!.pid!;
    expect(pid).not.toBe(process.pid);
    expect(alive(pid)).toBe(true);
    await broker.stop();
    expect(alive(pid)).toBe(false);
  });

  it('in a worker thread (the alternative the bench measures) stores and reads items', async () => {
    const store = await startEmbeddedDynamoDb(undefined, { runIn: 'thread' });
    try {
      expect(store.pid).toBeUndefined();
      const Key = { pk: { S: 'p' }, sk: { S: 's' } };
      await store.client.send(new PutItemCommand({ TableName: store.tableName, Item: { ...Key, v: { S: 'x' } } }));
      const { Item } = await store.client.send(new GetItemCommand({ TableName: store.tableName, Key, ConsistentRead: true }));
      expect(Item?.v).toEqual({ S: 'x' });
    } finally {
      await store.close();
    }
  });
});

describe('when the store process dies under a running broker', () => {
  it('requests that need the store answer 503, /health says so, and it is logged', async () => {
    const broker = await startTestBroker();
    try {
      process.kill(broker.embeddedStore!.pid!, 'SIGKILL');
      await until(() => broker.logLines.some((line) => line.includes('store lost')), 'the store lost log line');
      const lost = JSON.parse(broker.logLines.find((line) => line.includes('store lost'))!) as Record<string, unknown>;
      expect(lost).toMatchObject({ level: 'error', error: "the embedded store's process stopped (killed by SIGKILL)" });

      const login = await new Storefront(broker.url).anonymousLogin();
      expect(login.status).toBe(503);
      const health = await fetch(`${broker.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: 'unavailable', failing: ['store'] });
    } finally {
      await broker.stop();
    }
  });

  it('npm start stops with a sentence, and starts again on the same DATA_DIR', async () => {
    const dataDir = join(parent, 'killed-store');
    const first = npmStart(dataDir);
    await first.listening;
    const [store] = storeProcesses(dataDir);
    expect(store).toBeDefined();
    process.kill(store!.pid, 'SIGKILL');
    expect(await first.exited).toBe(1);
    expect(first.stderr()).toContain(
      "token-broker stopped: the embedded store's process stopped (killed by SIGKILL); start it again (the data in DATA_DIR is kept)",
    );
    expect(first.stderr()).not.toMatch(/^\s+at /m);

    const second = npmStart(dataDir);
    await second.listening;
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await until(() => storeProcesses(dataDir).length === 0, 'the store process to end');
  }, 60_000);
});

describe('when the broker process dies without closing', () => {
  it('its store process ends too, and DATA_DIR can be opened again', async () => {
    const dataDir = join(parent, 'killed-broker');
    const started = npmStart(dataDir);
    await started.listening;
    const [store] = storeProcesses(dataDir);
    expect(store).toBeDefined();
    // The broker is the store's parent (tsx may run it under a wrapper process of its own).
    process.kill(store!.ppid, 'SIGKILL');
    await until(() => !alive(store!.pid), 'the orphaned store process to end');
    started.child.kill('SIGKILL');

    const again = await startEmbeddedDynamoDb(join(dataDir, 'dynamodb'));
    await again.close();
  }, 60_000);
});
