/**
 * Runs a CloudFront Function (JavaScript runtime 2.0, viewer request) in node, from the exact code string
 * that goes into the template, against an in-memory key value store. CloudFront offers no local runtime, so
 * the tests use this to run the edge router over a table of viewers.
 *
 * How it works: the mandatory first line `import cf from 'cloudfront';` is removed and the rest is evaluated
 * in a fresh `node:vm` context (one per run, so module-level state cannot leak between runs) whose global
 * `cf` is a fake: `cf.kvs().get(key)` resolves the key's value and rejects for a missing key like the real
 * store, and `cf.selectRequestOriginById(id)` records the origin. Node accepts more JavaScript than runtime
 * 2.0 does, so the code is first checked for constructs runtime 2.0 does not list (see
 * {@link RUNTIME_2_UNSUPPORTED}); that check is a guard, not a parser.
 *
 * ```ts
 * const { result, originId } = await runCloudFrontFunction(
 *   code,
 *   viewerRequestEvent({ uri: '/p.gif', query: { a: 'acc_12345678' }, headers: { 'cloudfront-viewer-country': 'DE' } }),
 *   { kvs: { down: 'europe' } },
 * );
 * ```
 */
import { createContext, runInContext } from 'node:vm';
import type { CloudFrontFunctionsEvent } from 'aws-lambda';

/** The first line every function that uses the `cloudfront` module must start with. */
export const CLOUDFRONT_IMPORT = "import cf from 'cloudfront';";

