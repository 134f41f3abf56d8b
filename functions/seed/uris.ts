/**
 * The URIs a seed registers for an app client (contract section 8): its redirect URIs and the
 * audience of its JWT access tokens. Each rule returns the problem in words, or undefined, so the
 * seed's error names the field and says what to write instead.
 */

/** RFC 3986 section 2: a URI is ASCII without spaces; anything else is percent-encoded. */
const URI_CHARACTERS = /^[\x21-\x7E]+$/;
/** RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;
/** RFC 8252 section 7.1: a private-use scheme is a reverse domain name, so it holds a dot. */
const REVERSE_DOMAIN_SCHEME = /^[A-Za-z][A-Za-z0-9+-]*(\.[A-Za-z0-9+-]+)+$/;
/** RFC 8252 section 7.3: a loopback redirect names the IP literal. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

/** The parts every absolute URI shares, or the problem with it. */
function absolute(uri: string): { scheme: string; rest: string; url: URL } | string {
  if (uri === '') return 'must be an absolute URI (RFC 3986 section 4.3)';
  if (!URI_CHARACTERS.test(uri)) return 'must be ASCII without spaces or control characters (RFC 3986; percent-encode the rest)';
  const match = SCHEME.exec(uri);
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    // Refused just below.
  }
  if (!match || !url) return 'must be an absolute URI (RFC 3986 section 4.3)';
  return { scheme: match[1]!.toLowerCase(), rest: match[2]!, url };
}

/**
 * Why `uri` cannot be registered as a redirect URI, or undefined when it can. Allowed (RFC 6749
 * section 3.1.2, RFC 8252 sections 7 and 8, RFC 9700 section 2.1): `https://`; a loopback `http`
 * URI naming 127.0.0.1 or [::1] (matched on any port); a private-use scheme of reverse-domain
 * form. Never a fragment, user information, `localhost`, or plain `http` to another host.
 */
export function redirectUriProblem(uri: string): string | undefined {
  const parts = absolute(uri);
  if (typeof parts === 'string') return parts;
  const { scheme, rest, url } = parts;
  if (uri.includes('#')) return 'must not have a fragment (RFC 6749 section 3.1.2)';
  if (url.username || url.password) return 'must not hold user information (user:password@)';
  if (scheme === 'https') {
    // The URL parser would read `https:/host` or `https:///host` as `https://host/`; the client
    // sends the URI as registered, so it has to be the plain form.
    if (!/^\/\/[^/?]/.test(rest)) return 'must be an absolute URI: https:// and a host';
    return undefined;
  }
  if (scheme === 'http') {
    if (url.hostname === 'localhost' || url.hostname.endsWith('.localhost')) {
      return 'must not name localhost: use http://127.0.0.1 or http://[::1] (RFC 8252 section 8.3)';
    }
    if (!LOOPBACK_HOSTS.has(url.hostname)) {
      return 'must use https: plain http is allowed only for a loopback IP literal, 127.0.0.1 or [::1] (RFC 8252 section 7.3)';
    }
    // A loopback redirect matches on any port (domain/authorization.ts redirectUriMatches), which
    // compares URIs in the form the URL parser writes them; any other spelling would never match.
    if (url.href !== uri) return `must be written as ${url.href} (lower case, a path, no :80) to match on any port`;
    return undefined;
  }
  if (!REVERSE_DOMAIN_SCHEME.test(scheme)) {
    return 'must be https, loopback http, or a private-use scheme in reverse-domain form such as com.example.app:/callback (RFC 8252 section 7.1)';
  }
  if (rest === '') return 'must have a path after the scheme, such as com.example.app:/callback';
  return undefined;
}

/**
 * Why `audience` cannot be a JWT access token's `aud`, or undefined. RFC 9068 section 3 takes it
 * from the resource indicator, an absolute URI without a fragment (RFC 8707 section 2).
 */
export function audienceProblem(audience: string): string | undefined {
  const parts = absolute(audience);
  if (typeof parts === 'string') return parts;
  if (audience.includes('#')) return 'must not have a fragment (RFC 8707 section 2)';
  return undefined;
}

/** 127.0.0.0/8 or ::1, as the URL parser writes them (operating.md: "a loopback address"). */
function isLoopbackIp(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]';
}

