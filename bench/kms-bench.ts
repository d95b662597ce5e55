/**
 * Section 2: KMS calls under load (the bar "KMS use"). The real DataKeyService, KmsKeyProvider and
 * DynamoDirectory talk to a real moto_server; personal fields of many hits over a few accounts are sealed
 * with realistic concurrency, and the provider calls are counted where the service counts them (Metrics).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { LIMITS } from '../platform';
import { DataKeyService, type EncryptedEnvelope } from '../services/ingest/src/crypto/data-keys';
import { expectedKmsCalls } from '../services/ingest/src/crypto/branch-keys';
import { KmsKeyProvider } from '../services/ingest/src/crypto/kms-key-provider';
import { DynamoDirectory, directoryTableDefinition } from '../services/shared/directory/dynamo-directory';
import { Metrics } from '../services/ingest/src/metrics';
import { motoClientConfig, startMoto } from '../tooling/moto';
import { BROWSER_USER_AGENT } from '../tooling/user-agent';
import { onExitCleanup } from './lib/cleanup';
import { atMost, heading, info, num, type Figure } from './lib/report';

/** Settings of {@link runKmsBench}. */
export interface KmsBenchOptions {
  readonly hits: number;
  readonly accounts: number;
  /** `encryptFields` calls in flight at once, as concurrent requests of one instance would have. */
  readonly concurrency: number;
}

const SECTION = 'kms';
const LOCATION = 'americas';

/** Deterministic pseudo-random account choice: uneven like real traffic, identical on every run. */
function accountPicker(count: number): () => number {
  let state = 0x2545f491;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % count;
  };
}

/** Seals the personal fields of `hits` hits, `concurrency` at a time; returns one envelope per account. */
async function sealHits(
  service: DataKeyService,
  accounts: readonly string[],
  options: KmsBenchOptions,
): Promise<{
  seconds: number;
  perAccount: Map<string, number>;
  samples: Map<string, [object, EncryptedEnvelope]>;
}> {
  const pick = accountPicker(accounts.length);
  const perAccount = new Map<string, number>();
  const samples = new Map<string, [object, EncryptedEnvelope]>();
  const started = performance.now();
  for (let done = 0; done < options.hits;) {
    const size = Math.min(options.concurrency, options.hits - done);
    await Promise.all(
      Array.from({ length: size }, async (_, j) => {
        const i = done + j;
        const accountId = accounts[pick()]!;
        perAccount.set(accountId, (perAccount.get(accountId) ?? 0) + 1);
        const fields = { ip: `203.0.113.${i % 256}`, userAgent: BROWSER_USER_AGENT, clickId: `cid${i}` };
        const envelope = await service.encryptFields(accountId, fields);
        if (!samples.has(accountId)) samples.set(accountId, [fields, envelope]);
      }),
    );
    done += size;
  }
  return { seconds: (performance.now() - started) / 1000, perAccount, samples };
}

