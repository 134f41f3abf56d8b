/** A tiny storefront client for the Emporix paths, as existing storefront code calls them. */

export interface Answer<T = Record<string, any>> {
  status: number;
  headers: Headers;
  body: T;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A token's selector, its first 16 bytes: the key of its item in the table. */
export const selectorOf = (token: string): string => Buffer.from(token, 'base64url').subarray(0, 16).toString('base64url');

export class Storefront {
  constructor(
    readonly url: string,
    readonly tenant = 'acme',
    readonly clientId = 'storefront-web',
  ) {}

  anonymousLogin(extra: Record<string, string> = {}): Promise<Answer> {
    const query = new URLSearchParams({ tenant: this.tenant, client_id: this.clientId, ...extra });
    return fetch(`${this.url}/customerlogin/auth/anonymous/login?${query}`).then(answer);
  }

  anonymousRefresh(params: Record<string, string>): Promise<Answer> {
    const query = new URLSearchParams({ tenant: this.tenant, client_id: this.clientId, ...params });
    return fetch(`${this.url}/customerlogin/auth/anonymous/refresh?${query}`).then(answer);
  }

  login(anonymousToken: string | undefined, email: string, password: string, tenant = this.tenant): Promise<Answer> {
    return fetch(`${this.url}/customer/${tenant}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(anonymousToken ? { authorization: `Bearer ${anonymousToken}` } : {}) },
      body: JSON.stringify({ email, password }),
    }).then(answer);
  }

  refresh(refreshToken: string, options: { legalEntityId?: string; bearer?: string; tenant?: string } = {}): Promise<Answer> {
    const query = new URLSearchParams({ refreshToken, ...(options.legalEntityId ? { legalEntityId: options.legalEntityId } : {}) });
    return fetch(`${this.url}/customer/${options.tenant ?? this.tenant}/refreshauthtoken?${query}`, {
      headers: options.bearer ? { authorization: `Bearer ${options.bearer}` } : {},
    }).then(answer);
  }

  validate(accessToken: string, tenant = this.tenant): Promise<Answer> {
    return fetch(`${this.url}/customer/${tenant}/validateauthtoken`, { headers: { authorization: `Bearer ${accessToken}` } }).then(answer);
  }

  logout(accessToken: string, tenant = this.tenant): Promise<Answer> {
    return fetch(`${this.url}/customer/${tenant}/logout?${new URLSearchParams({ accessToken })}`).then(answer);
  }

  /** Anonymous login, then customer login: the usual storefront sequence. */
  async customer(email = 'ann@example.com', password = 'correct-horse') {
    const anonymous = await this.anonymousLogin();
    const login = await this.login(anonymous.body.access_token, email, password);
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    return { anonymous: anonymous.body, login: login.body };
  }
}

export const INVALID_TOKEN = { fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } };
export const EXPIRED_TOKEN = {
  fault: { faultstring: 'Access Token expired', detail: { errorcode: 'keymanagement.service.access_token_expired' } },
};
export const INVALID_REFRESH = { fault: { faultstring: 'Invalid refresh token', detail: { errorcode: 'oauth.v2.InvalidRefreshToken' } } };
