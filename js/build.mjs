// Builds js/peersocket.js, the script Peerbrowser injects into every top-level page,
// from the modules in js/peersocket/ (entry: index.js).
//
//   npm --prefix js ci            once: installs the pinned esbuild
//   npm --prefix js run build     writes js/peersocket.js
//   npm --prefix js run check     exits 1 when js/peersocket.js is not what the modules build
//
// The output is checked in, so the browser needs no Node.js: it only reads the file
// (browser/profile.py). tests/js/test_build.py fails when it is stale.
//
// One IIFE: the modules share one function scope that the page cannot reach into; only
// what index.js puts on window is visible. Strict mode for the whole script, as modules
// are (the banner's directive: esbuild leaves modules' implicit strictness implicit).
// No minification: the script is read in DevTools, and V8 compiles inner functions
// lazily either way.

import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const OUT = `${here}peersocket.js`;

const BANNER = `// GENERATED from js/peersocket/*.js by js/build.mjs (npm --prefix js run build): edit
// those modules, not this file. PeerSocket page API; reference: docs/API.md.
'use strict';`;

export async function build () {
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: ['peersocket/index.js'],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    banner: { js: BANNER },
    write: false,
    logLevel: 'silent'
  });
  return result.outputFiles[0].text;
}

async function main (args) {
  const text = await build();
  if (args.includes('--check')) {
    let current = null;
    try { current = await readFile(OUT, 'utf8'); } catch (e) { /* missing: stale */ }
    if (current !== text) {
      console.error('js/peersocket.js is stale: run `npm --prefix js run build` and commit it');
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(OUT, text);
  console.error(`wrote js/peersocket.js (${text.length} characters)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
