import { normalizeTemplate, synthesizeStage, type SynthesizedApp } from './support';

// Asset hashes and bundle keys are stripped: a snapshot changes when the infrastructure does, not when the
// ingest code does. Review a changed snapshot like a change to the templates, then `jest -u`.
let synth: SynthesizedApp;
beforeAll(() => {
  synth = synthesizeStage('dev');
});
afterAll(() => synth?.dispose());

test.each(['americas', 'europe', 'apac'])('Trackstack-dev-%s template', (location) => {
  expect(normalizeTemplate(synth.templates[location]!)).toMatchSnapshot();
});