/**
 * Why `issuer` cannot be an identity provider's issuer, or undefined (operating.md; OpenID Connect
 * Discovery section 4.3: an https URL without query or fragment). Plain http only for a loopback
 * IP literal (tests, local development). The broker fetches `${issuer}/.well-known/...` and
 * compares the tokens' `iss` with it exactly, so it is kept as written.
 */
export function issuerProblem(issuer: string): string | undefined {
  const parts = absolute(issuer);
  if (typeof parts === 'string') return parts;
  const { scheme, rest, url } = parts;
  if (url.username || url.password) return 'must not hold user information (user:password@)';
  if (url.search || issuer.includes('?')) return 'must not have a query (OpenID Connect Discovery section 4.3)';
  if (issuer.includes('#')) return 'must not have a fragment (OpenID Connect Discovery section 4.3)';
  if (scheme === 'https') {
    if (!/^\/\/[^/?]/.test(rest)) return 'must be an absolute URL: https:// and a host';
    return undefined;
  }
  if (scheme === 'http') {
    if (!isLoopbackIp(url.hostname)) {
      return 'must use https: plain http is allowed only for a loopback address such as http://127.0.0.1:8080 (tests, local development)';
    }
    if (!/^\/\/[^/?]/.test(rest)) return 'must be an absolute URL: http:// and a host';
    return undefined;
  }
  return 'must be an https URL (or http on a loopback address)';
}

/**
 * Why `uri` cannot be the redirect URI the broker names to an identity provider, or undefined:
 * the storefront's callback, an absolute https URI, or plain http on a loopback host, `localhost`
 * included. Unlike an app client's redirect URI, the broker never redirects a browser to it: it
 * only repeats it to the provider, which compares it with the one the storefront sent and holds
 * the registration. A storefront run locally (`react-scripts start` serves `http://localhost:3000`,
 * as Emporix's showcase does) must be able to name its own callback.
 */
export function providerRedirectUriProblem(uri: string): string | undefined {
  const parts = absolute(uri);
  if (typeof parts === 'string') return parts;
  const { scheme, rest, url } = parts;
  if (uri.includes('#')) return 'must not have a fragment (RFC 6749 section 3.1.2)';
  if (url.username || url.password) return 'must not hold user information (user:password@)';
  if (scheme !== 'https' && scheme !== 'http') return 'must be an absolute https URI (or http on a loopback host)';
  if (!/^\/\/[^/?]/.test(rest)) return `must be an absolute URI: ${scheme}:// and a host`;
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || isLoopbackIp(url.hostname) || url.hostname === 'localhost';
  if (scheme === 'http' && !loopback) return 'must use https: plain http is allowed only for a loopback host (127.0.0.1, [::1], localhost)';
  return undefined;
}

/**
 * Why `link` cannot be a tenant's confirmation link template (seed `mail.optInLink`), or undefined:
 * it names `{token}` (replaced by the URL-encoded token, domain/mail.ts `optInMail`) and, with it
 * replaced, is an absolute https URL, or plain http on a loopback host (a storefront run locally).
 * A fragment is allowed: a single-page storefront may route on it.
 */
export function optInLinkProblem(link: string): string | undefined {
  if (!link.includes('{token}')) return 'must contain {token}, where the confirmation token goes';
  if (/^[^:/?#]+:\/\/[^/?#]*\{token\}/.test(link)) return 'must not put {token} in the host';
  const filled = link.split('{token}').join('TOKEN');
  const parts = absolute(filled);
  if (typeof parts === 'string') return parts;
  const { scheme, rest, url } = parts;
  if (url.username || url.password) return 'must not hold user information (user:password@)';
  if (scheme !== 'https' && scheme !== 'http') return 'must be an absolute https URL (or http on a loopback host)';
  if (!/^\/\/[^/?#]/.test(rest)) return `must be an absolute URL: ${scheme}:// and a host`;
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || isLoopbackIp(url.hostname) || url.hostname === 'localhost';
  if (scheme === 'http' && !loopback) return 'must use https: plain http is allowed only for a loopback host (127.0.0.1, [::1], localhost)';
  return undefined;
}
