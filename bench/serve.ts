/**
 * One server under load, in its own process so the load generator never shares its event loop:
 *   tsx bench/serve.ts broker memory|dynalite   |   tsx bench/serve.ts peer   |   tsx bench/serve.ts layer <layer>
 * Talks to bench/run.ts over IPC: announces its URL, reports its CPU time (and its store process's), changes the broker's
 * cache reuse share (a share near zero mints a new token on every call: "cache bypassed").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker } from '../functions/local/broker.js';
import { silentLogger } from '../functions/log.js';
import { benchSeed } from './bench-seed.js';
import { startLayer, type Layer } from './layers.js';
import { startPeer } from './peer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Message = { type: 'cpu' } | { type: 'reuseShare'; value: number } | { type: 'stop' };

const [kind, store] = process.argv.slice(2);
const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-bench-'));
let close: () => Promise<void>;
let setReuseShare: (value: number) => void = () => {};
let storeCpuMicros: () => Promise<number | undefined> = async () => undefined;

if (kind === 'peer' || kind === 'layer') {
  const server = kind === 'peer' ? await startPeer() : await startLayer(store as Layer);
  close = server.close;
  process.send!({ type: 'ready', url: server.url });
} else {
  const seedFile = join(dataDir, 'seed.json');
  writeFileSync(seedFile, JSON.stringify(benchSeed()));
  const broker = await startLocalBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    seedFile,
    store: store === 'memory' ? 'memory' : 'dynalite',
    // BENCH_DYNALITE_IN=thread: dynalite in a worker thread, to compare with its own process.
    storeRunsIn: process.env.BENCH_DYNALITE_IN === 'thread' ? 'thread' : 'process',
    log: silentLogger,
  });
  close = broker.close;
  if (broker.embeddedStore) storeCpuMicros = broker.embeddedStore.cpuMicros;
  setReuseShare = (value) => {
    broker.deps.serviceTokenReuseShare = value;
  };
  process.send!({ type: 'ready', url: broker.url });
}

process.on('message', (message: Message) => {
  if (message.type === 'cpu') {
    // This process only: dynalite's own process is reported apart (a worker thread's CPU, when
    // BENCH_DYNALITE_IN=thread, is this process's and cannot be told apart on Node 20).
    const { user, system } = process.cpuUsage();
    void storeCpuMicros().then((storeMicros) => process.send!({ type: 'cpu', micros: user + system, storeMicros }));
  } else if (message.type === 'reuseShare') {
    setReuseShare(message.value);
    process.send!({ type: 'ok' });
  } else if (message.type === 'stop') {
    void close().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
