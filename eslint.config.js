// One lint config for every workspace: typescript-eslint with type information,
// so promises nobody awaits are errors, not surprises in production.
import js from '@eslint/js'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/*.d.ts', '**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/.reckon/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Fastify plugins and hooks are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // Policies pass a call's own rejection on unchanged, whatever the call threw.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  ...svelte.configs.recommended,
  {
    // The UI runs in the browser; its components are type-checked like the rest.
    files: ['ui/**/*.svelte', 'ui/**/*.svelte.ts'],
    rules: {
      // View state replaces its sets and maps whole (copy on write) rather than mutating
      // them, and some hold a million entries: plain collections are the intent.
      'svelte/prefer-svelte-reactivity': 'off',
    },
    languageOptions: {
      globals: globals.browser,
      parserOptions: {
        projectService: true,
        extraFileExtensions: ['.svelte'],
        parser: tseslint.parser,
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['ui/index.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['ui/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    // inject().json() and fetch().json() are untyped by nature; tests assert their shape.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The committed bin runs under Node as it is, unbuilt.
    files: ['**/bin/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
)
