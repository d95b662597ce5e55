/**
 * CloudWatch Embedded Metric Format: a metric is one JSON log line, turned into a metric by CloudWatch
 * Logs with no API call and no SDK client on the hot path. Every service writes its metrics through this
 * one encoder.
 */

/** One metric value of a document. */
export interface EmfValue {
  readonly name: string;
  /** A CloudWatch unit: `Count`, `Milliseconds`, `None`, … */
  readonly unit: string;
  readonly value: number;
}

/**
 * Renders one EMF document (one line of JSON, no newline).
 * @param namespace e.g. `metricsNamespace(stage)`
 * @param dimensions every dimension and its value, e.g. `{ Location: 'europe' }`
 */
export function emfDocument(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  values: readonly EmfValue[],
  timestampMs = Date.now(),
): string {
  const body: Record<string, unknown> = {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: values.map((v) => ({ Name: v.name, Unit: v.unit })),
        },
      ],
    },
    ...dimensions,
  };
  for (const v of values) body[v.name] = v.value;
  return JSON.stringify(body);
}
