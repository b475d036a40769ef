// OAuth 2.0 authorization server for meso-fhir's SMART Backend Services tests.
//
// oidc-provider (a certified OpenID Provider / OAuth 2.0 server) with only what a hospital's
// backend-services token endpoint offers: the client_credentials grant, clients authenticated
// with private_key_jwt (RS384, ES384), client_secret_basic or client_secret_post, and access
// tokens issued as signed JWTs (RFC 9068) that a FHIR server verifies against /jwks. On top of
// oidc-provider's checks of a client assertion it enforces SMART's rules as strict EHRs do: a
// `kid` header, `sub` = `iss`, `exp` no more than five minutes ahead and `iat` not in the future
// (each within the clock tolerance).
//
//   node tests/auth_server/server.mjs --config FILE [--port N] [--host H] [--watch-stdin]
//
// FILE is JSON: {
//   "audience": "...",          // the `aud` of every access token (the FHIR server checks it)
//   "scopes": ["system/..."],   // the scopes this server knows
//   "accessTokenTTL": 300,      // seconds; a client's own "access_token_ttl" overrides it
//   "clockTolerance": 15,       // seconds of clock difference accepted in client assertions
//   "clients": [{ "client_id", "token_endpoint_auth_method", "jwks" | "client_secret",
//                 "token_endpoint_auth_signing_alg", "scope",
//                 "access_token_ttl", "audience" }]   // the last two: this client's own
// }
// Port 0 (the default) picks a free port. Once ready it prints `LISTENING <port>`; the issuer
// is http://<host>:<port>, the token endpoint /token, the signing keys /jwks. Beside them:
// GET /__stats (token requests: issued and refused, by client and how it authenticated) and
// POST /__reset (zeroes them).
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    // Exit when stdin closes: a test runner that dies without cleaning up leaves no server.
    'watch-stdin': { type: 'boolean', default: false },
  },
});
if (!args.config) throw new Error('--config FILE is required');
const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
const tolerance = config.clockTolerance ?? 15;
const log = (msg) => process.stderr.write(`auth-server: ${msg}\n`);

// Access tokens are signed with a key made at start-up: nothing to commit, nothing to leak.
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'auth-server-1', use: 'sig', alg: 'RS256' };

const ttlByClient = new Map();
const audienceByClient = new Map();
const clients = config.clients.map(({ access_token_ttl: ttl, audience, ...client }) => {
  if (ttl !== undefined) ttlByClient.set(client.client_id, ttl);
  if (audience !== undefined) audienceByClient.set(client.client_id, audience);
  return { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...client };
});

const stats = { token_requests: 0, issued: 0, refused: 0, by_client: {} };
const resetStats = () => Object.assign(stats, { token_requests: 0, issued: 0, refused: 0, by_client: {} });

// SMART's rules for the authentication JWT (client-confidential-asymmetric), as strict EHRs
// apply them: oidc-provider itself checks signature, iss, aud, exp (not past), jti replay.
async function smartAssertionRules(ctx, claims, header) {
  const now = Math.floor(Date.now() / 1000);
  if (!header.kid) throw new errors.InvalidClientAuth('kid header is required');
  if (claims.sub !== claims.iss) throw new errors.InvalidClientAuth('sub must equal iss (the client_id)');
  if (claims.exp > now + 300 + tolerance) {
    throw new errors.InvalidClientAuth('exp is more than five minutes in the future');
  }
  if (claims.iat !== undefined && claims.iat > now + tolerance) {
    throw new errors.InvalidClientAuth('iat is in the future');
  }
}

const server = http.createServer();
server.listen(Number(args.port), args.host, () => {
  const { port } = server.address();
  const issuer = `http://${args.host}:${port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    scopes: config.scopes ?? [],
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384'] },
    clockTolerance: tolerance,
    assertJwtClientAuthClaimsAndHeader: smartAssertionRules,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // SMART clients send no `resource`: every token is for the one FHIR server.
        defaultResource: () => config.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client) => {
          if (resource !== config.audience) throw new errors.InvalidTarget();
          return {
            audience: audienceByClient.get(client.clientId) ?? config.audience,
            scope: (config.scopes ?? []).join(' '),
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttlByClient.get(client.clientId) ?? config.accessTokenTTL ?? 300,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });

  provider.use(async (ctx, next) => {
    if (ctx.path === '/__stats' && ctx.method === 'GET') {
      ctx.body = stats;
      return;
    }
    if (ctx.path === '/__reset' && ctx.method === 'POST') {
      resetStats();
      ctx.body = { reset: true };
      return;
    }
    await next();
    if (ctx.path !== '/token') return;
    stats.token_requests++;
    const id = ctx.oidc?.client?.clientId ?? '(unknown)';
    const mine = (stats.by_client[id] ??= { issued: 0, refused: 0, by_method: {} });
    const key = ctx.status === 200 ? 'issued' : 'refused';
    stats[key]++;
    mine[key]++;
    // How the client authenticated (oidc-provider takes a secret either way, whatever the
    // client registered): the tests check each method is the one sent.
    const params = ctx.oidc?.params ?? {};
    const method = params.client_assertion ? 'private_key_jwt'
      : params.client_secret ? 'client_secret_post'
        : /^basic /i.test(ctx.headers.authorization ?? '') ? 'client_secret_basic' : 'none';
    mine.by_method[method] = (mine.by_method[method] ?? 0) + 1;
  });
  // The reason a client was refused is logged here (the response says only invalid_client).
  provider.on('grant.error', (ctx, err) => log(`token refused (${ctx.oidc?.client?.clientId ?? '?'}): ${err.error_detail ?? err.message}`));

  server.on('request', provider.callback());
  process.stdout.write(`LISTENING ${port}\n`);
});
if (args['watch-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