/** Constructs that node runs but CloudFront's runtime 2.0 does not list as supported, with why. */
export const RUNTIME_2_UNSUPPORTED: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /\bfor\s*\((?:const|let|var)?\s*[\w$]+\s+of\b/, what: 'for-of loops' },
  { pattern: /\.\.\.[\w$[{(]/, what: 'spread or rest syntax outside function parameters' },
  { pattern: /\?\./, what: 'optional chaining (?.)' },
  { pattern: /\?\?/, what: 'nullish coalescing (??)' },
  { pattern: /\b(?:const|let|var)\s*[[{]/, what: 'destructuring' },
  { pattern: /\bclass\s+[\w$]+/, what: 'classes' },
  { pattern: /\bObject\.(?:entries|values|fromEntries)\b/, what: 'Object.entries/values/fromEntries' },
];

/** Options of {@link runCloudFrontFunction}. */
export interface RunOptions {
  /** The key value store's contents. */
  readonly kvs: Readonly<Record<string, string>>;
  /**
   * Every `get` rejects with a service error (not a missing key), as when the store cannot be read.
   * @default false
   */
  readonly failKvs?: boolean;
}

/** A response the function answered itself (never reaching an origin). */
export interface FunctionResponse {
  readonly statusCode: number;
  readonly statusDescription?: string;
  readonly headers?: Record<string, { value: string }>;
  readonly body?: string | { readonly encoding: string; readonly data: string };
}

/** What one run gave. */
export interface FunctionRun {
  /** The request the function passed on (possibly changed), or the response it answered with. */
  readonly result: CloudFrontFunctionsEvent['request'] | FunctionResponse;
  /** The origin the function selected last, or `undefined` when it selected none. */
  readonly originId: string | undefined;
  /** The store keys the function read, in order (missing ones included). */
  readonly reads: readonly string[];
}

/** Whether a run's result is a response the function answered itself. */
export function isFunctionResponse(result: FunctionRun['result']): result is FunctionResponse {
  return typeof (result as FunctionResponse).statusCode === 'number';
}

/** The text body of a response the function answered, or `undefined`. */
export function responseBody(result: FunctionRun['result']): string | undefined {
  if (!isFunctionResponse(result) || result.body === undefined) return undefined;
  return typeof result.body === 'string' ? result.body : result.body.data;
}

/** What {@link viewerRequestEvent} builds a request from. */
export interface ViewerRequestInit {
  /** @default 'GET' */
  readonly method?: string;
  /** The path, e.g. `/p.gif`. */
  readonly uri: string;
  /** Query parameters; an array gives a repeated parameter. @default none */
  readonly query?: Readonly<Record<string, string | readonly string[]>>;
  /** Request headers (names are lower-cased, as CloudFront gives them). @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default '198.51.100.7' */
  readonly ip?: string;
}

/** Builds a viewer-request event in CloudFront Functions' shape (`{ name: { value, multiValue? } }`). */
export function viewerRequestEvent(init: ViewerRequestInit): CloudFrontFunctionsEvent {
  const querystring: CloudFrontFunctionsEvent['request']['querystring'] = {};
  for (const [name, raw] of Object.entries(init.query ?? {})) {
    const values = typeof raw === 'string' ? [raw] : [...raw];
    if (values.length === 0) continue;
    querystring[name] =
      values.length === 1
        ? { value: values[0]! }
        : { value: values[0]!, multiValue: values.map((value) => ({ value })) };
  }
  const headers: CloudFrontFunctionsEvent['request']['headers'] = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = { value };
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'test-request',
    },
    viewer: { ip: init.ip ?? '198.51.100.7' },
    request: { method: init.method ?? 'GET', uri: init.uri, querystring, headers, cookies: {} },
  } as CloudFrontFunctionsEvent;
}

/**
 * Runs `code` (a whole CloudFront Function, its first line `import cf from 'cloudfront';`) on `event`.
 * The event is deep-copied first, so the caller's object is left as it was.
 * @throws Error when the code lacks the import line, uses a construct runtime 2.0 does not support, defines
 *   no `handler`, or when the handler throws (CloudFront would answer 503 then)
 */
export async function runCloudFrontFunction(
  code: string,
  event: CloudFrontFunctionsEvent,
  options: RunOptions,
): Promise<FunctionRun> {
  const [first, ...rest] = code.split('\n');
  if (first?.trim() !== CLOUDFRONT_IMPORT)
    throw new Error(
      `a CloudFront Function that uses the cloudfront module must start with ${CLOUDFRONT_IMPORT}`,
    );
  const body = rest.join('\n');
  for (const { pattern, what } of RUNTIME_2_UNSUPPORTED) {
    const match = pattern.exec(body);
    if (match) throw new Error(`CloudFront Functions runtime 2.0 does not support ${what}: "${match[0]}"`);
  }

  let originId: string | undefined;
  const reads: string[] = [];
  const store = { ...options.kvs };
  const cf = {
    kvs: () => ({
      get: async (key: string): Promise<string> => {
        reads.push(key);
        if (options.failKvs) throw new Error('KeyValueStore unavailable (simulated)');
        const value = store[key];
        // The real store rejects, rather than resolving undefined, when the key does not exist.
        if (value === undefined) throw new Error(`key not found: ${key}`);
        return value;
      },
      exists: async (key: string): Promise<boolean> => {
        reads.push(key);
        if (options.failKvs) throw new Error('KeyValueStore unavailable (simulated)');
        return store[key] !== undefined;
      },
    }),
    selectRequestOriginById: (id: string): void => {
      originId = id;
    },
  };
  const context = createContext({ cf });
  // Evaluated as a script: the top-level function declarations become the context's globals.
  const handler: unknown = runInContext(
    `${body}\n;typeof handler === 'function' ? handler : undefined`,
    context,
    {
      filename: 'cloudfront-function.js',
    },
  );
  if (typeof handler !== 'function')
    throw new Error('the CloudFront Function defines no handler(event) function');
  const copy = JSON.parse(JSON.stringify(event)) as CloudFrontFunctionsEvent;
  const result = (await (handler as (e: unknown) => unknown)(copy)) as FunctionRun['result'];
  // Objects made inside the vm context have that context's prototypes; a JSON round trip makes them plain
  // objects, so that jest's equality checks compare them with the test's literals.
  return { result: JSON.parse(JSON.stringify(result)) as FunctionRun['result'], originId, reads };
}
