// Lint: typescript-eslint's type-checked rules, no import cycles, and the layering below.
// Formatting is Prettier's (.prettierrc); eslint-config-prettier, last, turns off the rules
// that would fight it.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layering: what of the project each folder may import besides its own files (a folder, or
 * single files of one). A folder not named here (index.ts, examples, bin, scripts, test, bench)
 * may import anything.
 * - common/: shared contracts, loaded by workflow code and everything else alike.
 * - workflows/: deterministic workflow code; it reaches activities only through common/contracts.ts.
 * - agents/ sits beside tools/: a profile is its tools plus defaults, which activities/ serves.
 * - simulator/: a stand-in for the Messages API; it shares only the wire types, the prompt
 *   format and the model table, so it can run (and be read) on its own.
 * - store/ -> config/codec.ts: EncryptedStore seals blobs with the keyring cipher of the payload
 *   codec. The cipher needs node:crypto, which common/ may not import, so it has no home both
 *   may import; this one file is allowed rather than the whole of config/.
 */
const layers = {
  common: [],
  workflows: ['common'],
  activities: ['common', 'tools', 'agents', 'store'],
  tools: ['common'],
  agents: ['common', 'tools'],
  store: ['common', 'config/codec.ts'],
  config: ['common'],
  client: ['common', 'activities', 'tools', 'agents', 'store', 'config'],
  worker: ['common', 'workflows', 'activities', 'tools', 'agents', 'store', 'config'],
  simulator: ['common/messages-api.ts', 'common/prompt-format.ts', 'common/models.ts'],
};
const folders = [...Object.keys(layers), 'examples', 'bin', 'scripts', 'test', 'bench', 'index.ts'];

const layerZones = Object.entries(layers).flatMap(([folder, allowed]) => {
  const names = allowed.map((a) => (a.includes('/') ? a : `${a}/`));
  const message = `${folder}/ may import only ${names.join(', ') || 'its own files'} of the project (eslint.config.js: layers).`;
  const files = allowed.filter((a) => a.includes('/'));
  const partly = [...new Set(files.map((f) => f.split('/')[0]))];
  const closed = folders.filter((f) => f !== folder && !allowed.includes(f) && !partly.includes(f));
  return [
    { target: `./${folder}`, from: closed.map((f) => `./${f}`), message },
    ...partly.map((p) => ({
      target: `./${folder}`,
      from: `./${p}`,
      except: files.filter((f) => f.startsWith(`${p}/`)).map((f) => `./${f.slice(p.length + 1)}`),
      message,
    })),
  ];
});

/** Packages (and node: builtins) a folder may not import: a regex on the import's specifier. */
const packageRule = (files, regex, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ regex, message }] }] },
});

export default defineConfig(
  { ignores: ['node_modules/', 'build/', '.longhaul/', 'bench/results/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // import-x follows only files it can parse: the TypeScript sources too, with their `.js`
      // specifiers resolved to the `.ts` files as tsc does.
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      // `const { name: _name, ...rest } = x` is how the code leaves a property out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // An `async` method with no await is how the code keeps a throw a rejection where the
      // interface returns a Promise (PayloadCodec.decode, activities): removing it would change that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // First, so that the stricter rules of common/, workflows/ and simulator/ below replace it there.
    ...packageRule(
      ['**/*.ts'],
      '^@modelcontextprotocol/',
      'The MCP SDK is for tools/mcp/ only (and the test servers): the rest reaches MCP through its ToolDefinitions.',
    ),
    ignores: ['tools/mcp/**', 'test/**'],
  },
  packageRule(
    ['common/**'],
    '^(?!zod$|@temporalio/common$|\\.)',
    'common/ is loaded by workflow code: it may import only zod and @temporalio/common.',
  ),
  packageRule(
    ['workflows/**'],
    '^(?!@temporalio/workflow$|\\.)',
    'Workflow code runs in the deterministic sandbox: only @temporalio/workflow and common/ (no node: builtins, no SDKs).',
  ),
  packageRule(['simulator/**'], '^(?!node:|zod$|\\.)', 'The simulator runs on its own: node: builtins and zod only.'),
  {
    // Plain JavaScript (bin/, scripts/, config/failure-converter.cjs, this file) is not in a
    // TypeScript project, so it gets no type-aware rules.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
  {
    // Tests read what the code under test prints and records (CLI JSON, histories, spans) as
    // untyped JSON, and match it with vitest's asymmetric matchers, which are typed any.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
