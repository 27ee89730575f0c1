#!/usr/bin/env node
// Compiles apps/, libs/ and tools/db/ with SWC into dist/, mirroring the source tree, so each
// service runs as `node dist/apps/<service>/src/main.js`; docs/api (OpenAPI) is copied beside it.
// Type checking is `npm run typecheck`.
//   node tools/scripts/build.mjs [--out <dir>]   (default dist/; the crash-replay harness builds
//   into its own directory, so a concurrent build of dist/ never pulls files from under its services)
import { cp, mkdir, readdir, writeFile, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const swc = require('@swc/core');
const { root, swcOptions } = require('./swc-options.cjs');

const SOURCES = ['apps', 'libs', 'tools/db'];
const SKIP = /\.(spec|integration-spec|e2e-spec|test-helper)\.ts$|\.d\.ts$/;

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p);
    else if (entry.name.endsWith('.ts') && !SKIP.test(entry.name)) yield p;
  }
}

const started = Date.now();
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 && process.argv[outArg + 1] ? resolve(root, process.argv[outArg + 1]) : join(root, 'dist');
await rm(out, { recursive: true, force: true });
const files = [];
for (const src of SOURCES) for await (const f of walk(join(root, src))) files.push(f);
const options = swcOptions();
let done = 0;
await Promise.all(
  files.map(async (file) => {
    const rel = relative(root, file);
    const target = join(out, rel.replace(/\.ts$/, '.js'));
    const result = await swc.transformFile(file, { ...options, filename: file, sourceFileName: relative(dirname(target), file), outputPath: target });
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, `${result.code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
    if (result.map) await writeFile(`${target}.map`, result.map);
    done++;
  }),
);
// The OpenAPI descriptions are read at runtime (served at /docs).
await cp(join(root, 'docs', 'api'), join(out, 'docs', 'api'), { recursive: true });
console.log(`build: ${done} files compiled into ${relative(root, out)}/ in ${Date.now() - started} ms`);
