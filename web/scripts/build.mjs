// Builds the static site into dist/ (or $PLAZA_WEB_OUT, where the plaza binary's build
// puts it): index.html, one hashed JS bundle and one CSS file, each also gzipped
// (`.gz`) for the server to send as is. Prints the sizes of what a first visit loads.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = process.env.PLAZA_WEB_OUT || join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: join(root, 'app/src/main.tsx') },
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  conditions: ['source'],
  loader: { '.css': 'css' },
  metafile: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
let html = readFileSync(join(root, 'app/index.html'), 'utf8');
html = html
  .replace('<!--CSS-->', css ? `<link rel="stylesheet" href="/assets/${css}">` : '')
  .replace('<!--JS-->', `<script type="module" src="/assets/${js}"></script>`);
writeFileSync(join(dist, 'index.html'), html);
writeFileSync(join(dist, 'favicon.svg'), readFileSync(join(root, 'app/favicon.svg')));

// Pre-compressed copies of everything text-like, made once here instead of per request.
for (const folder of [dist, join(dist, 'assets')]) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.isFile() && /\.(html|js|css|svg|map|txt)$/.test(entry.name)) {
      writeFileSync(join(folder, `${entry.name}.gz`), gzipSync(readFileSync(join(folder, entry.name)), { level: 9 }));
    }
  }
}

let raw = 0;
let gzip = 0;
for (const file of [js, css, 'index.html'].filter(Boolean)) {
  const path = file === 'index.html' ? join(dist, file) : join(dist, 'assets', file);
  const bytes = readFileSync(path);
  const zipped = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gzip += zipped;
  console.log(`${file.padEnd(32)} ${String(bytes.length).padStart(8)} B  ${String(zipped).padStart(7)} B gzip`);
}
console.log(`${'first load'.padEnd(32)} ${String(raw).padStart(8)} B  ${String(gzip).padStart(7)} B gzip`);
