/**
 * Temporary process environment. Some libraries read their settings only from `process.env` (aws-cdk-lib's
 * `CDK_VALIDATION`, the AWS SDK's endpoint and credentials), so the scripts set a few variables around one
 * call and must put them back whatever happens.
 */

/**
 * Runs `fn` with some environment variables replaced (`undefined` removes one), then restores them, also
 * when `fn` throws. Child processes spawned meanwhile see the replaced values.
 */
export async function withEnv<T>(
  vars: Readonly<Record<string, string | undefined>>,
  fn: () => T | Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Readonly<Record<string, string | undefined>>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
