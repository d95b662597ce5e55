/**
 * What the release pipeline's synth step needs on its build machine besides node: `npm test` starts
 * moto_server, the GCP emulators (gcloud and java) and Chromium, and `npm run synth`/the tests call
 * cfn-lint. Kept as one named list so the pipeline, the README and a custom build image agree.
 */

/** The node major version the pipeline steps switch to on the CodeBuild standard image (`n` is preinstalled). */
export const PIPELINE_NODE_VERSION = '20';

/**
 * The tools `npm test` and `npm run scan` need, each with the command that installs it on the CodeBuild
 * standard image (Ubuntu). A custom build image with these preinstalled would save about 3 minutes per run.
 */
export const PIPELINE_TOOLCHAIN: readonly { readonly tool: string; readonly install: string }[] = [
  { tool: 'node', install: `n ${PIPELINE_NODE_VERSION}` },
  // moto_server stands in for AWS in the integration tests; cfn-lint is the second gate of synth and scan.
  { tool: 'moto_server, cfn-lint', install: 'pip3 install --quiet "moto[server]" "cfn-lint>=1"' },
  // The browser tests drive the snippet in a headless Chromium.
  {
    tool: 'chromium',
    install: 'apt-get update -qq && apt-get install -y -qq chromium-browser',
  },
  // The GCP tests start the Pub/Sub and Firestore emulators through gcloud, which runs them on java.
  {
    tool: 'gcloud emulators, java',
    install:
      'curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg && ' +
      'echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" > /etc/apt/sources.list.d/google-cloud-sdk.list && ' +
      'apt-get update -qq && apt-get install -y -qq google-cloud-cli google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator openjdk-17-jre-headless',
  },
];

/** The install commands of {@link PIPELINE_TOOLCHAIN}, in order. */
export function toolchainInstallCommands(): string[] {
  return PIPELINE_TOOLCHAIN.map((t) => t.install);
}
