import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries (docs/architecture.md): scope keeps services apart, type keeps layers honest.
//   app -> feature, data-access, domain, util | feature -> data-access, domain, util
//   data-access -> data-access, domain, util | domain -> domain, util | util -> util
// Test files may also use the shared testing library.
const depConstraints = (testing) => {
  const t = testing ? ['type:testing'] : [];
  return [
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    ...['ingestion', 'health-scoring', 'lifecycle', 'escalation-routing', 'notification'].map((s) => ({
      sourceTag: `scope:${s}`,
      onlyDependOnLibsWithTags: [`scope:${s}`, 'scope:shared'],
    })),
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:domain', 'type:util', ...t] },
    { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:domain', 'type:util', ...t] },
    { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:util', ...t] },
    { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:util', ...t] },
    { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', ...t] },
    { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:util', 'type:testing'] },
  ];
};

const boundaries = (testing) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    banTransitiveDependencies: false,
    checkDynamicDependenciesExceptions: ['testcontainers', '@testcontainers/kafka', '@testcontainers/postgresql'],
    depConstraints: depConstraints(testing),
  },
];

export default [
  { ignores: ['**/node_modules/**', 'dist/**', '.kizuna/**', '.nx/**', 'coverage/**', '**/*.cjs', '**/*.mjs'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(it|describe|test)$/][callee.property.name=/^(only|skip)$/]", message: 'No committed .only/.skip.' },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.test-helper.ts', 'e2e/**/*.ts', 'tools/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
];
