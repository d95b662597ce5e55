/**
 * The snippet and the campaign config document cannot drift: every field the snippet (and the demo page)
 * reads from the document is a field of `campaignConfigDocumentSchema`, and the snippet reads every field
 * the schema has. The snippet is plain JavaScript served as is, so this reads its source: it names the
 * document `c` where it arrives and `config` once kept.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { campaignConfigDocumentSchema } from '../../../platform/contracts/campaign-config';
import { STATIC_DIR } from '../../../services/ingest/src/http/local-routes';

/** The source without comments, so prose such as `campaign-config.ts` is not taken for a read. */
function code(file: string): string {
  return readFileSync(join(STATIC_DIR, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1');
}

/** Every `c.<field>` and `config.<field>` read in a source (not `x.config.y` or `config: ...`). */
function documentReads(source: string): Set<string> {
  const reads = new Set<string>();
  for (const m of source.matchAll(/(?<![\w$.])(?:c|config)\.([A-Za-z_$][\w$]*)/g)) reads.add(m[1]!);
  return reads;
}

const schemaFields = Object.keys(campaignConfigDocumentSchema.shape).sort();

test('the snippet reads exactly the fields of the config document, and the demo page only fields of it', () => {
  expect([...documentReads(code('snippet.js'))].sort()).toEqual(schemaFields);
  const demoReads = [...documentReads(code('demo.html'))];
  expect(demoReads.length).toBeGreaterThan(0);
  for (const field of demoReads) expect(schemaFields).toContain(field);
});

test('the snippet no longer reads a collect URL from the document: hits go to its own origin', () => {
  expect(code('snippet.js')).not.toMatch(/collectUrl/);
  expect(code('snippet.js')).toMatch(/new URL\(script\.src\)\.origin/);
});
