/**
 * The user agent that tests and the benchmark send as a browser: a current desktop Chrome, which `isbot`
 * does not flag (headless Chrome's own user agent is, rightly, filtered as a bot), so hits carrying it run
 * the whole pipeline.
 */
export const BROWSER_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
