// A real OpenID provider for Gatehouse's tests and `make run`, built on the oidc-provider
// package. Never for production: users, passwords and clients come from the test harness.
//
// Configuration is one JSON document in GATEHOUSE_OIDC_PROVIDER_CONFIG (not argv, which other
// users of the machine can read):
//   { "port": 43121,
//     "users": { "alice": { "password": "...", "groups": ["requesters"], "email": "..." } },
//     "clients": [ oidc-provider client metadata, ... ],
//     "resources": { "urn:gatehouse": { "scope": "gatehouse" } },
//     "defaultResource": "urn:gatehouse" }
// The issuer is http://127.0.0.1:<port>. Signing keys are generated at every start.
//
// Sign-in pages are our own small forms (the package's dev interactions accept any password):
// GET /interaction/:uid shows a login or consent form; POST .../login checks the password;
// POST .../confirm grants what was asked.

import crypto from "node:crypto";
import http from "node:http";
import { Provider } from "oidc-provider";

const config = JSON.parse(process.env.GATEHOUSE_OIDC_PROVIDER_CONFIG ?? "{}");
const issuer = `http://127.0.0.1:${config.port}`;
const users = config.users ?? {};
const resources = config.resources ?? {};

function signingKeys() {
  const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  return [
    { ...rsa.export({ format: "jwk" }), kid: "rs256-1", alg: "RS256", use: "sig" },
    { ...ec.export({ format: "jwk" }), kid: "es256-1", alg: "ES256", use: "sig" },
  ];
}

async function findAccount(_ctx, sub) {
  const user = users[sub];
  if (!user) return undefined;
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        preferred_username: user.preferred_username ?? sub,
        name: user.name ?? sub,
        email: user.email ?? `${sub}@example.test`,
        email_verified: true,
        groups: user.groups ?? [],
      };
    },
  };
}

function isMachineClient(client) {
  return !client.grantTypes.includes("authorization_code");
}

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  findAccount,
  jwks: { keys: signingKeys() },
  cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  scopes: ["openid", "offline_access", "email", "profile", "groups"],
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // RFC 8628, for `gatehouse login` (a public client with token_endpoint_auth_method none).
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Machine clients get a JWT access token for the default resource (Gatehouse's
      // token exchange verifies it against the JWKS); browser sign-ins keep the opaque
      // token that the userinfo endpoint accepts.
      defaultResource: (_ctx, client, oneOf) =>
        oneOf ?? (isMachineClient(client) ? config.defaultResource : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, indicator) => {
        const resource = resources[indicator];
        if (!resource) throw new Error(`unknown resource ${indicator}`);
        return {
          scope: resource.scope ?? "",
          audience: indicator,
          accessTokenTTL: resource.ttl ?? 300,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: resource.alg ?? "RS256" } },
        };
      },
    },
  },
  ttl: { AccessToken: 300, ClientCredentials: 300, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
});

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginForm(uid, error) {
  return page("Sign in to the test provider", `
${error ? `<p role="alert">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label for="login">Username</label> <input id="login" name="login" autofocus required>
  <label for="password">Password</label> <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
</form>`);
}

function consentForm(uid, details) {
  const scopes = (details.missingOIDCScope ?? []).map(escape).join(", ");
  return page("Allow access?", `<p>The application asks for: ${scopes || "no new scopes"}.</p>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit">Allow</button></form>`);
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

async function consent(details) {
  const { prompt, grantId, session, params } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scope.join(" "));
  }
  return { consent: { grantId: await grant.save() } };
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === "GET") {
    return details.prompt.name === "login"
      ? send(res, 200, loginForm(uid))
      : send(res, 200, consentForm(uid, details.prompt.details));
  }
  if (action === "login") {
    const form = await readForm(req);
    const user = users[form.get("login")];
    if (!user || user.password !== form.get("password")) {
      return send(res, 401, loginForm(uid, "Wrong username or password."));
    }
    const result = { login: { accountId: form.get("login") } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action === "confirm") {
    return provider.interactionFinished(req, res, await consent(details), { mergeWithLastSubmission: true });
  }
  return send(res, 404, page("Not found", ""));
}

const oidcCallback = provider.callback();
const server = http.createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec(req.url.split("?")[0]);
  if (!match) return oidcCallback(req, res);
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (error) {
    send(res, 400, page("Sign-in failed", `<p role="alert">${escape(error.message)}</p>`));
  }
});

server.listen(config.port, "127.0.0.1", () => {
  console.log(`test OpenID provider listening, issuer ${issuer}`);
});

// Everything lives in memory; there is nothing to flush.
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
