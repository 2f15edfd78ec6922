// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/** Folders of src/ and what each may import (ARCHITECTURE.md §3.3). */
const zone = (target, from, message) => ({ target: `./src/${target}`, from: from.map((f) => `./src/${f}`), message });
const everything = ['base', 'model', 'url', 'config', 'planner', 'runtime', 'sync', 'forward', 'watch', 'wire', 'agent', 'daemon', 'cli'];
const except = (...allowed) => everything.filter((f) => !allowed.includes(f));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'schema/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      complexity: ['warn', 20],
      'import-x/no-restricted-paths': ['error', {
        zones: [
          zone('base', except('base'), 'base imports nothing from src/'),
          zone('model', except('base', 'model'), 'model imports only base'),
          zone('url', except('base', 'model', 'url'), 'url imports only base and model'),
          zone('wire', except('base', 'model', 'wire'), 'wire imports only base and model'),
          zone('sync/core', [...except('base', 'model', 'sync'), 'sync/local', 'sync/remote', 'sync/rsync', 'sync/ignore'], 'sync/core is pure'),
          zone('sync/ignore', [...except('base', 'model', 'sync'), 'sync/local', 'sync/remote', 'sync/rsync', 'sync/core'], 'sync/ignore imports only base and model'),
          zone('sync/rsync', [...except('base', 'model', 'sync'), 'sync/local', 'sync/remote', 'sync/ignore', 'sync/core'], 'sync/rsync imports only base and model'),
          zone('watch', except('base', 'model', 'sync', 'watch'), 'watch imports only base and sync/ignore'),
          zone('config', except('base', 'model', 'url', 'sync', 'config'), 'config imports base, model, url, sync/ignore'),
          zone('planner', except('base', 'model', 'config', 'planner'), 'planner is pure'),
          zone('runtime', except('base', 'model', 'config', 'planner', 'runtime', 'daemon'), 'runtime never imports cli'),
          zone('sync', ['agent', 'daemon', 'cli', 'config', 'planner', 'runtime'], 'sync never imports agent, daemon or cli'),
          zone('forward', ['agent', 'daemon', 'cli', 'config', 'planner', 'runtime'], 'forward never imports agent, daemon or cli'),
          zone('daemon', ['config', 'planner', 'runtime', 'cli'], 'the daemon never reads mutagen.yml'),
        ],
      }],
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'commander', message: 'only src/cli imports commander' },
          { name: 'listr2', message: 'only src/cli imports listr2' },
        ],
      }],
    },
  },
  {
    files: ['src/cli/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src/cli/render/**', 'scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['test/**', 'scripts/**', 'bench/**', 'eslint.config.js', 'vitest.config.ts'],
    rules: { 'max-lines': 'off', '@typescript-eslint/no-unsafe-member-access': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
