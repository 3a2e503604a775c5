import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.vscode-test/**', 'test-results/**', 'out/**', 'bench-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-restricted-imports': 'off',
    },
  },
  {
    // The plain-TypeScript cores are shared by the CLI, the worker and unit tests: no editor API there.
    files: ['src/dataset/**/*.ts', 'src/training/**/*.ts', 'src/teacher/**/*.ts', 'src/cli/**/*.ts', 'src/review/**/*.ts', 'src/webview/client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Core modules must not import vscode.' }] }],
    },
  },
  {
    // Terminal output goes through src/cli/terminal.ts, which escapes the control characters that data can hold.
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/terminal.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='write']",
          message: 'Write through Terminal (src/cli/terminal.ts): line()/lines() escape control characters, data() is for JSON.',
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
