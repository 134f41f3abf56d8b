/**
 * The built document and page name the server as this placeholder (a reserved `.invalid` name,
 * RFC 2606, so no configured issuer contains it); it is replaced by the configured issuer when
 * they are served, never by anything from the request (contract, conventions).
 */
export const ISSUER_PLACEHOLDER = 'https://token-broker.invalid';
