/**
 * `TS_HOME_LOCATIONS`, the stage configuration's home locations as the ingest service reads them: a JSON
 * object of account id → location, refused at start-up with a message naming the bad entry.
 */
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';

const parse = (value: string) => parseIngestEnv({ TS_HOME_LOCATIONS: value });

test('a JSON object of account ids to locations is read as such; unset means no home from the configuration', () => {
  expect(parse('{"acc_europe0001":"europe","acc_apac00001":"apac"}').TS_HOME_LOCATIONS).toEqual({
    acc_europe0001: 'europe',
    acc_apac00001: 'apac',
  });
  expect(parseIngestEnv({}).TS_HOME_LOCATIONS).toBeUndefined();
  // Empty counts as unset, as for every TS_ variable.
  expect(parseIngestEnv({ TS_HOME_LOCATIONS: '' }).TS_HOME_LOCATIONS).toBeUndefined();
});

test.each([
  [
    'not JSON',
    '{acc_europe0001: europe}',
    /TS_HOME_LOCATIONS: must be a JSON object of account id to location/,
  ],
  ['an array', '["europe"]', /TS_HOME_LOCATIONS: must be a JSON object of account id to location/],
  ['a bare string', '"europe"', /TS_HOME_LOCATIONS: must be a JSON object/],
  ['a key that is no account id', '{"acme":"europe"}', /TS_HOME_LOCATIONS\.acme: is not an account id/],
  [
    'an unknown location',
    '{"acc_europe0001":"eu-west-1"}',
    /TS_HOME_LOCATIONS\.acc_europe0001: must be one of americas, europe, apac/,
  ],
  [
    'a location that is not a string',
    '{"acc_europe0001":1}',
    /TS_HOME_LOCATIONS\.acc_europe0001: must be one of/,
  ],
])('%s is refused with a message naming the entry', (_what, value, message) => {
  expect(() => parse(value)).toThrow(message);
});

test('every bad entry is named at once, and an account id cannot reach the prototype', () => {
  let message = '';
  try {
    parse('{"bad":"europe","acc_europe0001":"mars","__proto__":"europe"}');
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/TS_HOME_LOCATIONS\.bad: is not an account id/);
  expect(message).toMatch(/TS_HOME_LOCATIONS\.acc_europe0001: must be one of/);
  expect(message).toMatch(/TS_HOME_LOCATIONS\.__proto__: is not an account id/);
  const homes = parse('{"acc_europe0001":"europe"}').TS_HOME_LOCATIONS!;
  expect(homes['toString']).toBeUndefined();
});
