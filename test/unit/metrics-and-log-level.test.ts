import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonLogger, logLevelOf, unfilteredLevel } from '../../functions/log.js';
import { count, emfLines, FLUSH_INTERVAL_MS, Metrics } from '../../functions/metrics.js';
import { checkEmf, type EmfDocument, sumMetrics } from '../support/emf.js';
import { tokenRequestEvent } from '../support/lambda-event.js';

/**
 * The counters and the log level on their own (functions/metrics.ts, functions/log.ts); the
 * integration test test/integration/metrics.test.ts drives them with real requests.
 */

function counters(intervalMs = FLUSH_INTERVAL_MS) {
  let now = 1_000_000;
  const lines: string[] = [];
  const metrics = new Metrics('oauth', { write: (line) => lines.push(line), nowMs: () => now, intervalMs });
  return {
    metrics,
    lines,
    docs: () => lines.map((line) => JSON.parse(line) as EmfDocument),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('EMF lines', () => {
  it('put the plain counters and one value of each extra dimension in one document, further values in further ones', () => {
    const counts = new Map<string, number>([
      ['RefreshRotations', 2],
      ['TokensIssued\tclient_credentials', 5],
      ['TokensIssued\trefresh_token', 2],
      ['ServiceTokenCache\tnear', 7],
      ['ServiceTokenCache\ttable', 1],
      ['ServiceTokenCache\tmiss', 1],
    ]);
    const docs = emfLines('oauth', counts, 1_700_000_000_000).map((line) => JSON.parse(line) as EmfDocument);
    expect(docs).toHaveLength(3);
    for (const doc of docs) checkEmf(doc);
    expect(docs[0]!._aws.Timestamp).toBe(1_700_000_000_000);
    expect(sumMetrics(docs)).toEqual({
      'oauth RefreshRotations': 2,
      'oauth TokensIssued Grant=client_credentials': 5,
      'oauth TokensIssued Grant=refresh_token': 2,
      'oauth ServiceTokenCache Tier=near': 7,
      'oauth ServiceTokenCache Tier=table': 1,
      'oauth ServiceTokenCache Tier=miss': 1,
    });
  });

  it('are not written when nothing was counted', () => {
    const { metrics, lines } = counters();
    metrics.flush();
    metrics.flushIfDue();
    expect(lines).toEqual([]);
  });
});

describe('flushing', () => {
  it('writes on the first chance, then at most once per interval, and loses no count', () => {
    const { metrics, lines, docs, advance } = counters(60_000);
    metrics.count('LoginsFailed');
    metrics.flushIfDue();
    expect(lines).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      advance(10_000);
      metrics.count('LoginsFailed');
      metrics.flushIfDue();
    }
    expect(lines).toHaveLength(1);
    advance(10_000);
    metrics.count('LoginsFailed');
    metrics.flushIfDue();
    expect(lines).toHaveLength(2);
    expect(sumMetrics(docs())['oauth LoginsFailed']).toBe(7);
  });

  it('flush writes at once (the warm-up, at the end of each run)', () => {
    const { metrics, lines } = counters();
    metrics.count('WarmupRefreshed', 3);
    metrics.flush();
    metrics.count('WarmupFailures');
    metrics.flush();
    expect(lines).toHaveLength(2);
  });

  it('outside a request nothing is counted, and nothing fails', () => {
    expect(() => count('MailsSent')).not.toThrow();
  });
});

describe('the application log level', () => {
  it('reads Lambda level names in any case, INFO when absent or unknown', () => {
    expect(logLevelOf('DEBUG')).toBe('debug');
    expect(logLevelOf('Warn')).toBe('warn');
    expect(logLevelOf(undefined)).toBe('info');
    expect(logLevelOf('LOUD')).toBe('info');
    expect(unfilteredLevel('debug')).toBe('info');
    expect(unfilteredLevel('error')).toBe('error');
  });

  it('drops debug lines at INFO, and everything below WARN at WARN, and writes EMF lines at any level', () => {
    const lines: string[] = [];
    const info = jsonLogger((line) => lines.push(line), 'info');
    info.debug('not written');
    info.info('written');
    const warn = jsonLogger((line) => lines.push(line), 'warn');
    warn.debug('not written');
    warn.info('not written');
    warn.warn('written');
    warn.error('written');
    warn.line('{"_aws":{}}');
    expect(lines.map((line) => JSON.parse(line).message ?? 'raw')).toEqual(['written', 'written', 'written', 'raw']);
  });

  describe('in a Lambda function', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
      vi.resetModules();
      vi.restoreAllMocks();
    });

    async function lambdaWith(level: string | undefined) {
      if (level !== undefined) vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', level);
      // A cold start: the modules are loaded afresh, with the level Lambda set.
      vi.resetModules();
      const log = await import('../../functions/log.js');
      const metrics = await import('../../functions/metrics.js');
      const { lambdaHttpHandler } = await import('../../functions/http/lambda-adapter.js');
      const written: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
      const consoleLog = vi.spyOn(console, 'log');
      const handler = lambdaHttpHandler(
        {
          'POST /oauth/token': async () => {
            metrics.count('ClientAuthFailures');
            return { status: 200, body: {} };
          },
        },
        log.jsonLogger(),
        metrics.lambdaMetrics('oauth'),
      );
      return { handler, written, consoleLog, log };
    }

    it('reads AWS_LAMBDA_LOG_LEVEL once at cold start and writes JSON lines straight to stdout, not through console', async () => {
      const { handler, written, consoleLog, log } = await lambdaWith('INFO');
      expect(log.APPLICATION_LOG_LEVEL).toBe('info');
      await handler(tokenRequestEvent('grant_type=client_credentials'));
      expect(consoleLog).not.toHaveBeenCalled();
      const lines = written.map((chunk) => {
        expect(chunk.endsWith('\n')).toBe(true);
        return JSON.parse(chunk) as Record<string, unknown>;
      });
      expect(lines.map((line) => line.message)).toEqual(['POST /oauth/token', 'metrics']);
    });

    it('at WARN drops the request line, and the metrics line still passes, labelled with the level in force', async () => {
      const { handler, written } = await lambdaWith('WARN');
      await handler(tokenRequestEvent('grant_type=client_credentials'));
      const lines = written.map((chunk) => JSON.parse(chunk) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', message: 'metrics', Service: 'oauth', ClientAuthFailures: 1 });
    });
  });
});
