// eslint for the page-side JavaScript, its build and its tests: `npm --prefix js run
// lint`, which runs from the repository's root (paths below are relative to it);
// tests/js/test_lint.py runs it in ./run-tests. The recommended rules, plus a few that
// catch what hurts in code every page runs. Style is left to review: the code follows
// one (2 spaces, semicolons, single quotes).

import js from '@eslint/js';
import globals from 'globals';

export default [
  js.configs.recommended,
  {
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-implicit-globals': 'error',
      'no-shadow': 'error',
      'no-unused-vars': ['error', { caughtErrors: 'none' }]
    }
  },
  {
    // the modules bundled into js/peersocket.js: a page's main world
    files: ['js/peersocket/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } }
  },
  {
    // the demo dApps: classic scripts of their own pages, which have the API
    files: ['js/apps/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { ...globals.browser, PeerSocket: 'readonly', PeerSocketSwarm: 'readonly', PeerSocketInfo: 'readonly' }
    },
    rules: { 'no-implicit-globals': 'off' }
  },
  {
    files: ['js/build.mjs', 'js/eslint.config.js', 'tests/js/**/*.mjs', 'bench/**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } }
  },
  {
    ignores: ['js/peersocket.js', '**/node_modules/**']
  }
];
