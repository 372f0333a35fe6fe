#!/usr/bin/env node
// Tests for the TextMate grammar, run from `editors/vscode` with `npm test`:
//
// 1. unit: the `// SYNTAX TEST` files `test/*.test.model`, through `vscode-tmgrammar-test`;
// 2. coverage: every scope the grammar can give appears in at least one of their assertions;
// 3. snapshots: every `.model` file under the repository's `models/` against its snapshot in
//    `test/snap/` (same relative path, `.snap` added), through `vscode-tmgrammar-snap`;
// 4. valid: no token of a `models/` file has an `invalid` scope.
//
// `npm test -- --update` (or `npm run test:update`) rewrites the snapshots after a change to
// the grammar or to a zoo file; review the diff of `test/snap/` before committing it.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const EXT = path.resolve(__dirname, '..');
const REPO = path.resolve(EXT, '..', '..');
const MODELS = path.join(REPO, 'models');
const SNAPS = path.join(__dirname, 'snap');
const GRAMMAR = path.join(EXT, 'syntaxes', 'tinyarch-model.tmLanguage.json');
const SCOPE = 'source.tinyarch-model';
const TOOL = path.dirname(require.resolve('vscode-tmgrammar-test/package.json'));

const update = process.argv.includes('--update');
let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok     ${name}`);
  } else {
    failed++;
    console.log(`FAILED ${name}`);
    if (detail) console.log(detail.replace(/^/gm, '       '));
  }
}

// Files under `dir` whose names end in `suffix`, as paths relative to `dir`, sorted.
function walk(dir, suffix, rel = '') {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, entry.name);
    if (entry.isDirectory()) out.push(...walk(dir, suffix, r));
    else if (entry.isFile() && entry.name.endsWith(suffix)) out.push(r);
  }
  return out.sort();
}

function runTool(bin, args) {
  const r = spawnSync(process.execPath, [path.join(TOOL, 'dist', bin), ...args], {
    cwd: EXT,
    encoding: 'utf8',
  });
  return { ok: r.status === 0, output: (r.stdout || '') + (r.stderr || '') };
}

// 1. Unit tests, one check per file so that the count says how many files passed.
const unitFiles = walk(__dirname, '.test.model');
check('there are grammar unit tests', unitFiles.length > 0);
for (const f of unitFiles) {
  const r = runTool('unit.js', ['--config', 'package.json', path.join('test', f)]);
  check(`unit ${f}`, r.ok, r.ok ? '' : r.output);
}

// 2. Coverage: each `name` in the grammar (a `$1` in a name stands for any word) is asserted.
const grammar = JSON.parse(fs.readFileSync(GRAMMAR, 'utf8'));
const names = new Set();
(function collect(node) {
  if (Array.isArray(node)) node.forEach(collect);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'name' || k === 'contentName') && typeof v === 'string') names.add(v);
      else collect(v);
    }
  }
})(grammar);
names.delete(grammar.name);
const asserted = new Set();
for (const f of unitFiles) {
  for (const line of fs.readFileSync(path.join(__dirname, f), 'utf8').split('\n')) {
    if (/^\/\/\s*(\^|<~*-)/.test(line)) {
      for (const word of line.split(/\s+/)) if (word.endsWith('.tinyarch-model')) asserted.add(word);
    }
  }
}
const unasserted = [...names].filter((n) => {
  const re = new RegExp('^' + n.split(/\$\d+/).map((s) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('\\w[\\w-]*') + '$');
  return ![...asserted].some((a) => re.test(a));
});
check(`every grammar scope is asserted (${names.size} scopes)`, unasserted.length === 0, unasserted.join('\n'));

// 3. Snapshots of the zoo. vscode-tmgrammar-snap keeps `x.model.snap` beside `x.model`, so the
// zoo and its snapshots are laid out together in a temporary directory.
const models = walk(MODELS, '.model');
check(`there are .model files in models/ (${models.length})`, models.length > 0);
const snaps = walk(SNAPS, '.model.snap');
const stale = snaps.filter((s) => !models.includes(s.slice(0, -'.snap'.length)));
const missing = models.filter((m) => !snaps.includes(m + '.snap'));
if (update) {
  for (const s of stale) fs.rmSync(path.join(SNAPS, s));
} else {
  check('no snapshot without its model file', stale.length === 0, stale.map((s) => `test/snap/${s}`).join('\n'));
  check(
    'every model file has a snapshot',
    missing.length === 0,
    missing.map((m) => `models/${m}: run \`npm test -- --update\``).join('\n')
  );
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyarch-snap-'));
try {
  for (const m of models) {
    fs.mkdirSync(path.dirname(path.join(tmp, m)), { recursive: true });
    fs.copyFileSync(path.join(MODELS, m), path.join(tmp, m));
    const snap = path.join(SNAPS, m + '.snap');
    if (fs.existsSync(snap)) fs.copyFileSync(snap, path.join(tmp, m + '.snap'));
  }
  for (const m of models) {
    const args = ['--config', 'package.json', path.join(tmp, m)];
    if (update) args.unshift('--updateSnapshot');
    const r = runTool('snapshot.js', args);
    if (update) {
      fs.mkdirSync(path.dirname(path.join(SNAPS, m)), { recursive: true });
      fs.copyFileSync(path.join(tmp, m + '.snap'), path.join(SNAPS, m + '.snap'));
    }
    check(`snapshot models/${m}`, r.ok, r.ok ? '' : r.output.split(tmp + path.sep).join('models/'));
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

// 4. No `invalid` scope anywhere in the zoo.
async function checkValid() {
  const { createRegistry } = require(path.join(TOOL, 'dist', 'common', 'index'));
  const { getVSCodeTokens } = require(path.join(TOOL, 'dist', 'snapshot', 'index'));
  const registry = createRegistry([{ path: GRAMMAR, scopeName: SCOPE }]);
  for (const m of models) {
    const lines = await getVSCodeTokens(registry, SCOPE, fs.readFileSync(path.join(MODELS, m), 'utf8'));
    const bad = [];
    lines.forEach((line, i) => {
      for (const t of line.tokens) {
        const scope = t.scopes.find((s) => s.startsWith('invalid'));
        if (scope) {
          bad.push(`models/${m}:${i + 1}:${t.startIndex + 1}: ${JSON.stringify(line.src.slice(t.startIndex, t.endIndex))} is ${scope}`);
        }
      }
    });
    check(`no invalid token in models/${m}`, bad.length === 0, bad.join('\n'));
  }
}

checkValid().then(
  () => {
    console.log(`\ngrammar: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  }
);
