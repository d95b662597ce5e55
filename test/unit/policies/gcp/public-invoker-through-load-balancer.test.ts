import { publicInvokerThroughLoadBalancer } from '../../../../policies/gcp/rules/public-invoker-through-load-balancer';
import { urnOf, validateStack, type ResourceSpec } from '../../../../policies/gcp/evaluate';
import { functionV2, publicInvoker } from './support/fixtures';

const check = (specs: ResourceSpec[]) => validateStack(publicInvokerThroughLoadBalancer, specs);

function runService(ingress: string, name = 'api'): ResourceSpec {
  return { type: 'gcp:cloudrunv2/service:Service', name, props: { name, location: 'europe-west1', ingress } };
}

function runInvoker(service: string, props: Record<string, unknown> = {}): ResourceSpec {
  return {
    type: 'gcp:cloudrunv2/serviceIamMember:ServiceIamMember',
    name: `${service}-invoker`,
    props: {
      name: service,
      location: 'europe-west1',
      role: 'roles/run.invoker',
      member: 'allUsers',
      ...props,
    },
  };
}

describe('gcp-public-invoker-only-through-load-balancer', () => {
  test('Compliance', async () => {
    // The program's pattern: one load-balanced function and its public invoker per region, same names.
    const regions = ['us-central1', 'europe-west1', 'asia-southeast1'];
    expect(
      await check(
        regions.flatMap((location) => [
          functionV2({}, 'ingest', location),
          publicInvoker({ cloudFunction: 'ingest', location }, `ingest-invoker-${location}`),
        ]),
      ),
    ).toEqual([]);
    // The function named by its full id; the invoker granted on the Cloud Run service behind a gen2 function.
    expect(
      await check([
        functionV2({ service: 'projects/p/locations/europe-west1/services/ingest-europe' }),
        publicInvoker({ cloudFunction: 'projects/p/locations/europe-west1/functions/ingest-europe' }),
        runInvoker('ingest-europe'),
      ]),
    ).toEqual([]);
    // A Cloud Run v2 service limited to the load balancer; non-public grants are not this rule's concern.
    expect(
      await check([
        runService('INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER'),
        runInvoker('api'),
        publicInvoker({ member: 'serviceAccount:scheduler@p.iam.gserviceaccount.com' }, 'private'),
      ]),
    ).toEqual([]);
  });

  test('Noncompliance 1: the invoker of a function open to all traffic', async () => {
    const invoker = publicInvoker();
    const violations = await check([functionV2({ ingressSettings: 'ALLOW_ALL' }), invoker]);
    expect(violations).toEqual([
      {
        policy: 'gcp-public-invoker-only-through-load-balancer',
        message: expect.stringMatching(
          /FunctionIamMember 'ingest-europe-invoker' grants roles\/cloudfunctions.invoker to allUsers: 'ingest-europe' accepts traffic from the internet directly: set its ingress to ALLOW_INTERNAL_AND_GCLB/,
        ),
        urn: urnOf(invoker),
      },
    ]);
  });

  test('Noncompliance 2: the function omits its ingress (ALLOW_ALL by default)', async () => {
    const fn = functionV2();
    (fn.props.serviceConfig as Record<string, unknown>).ingressSettings = undefined;
    expect(await check([fn, publicInvoker()])).toHaveLength(1);
  });

  test('Noncompliance 3: a public invoker whose function is not in the stack or in another region', async () => {
    expect(await check([publicInvoker()])).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/no function or service 'ingest-europe'/) }),
    ]);
    expect(await check([functionV2({}, 'ingest-europe', 'us-central1'), publicInvoker()])).toHaveLength(1);
  });

  test('Noncompliance 4: a public grant of another role on a load-balanced function', async () => {
    const violations = await check([functionV2(), publicInvoker({ role: 'roles/cloudfunctions.admin' })]);
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringMatching(/the only role that may be public here is roles\/cloudfunctions.invoker/),
    ]);
  });

  test('Noncompliance 5: allAuthenticatedUsers on a bucket, a topic or the project', async () => {
    const specs: ResourceSpec[] = [
      {
        type: 'gcp:storage/bucketIAMMember:BucketIAMMember',
        name: 'b',
        props: { bucket: 'events', role: 'roles/storage.objectViewer', member: 'allAuthenticatedUsers' },
      },
      {
        type: 'gcp:pubsub/topicIAMBinding:TopicIAMBinding',
        name: 't',
        props: { topic: 'hits', role: 'roles/pubsub.publisher', members: ['user:a@example.com', 'allUsers'] },
      },
      {
        type: 'gcp:projects/iAMPolicy:IAMPolicy',
        name: 'p',
        props: {
          policyData: JSON.stringify({ bindings: [{ role: 'roles/logging.viewer', members: ['allUsers'] }] }),
        },
      },
    ];
    const violations = await check(specs);
    expect(violations.map((v) => v.urn)).toEqual(specs.map((s) => urnOf(s)));
    expect(violations[0]!.message).toMatch(
      /only the invoker of a function or Cloud Run service may be public/,
    );
  });

  test('Noncompliance 6: a Cloud Run service open to all traffic', async () => {
    expect(await check([runService('INGRESS_TRAFFIC_ALL'), runInvoker('api')])).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER \(Cloud Run\)/),
      }),
    ]);
  });
});