/** Runs section 2 and returns its figures. */
export async function runKmsBench(options: KmsBenchOptions): Promise<Figure[]> {
  heading('2. KMS calls under load (moto_server, real SDK clients)');
  const moto = await startMoto();
  // startMoto keeps its child private; stop() sends SIGTERM synchronously, which is all 'exit' allows.
  const unregister = onExitCleanup(() => void moto.stop());
  console.log(`moto_server at ${moto.endpoint}`);
  // The SDK warns once that its 2027 releases need node 22; the header already prints the node version.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = motoClientConfig(moto.endpoint);
  const kms = new KMSClient(config);
  const dynamo = new DynamoDBClient(config);
  try {
    const suffix = randomBytes(4).toString('hex');
    const created = await kms.send(new CreateKeyCommand({ Description: `trackstack bench ${suffix}` }));
    const keyId = created.KeyMetadata?.KeyId;
    if (!keyId) throw new Error('moto returned no KMS key id');
    const tableName = `trackstack-bench-directory-${suffix}`;
    await dynamo.send(new CreateTableCommand(directoryTableDefinition(tableName)));
    const directory = new DynamoDirectory({ client: dynamo, tableName });
    const accounts = Array.from(
      { length: options.accounts },
      (_, i) => `acc_bench${String(i).padStart(8, '0')}`,
    );
    console.log(`KMS key ${keyId}, directory table ${tableName}, location ${LOCATION}`);
    console.log(
      `${num(options.hits)} hits over ${options.accounts} accounts, ${options.concurrency} encryptFields in flight ` +
        `at a time; data key cache: ${LIMITS.dataKeyCacheSeconds} s, ${num(LIMITS.dataKeyCacheEntries)} keys`,
    );

    // Instance 1 starts with an empty table: the first hits of each account create its data key.
    const metrics = new Metrics();
    const service = new DataKeyService({
      provider: new KmsKeyProvider({ client: kms, keyId, metrics }),
      directory,
      location: LOCATION,
    });
    const first = await sealHits(service, accounts, options);
    const generate = metrics.keyProviderCalls.get('GenerateDataKey') ?? 0;
    const decrypt = metrics.keyProviderCalls.get('Decrypt') ?? 0;
    console.log(
      `instance 1 (empty table): ${num(options.hits)} sealed in ${num(first.seconds, 2)} s ` +
        `(${num(options.hits / first.seconds)} /s); GenerateDataKey ${generate}, Decrypt ${decrypt}`,
    );
    console.log(
      `  hits per account: ${[...first.perAccount.entries()]
        .sort()
        .map(([a, n]) => `${a.slice(-2)}:${num(n)}`)
        .join(' ')}`,
    );

    // Envelopes must open again: a benchmark of encryption that silently sealed nothing would prove nothing.
    let roundTrips = 0;
    for (const [accountId, [fields, envelope]] of first.samples) {
      const opened = await service.decryptFields(accountId, envelope);
      if (JSON.stringify(opened) === JSON.stringify(fields)) roundTrips++;
    }
    const stored = (await Promise.all(accounts.map((a) => directory.getDataKey(a, LOCATION)))).filter(
      Boolean,
    ).length;
    console.log(
      `  envelopes opened again: ${roundTrips}/${first.samples.size}; wrapped data keys in the table: ${stored}`,
    );

    // Instance 2 (another container, or the same one after its cache period) finds every key stored.
    const metrics2 = new Metrics();
    const service2 = new DataKeyService({
      provider: new KmsKeyProvider({ client: kms, keyId, metrics: metrics2 }),
      directory,
      location: LOCATION,
    });
    const second = await sealHits(service2, accounts, options);
    const generate2 = metrics2.keyProviderCalls.get('GenerateDataKey') ?? 0;
    const decrypt2 = metrics2.keyProviderCalls.get('Decrypt') ?? 0;
    console.log(
      `instance 2 (keys stored, cold cache): ${num(options.hits)} sealed in ${num(second.seconds, 2)} s ` +
        `(${num(options.hits / second.seconds)} /s); GenerateDataKey ${generate2}, Decrypt ${decrypt2}`,
    );

    return [
      // One per account, and one for the location's branch key (services/ingest/src/crypto/branch-keys.ts).
      atMost(SECTION, `GenerateDataKey, ${num(options.hits)} hits`, generate, options.accounts + 1, ''),
      info(SECTION, 'Decrypt, same instance', num(decrypt)),
      atMost(SECTION, 'GenerateDataKey, 2nd instance', generate2, 0, ''),
      // Every account's key already holds a copy under the branch key: only the branch key is unwrapped.
      atMost(
        SECTION,
        'Decrypt, 2nd instance (cold)',
        decrypt2,
        expectedKmsCalls({ instances: 1, branchKeyVersions: 1, accountsWithoutCopy: 0 }),
        '',
      ),
      info(SECTION, 'encryptFields/s (instance 1)', num(options.hits / first.seconds)),
      {
        section: SECTION,
        name: 'envelopes round-trip',
        value: `${roundTrips}/${first.samples.size}`,
        bar: 'all',
        verdict: roundTrips === first.samples.size && roundTrips === options.accounts ? 'PASS' : 'MISS',
      },
    ];
  } finally {
    kms.destroy();
    dynamo.destroy();
    await moto.stop();
    unregister();
  }
}
