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
    // Notifications draw [text](command:…) in their message as a link that runs the command: they go through
    // src/editor/messages.ts, which keeps the data they quote (labels, ids, file names) from becoming one.
    files: ['src/extension.ts', 'src/commands/**/*.ts', 'src/editor/**/*.ts', 'src/webview/*.ts'],
    ignores: ['src/editor/messages.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name=/^show(Information|Warning|Error)Message$/]",
          message: 'Use showInformationMessage / showWarningMessage / showErrorMessage of src/editor/messages.ts: they keep data in the message from turning into a command link.',
        },
        {
          selector: "MemberExpression[property.name='withProgress']",
          message: "Use withNotificationProgress of src/editor/messages.ts: a progress notification's title and messages are drawn with links too.",
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
