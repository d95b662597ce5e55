import { isbot } from 'isbot';
import { BotFilter, MAX_CACHED_USER_AGENT_CHARS } from '../../../services/ingest/src/pipeline/bot-filter';
import { BROWSER_USER_AGENT } from '../../../tooling/user-agent';

/** A judge that counts its calls, so a test can tell a remembered verdict from a fresh one. */
function countingJudge(): { judge: (ua: string) => boolean; calls: string[] } {
  const calls: string[] = [];
  return { calls, judge: (ua) => (calls.push(ua), isbot(ua)) };
}

test('gives the verdicts of isbot, and a missing user agent is a bot', () => {
  const filter = new BotFilter();
  const agents = [
    BROWSER_USER_AGENT,
    'Googlebot/2.1 (+http://www.google.com/bot.html)',
    'curl/8.5.0',
    'python-requests/2.31',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  ];
  // Twice: the second pass answers from memory, and must answer the same.
  for (let pass = 0; pass < 2; pass++) for (const ua of agents) expect(filter.isBot(ua)).toBe(isbot(ua));
  expect(filter.isBot(undefined)).toBe(true);
});

test('judges each distinct user agent once while it is remembered', () => {
  const { judge, calls } = countingJudge();
  const filter = new BotFilter({ judge });
  for (let i = 0; i < 100; i++) filter.isBot(BROWSER_USER_AGENT);
  expect(calls).toEqual([BROWSER_USER_AGENT]);
});

test('stays within its bound, forgetting the least recently seen first', () => {
  const { judge, calls } = countingJudge();
  const filter = new BotFilter({ maxEntries: 2, judge });
  filter.isBot('agent-a');
  filter.isBot('agent-b');
  filter.isBot('agent-a'); // a is now the most recent
  filter.isBot('agent-c'); // forgets b
  expect(filter.size).toBe(2);
  calls.length = 0;
  filter.isBot('agent-a');
  filter.isBot('agent-c');
  expect(calls).toEqual([]);
  filter.isBot('agent-b');
  expect(calls).toEqual(['agent-b']);
});

test('never remembers an overlong user agent', () => {
  const { judge, calls } = countingJudge();
  const filter = new BotFilter({ judge });
  const long = 'Mozilla/5.0 ' + 'x'.repeat(MAX_CACHED_USER_AGENT_CHARS);
  filter.isBot(long);
  filter.isBot(long);
  expect(calls).toHaveLength(2);
  expect(filter.size).toBe(0);
});

test('refuses a bound that is not a non-negative integer', () => {
  expect(() => new BotFilter({ maxEntries: -1 })).toThrow(/non-negative integer, got -1/);
  expect(() => new BotFilter({ maxEntries: 1.5 })).toThrow(RangeError);
});
