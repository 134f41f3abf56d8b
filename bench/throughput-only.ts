/**
 * The throughput rows alone, printed and not written anywhere (bench/run.ts writes the results):
 *   BENCH_ONLY=dynalite tsx bench/throughput-only.ts [--quick] [--rounds N] [--seconds S] [--connections C]
 * For before/after comparisons of one change without the whole `npm run bench`.
 */
import { measureThroughput } from './throughput.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const quick = process.argv.includes('--quick');
const options = {
  durationSeconds: argument('seconds', quick ? 2 : 4),
  connections: argument('connections', 10),
  rounds: argument('rounds', quick ? 1 : 3),
};
const log = (line: string) => console.error(line);
log(`throughput (${options.rounds} rounds of ${options.durationSeconds} s, ${options.connections} connections)…`);
const rows = await measureThroughput(options, log);
console.log(JSON.stringify(rows, null, 2));
