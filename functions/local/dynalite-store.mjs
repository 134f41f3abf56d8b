/**
 * The embedded store of local mode in a process (or worker thread) of its own: starts dynalite on
 * a loopback port and reports the port to its parent, so dynalite's CPU (LevelDB, JSON parsing,
 * expression evaluation) does not share the broker's event loop. Started by
 * functions/local/embedded-dynamodb.ts; plain JavaScript, so it runs unchanged from `npm start`
 * (tsx), from vitest and beside the bench's esbuild bundle (bench/throughput.ts copies it there).
 *
 * Messages from the parent: `{ type: 'cpu' }` (answered with this process's CPU time) and
 * `{ type: 'close' }`. As a child process it exits when its IPC channel closes, so it never
 * outlives a parent that exits or crashes without closing it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const channel = parentPort
  ? { send: (message) => parentPort.postMessage(message), on: (listener) => parentPort.on('message', listener) }
  : { send: (message) => process.send?.(message), on: (listener) => process.on('message', listener) };
const { path } = parentPort ? workerData : JSON.parse(process.argv[2] ?? '{}');

if (!parentPort) {
  // The parent is gone (exited, crashed or killed): so is the reason to hold DATA_DIR.
  process.on('disconnect', () => process.exit(0));
}

const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (error) => {
  channel.send({ type: 'error', message: error.message });
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => channel.send({ type: 'listening', port: server.address().port }));

channel.on((message) => {
  if (message?.type === 'cpu') {
    // In a worker thread this is the whole process's CPU, not the store's: the parent ignores it.
    const { user, system } = process.cpuUsage();
    channel.send({ type: 'cpu', micros: user + system });
  } else if (message?.type === 'close') {
    server.closeAllConnections?.();
    // In a worker thread, process.exit() ends the thread only.
    server.close(() => process.exit(0));
  }
});
