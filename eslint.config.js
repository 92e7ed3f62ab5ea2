// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'worker-runtime/python/**',
      'examples/django/**',
      'coverage/**',
      'test-artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Socket code: a dropped promise is a dropped error.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Layers: the proxy and the worker runtime share only the protocol package.
    files: ['proxy/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@gatewire/worker', '**/worker-runtime/**'],
              message: 'proxy/ may import only @gatewire/protocol, never the worker runtime.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['worker-runtime/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@gatewire/proxy', '**/proxy/src/**'],
              message: 'worker-runtime/ may import only @gatewire/protocol, never the proxy.',
            },
          ],
        },
      ],
    },
  },
  {
    // The protocol core does no I/O (STYLE.md §1).
    files: ['protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:net',
            'node:fs',
            'node:fs/promises',
            'node:http',
            'node:child_process',
            'node:dgram',
          ].map((name) => ({ name, message: 'protocol/src is pure: no I/O.' })),
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
  },
);
