// An OpenID provider on loopback for Sekisho's tests (npm oidc-provider).
// Env: ISSUER (e.g. http://127.0.0.1:PORT or …/adfs), PORT, CLIENT_ID,
// CLIENT_SECRET, REDIRECTS (comma-separated; a `*` in one stands for one
// path segment, as an administrator registers each tenant's connection
// callback at a real ADFS once its connection ID is known). With an issuer ending in
// /adfs it answers under that path and puts `upn` in the ID token, as ADFS
// does. Any login name and password are accepted on its dev login page;
// the name is the subject.
import http from 'node:http';
import Provider from 'oidc-provider';

const issuer = process.env.ISSUER;
const adfs = new URL(issuer).pathname.replace(/\/$/, '');
const oidc = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    // A `*` entry is registered with 0 in place of each `*` (a URI must
    // parse) and allowed by its pattern below.
    redirect_uris: process.env.REDIRECTS.split(',').map((u) => u.replaceAll('*', '0')),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({
      sub,
      email: `${sub}@provider.test`,
      email_verified: true,
      upn: `${sub}@corp.test`,
      unique_name: `CORP\\${sub}`,
    }),
  }),
  claims: { openid: ['sub', 'upn', 'unique_name'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['sekisho-test-cookie-key'] },
});
oidc.proxy = false;
const patterns = process.env.REDIRECTS.split(',')
  .filter((u) => u.includes('*'))
  .map((u) => new RegExp(`^${u.split('*').map((p) => p.replace(/[.?+^$|()[\]{}\\/]/g, '\\$&')).join('[^/]+')}$`));
if (patterns.length) {
  const exact = oidc.Client.prototype.redirectUriAllowed;
  oidc.Client.prototype.redirectUriAllowed = function allowed(value) {
    return exact.call(this, value) || patterns.some((re) => re.test(value));
  };
}
const callback = oidc.callback();
http.createServer((req, res) => {
  if (adfs) {
    if (!req.url.startsWith(adfs)) { res.statusCode = 404; return res.end(); }
    req.originalUrl = req.url;
    req.url = req.url.slice(adfs.length) || '/';
  }
  callback(req, res);
}).listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`provider ${issuer} ready`);
});
