// Builds the SDK (dist/index.js, ESM) and, with --tests, each test file into
// test-out/ for `node --test`. esbuild strips the types; `tsc --noEmit` checks them.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tests = process.argv.includes('--tests');

if (tests) {
  rmSync(join(here, 'test-out'), { recursive: true, force: true });
  const entryPoints = readdirSync(join(here, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(here, 'test', f));
  await build({
    entryPoints,
    outdir: join(here, 'test-out'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
} else {
  await build({
    entryPoints: [join(here, 'src/index.ts')],
    outfile: join(here, 'dist/index.js'),
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    external: ['socket.io-client'],
    sourcemap: true,
    logLevel: 'warning',
  });
}
