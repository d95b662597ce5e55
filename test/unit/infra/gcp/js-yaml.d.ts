/**
 * The one function the tests use of js-yaml (installed with jest, without its own types), to read the
 * committed stack files exactly as YAML.
 */
declare module 'js-yaml' {
  /** Parses one YAML document. */
  export function load(text: string): unknown;
}
