import { expect } from 'vitest';

/** A CloudWatch embedded metric format document, as the broker writes them (functions/metrics.ts). */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[];
  };
  [member: string]: unknown;
}

/**
 * Checks `doc` against the EMF specification (CloudWatch_Embedded_Metric_Format_Specification):
 * `_aws.Timestamp` a number of milliseconds; `CloudWatchMetrics` an array of directives, each with
 * a namespace, a list of dimension sets (each 1 to 30 names, every name a string member of the
 * root) and 1 to 100 metrics (each name a number member of the root, a valid unit); the directive
 * and `_aws` objects carry no other members. And the broker's own rules: namespace TokenBroker,
 * Count only, the Service dimension in every set.
 */
export function checkEmf(doc: EmfDocument): void {
  expect(Object.keys(doc._aws).sort()).toEqual(['CloudWatchMetrics', 'Timestamp']);
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  expect(doc._aws.CloudWatchMetrics.length).toBeGreaterThan(0);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(Object.keys(directive).sort()).toEqual(['Dimensions', 'Metrics', 'Namespace']);
    expect(directive.Namespace).toBe('TokenBroker');
    expect(directive.Dimensions.length).toBeGreaterThan(0);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeGreaterThanOrEqual(1);
      expect(set.length).toBeLessThanOrEqual(30);
      expect(set[0]).toBe('Service');
      for (const name of set) expect(typeof doc[name], `dimension ${name}`).toBe('string');
    }
    expect(directive.Metrics.length).toBeGreaterThanOrEqual(1);
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const metric of directive.Metrics) {
      expect(Object.keys(metric).sort()).toEqual(['Name', 'Unit']);
      expect(metric.Unit).toBe('Count');
      const value = doc[metric.Name];
      expect(typeof value, `metric ${metric.Name}`).toBe('number');
      expect(value as number).toBeGreaterThan(0);
    }
  }
}

/**
 * The counts of `docs` summed per metric and dimension values: `oauth TokensIssued
 * Grant=client_credentials`, `storefront LoginsFailed`.
 */
export function sumMetrics(docs: EmfDocument[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const doc of docs) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        for (const metric of directive.Metrics) {
          const extra = set
            .slice(1)
            .map((name) => ` ${name}=${String(doc[name])}`)
            .join('');
          const key = `${String(doc.Service)} ${metric.Name}${extra}`;
          sums[key] = (sums[key] ?? 0) + (doc[metric.Name] as number);
        }
      }
    }
  }
  return sums;
}
