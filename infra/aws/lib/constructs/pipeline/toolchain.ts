/**
 * What the release pipeline's synth step needs on its build machine besides node: `npm test` starts
 * moto_server, the GCP emulators (gcloud on java) and Debian's Chromium (`/usr/bin/chromium`, which the
 * browser tests drive; playwright-core never downloads a browser), and synth, scan and the tests call
 * cfn-lint. Kept as one named list so that the pipeline, `.ci/run` and the README agree.
 */

/**
 * The synth step's build image: Debian (bookworm) with node 20, the distribution `.ci/run` and the browser
 * tests expect. CodeBuild's own images are Ubuntu or Amazon Linux, where `chromium` is not Debian's package.
 */
export const PIPELINE_SYNTH_IMAGE = 'public.ecr.aws/docker/library/node:20-bookworm';

/** The node major version the other steps switch to on CodeBuild's standard image (`n` is preinstalled). */
export const PIPELINE_NODE_VERSION = '20';

/**
 * The tools `npm test` and `npm run scan` need, each with the command that installs it on
 * {@link PIPELINE_SYNTH_IMAGE}. A custom image with these preinstalled would save a few minutes per run.
 */
export const PIPELINE_TOOLCHAIN: readonly { readonly tool: string; readonly install: string }[] = [
  {
    tool: 'chromium, java, pip',
    install:
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ' +
      'chromium openjdk-17-jre-headless python3-pip ca-certificates curl gnupg',
  },
  {
    tool: 'moto_server, cfn-lint',
    // Debian marks its python as externally managed; the build machine is thrown away after the run.
    install: 'pip3 install --quiet --break-system-packages "moto[server]>=5" "cfn-lint>=1"',
  },
  {
    tool: 'gcloud and the Pub/Sub and Firestore emulators',
    install:
      'curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg && ' +
      'echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" > /etc/apt/sources.list.d/google-cloud-sdk.list && ' +
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ' +
      'google-cloud-cli google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator',
  },
];

/** The install commands of {@link PIPELINE_TOOLCHAIN}, in order. */
export function toolchainInstallCommands(): string[] {
  return PIPELINE_TOOLCHAIN.map((t) => t.install);
}
