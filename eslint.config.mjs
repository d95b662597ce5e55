// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Imports of a dependency's internals: a path into its `lib/`, `dist/`, `src/` or `build/` folder
 * (`cdk-nag/lib/utils/…`, `aws-cdk-lib/aws-iam/lib/…`, `@scope/pkg/dist/…`). Relative paths are not
 * concerned: they start with a dot.
 */
const DEEP_DEPENDENCY_IMPORTS = {
  regex: '^(?:@[^/.][^/]*/)?[^/.][^/]*(?:/[^/]+)*/(?:lib|dist|src|build)(?:/|$)',
  message:
    'Import a dependency through its public entry points only (its package.json "exports", or the index it ' +
    'documents). Its lib/, dist/, src/ and build/ folders are internals that any release may move or ' +
    'change without notice (cdk-nag 3 exports nothing below lib/index); use the public API, or write the ' +
    'small helper in this repository.',
};

/**
 * The infrastructure sits below the services' code and the tools: it names bundle entry points through
 * `infra/build/bundle.ts` and never imports a service's source, a script, a tool, a benchmark or a test.
 */
const INFRA_UPWARD_IMPORTS = {
  regex: '(?:^|/)(?:services/[^/]+/src|scripts|tooling|bench|test)(?:/|$)',
  message:
    'infra/ and policies/ sit below the services, tooling, scripts, bench and test layers: depend on ' +
    "platform/ (names, layout, metrics, the services' environment contracts in platform/contracts) and " +
    'name bundle entry points through infra/build/bundle.ts.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'dist/', '.data/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // `import { type A }` with only types left keeps an empty side-effect import after transpiling, which
      // the bundles' external-package check then reads as a dependency: write `import type { A }`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    rules: { 'no-restricted-imports': ['error', { patterns: [DEEP_DEPENDENCY_IMPORTS] }] },
  },
  {
    // A later entry replaces the rule's options for these files, so the dependency rule is repeated.
    files: ['infra/**/*.ts', 'policies/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [DEEP_DEPENDENCY_IMPORTS, INFRA_UPWARD_IMPORTS] }],
    },
  },
  {
    files: ['*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // Browser code shipped to customer pages: no bundler, plain ES2017.
    files: ['services/ingest/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        Blob: 'readonly',
        location: 'readonly',
        CustomEvent: 'readonly',
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        Image: 'readonly',
        Date: 'readonly',
        JSON: 'readonly',
        console: 'readonly',
      },
    },
  },
);
