import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ISSUE_CLAUSES,
  REDEMPTION_CLAUSES,
  type Authorization,
  type IssueClause,
  type IssuedCode,
  type PendingAuthorization,
  type RedemptionClause,
} from '../../domain/authorization.js';
import type { AuthorizationStore } from '../../ports.js';
import { json, n, num, optNum, optStr, s, str, type Item } from './item.js';
import { AUTHORIZATION_PREFIX, authorizationKey } from './keys.js';
import type { DynamoTable } from './table.js';

/**
 * Authorizations (`AUTHZ#<selector>`, sort key `A`): a pending authorization request, the code it
 * becomes at sign-in and the code's redemption, in one item (domain/authorization.ts). Hashes only:
 * `reqH` (the form's request token), `csrfH` (the browser's CSRF cookie), `codeH` (the code). `ttl`
 * is the end of whatever the item still stands for: the pending request, then the code.
 */

/** The sign-in rule of domain/authorization.ts (ISSUE_CLAUSES), one condition term per clause. */
const ISSUE_TERMS: Record<IssueClause, string> = {
  exists: 'attribute_exists(pk)',
  live: 'attribute_not_exists(revokedAt)',
  request: 'reqH = :request',
  csrf: 'csrfH = :csrf',
  unexpired: 'exp > :now',
  pending: 'attribute_not_exists(codeH)',
};
const ISSUE_CONDITION = (Object.keys(ISSUE_CLAUSES) as IssueClause[]).map((clause) => ISSUE_TERMS[clause]).join(' AND ');

/** The redemption rule (REDEMPTION_CLAUSES), likewise. */
const REDEMPTION_TERMS: Record<RedemptionClause, string> = {
  exists: 'attribute_exists(pk)',
  live: 'attribute_not_exists(revokedAt)',
  code: 'codeH = :code',
  unredeemed: 'attribute_not_exists(redeemedAt)',
  unexpired: 'codeExp > :now',
  client: 'clientId = :client',
  redirectUri: 'redirectUri = :redirectUri',
  verifier: 'challenge = :challenge',
};
const REDEMPTION_CONDITION = (Object.keys(REDEMPTION_CLAUSES) as RedemptionClause[])
  .map((clause) => REDEMPTION_TERMS[clause])
  .join(' AND ');

export class DynamoAuthorizations implements AuthorizationStore {
  constructor(private readonly table: DynamoTable) {}

  async createAuthorization(pending: PendingAuthorization): Promise<void> {
    const item: Item = {
      ...authorizationKey(pending.selector),
      reqH: s(pending.requestHash),
      csrfH: s(pending.csrfHash),
      tenant: s(pending.tenant),
      clientId: s(pending.clientId),
      redirectUri: s(pending.redirectUri),
      challenge: s(pending.codeChallenge),
      scopes: s(JSON.stringify(pending.scopes)),
      createdAt: n(pending.createdAt),
      exp: n(pending.expiresAt),
      ttl: n(pending.expiresAt),
    };
    if (pending.state !== undefined) item.state = s(pending.state);
    await this.table.create(item);
  }

  async findAuthorization(selector: string): Promise<Authorization | undefined> {
    const item = await this.table.get(authorizationKey(selector));
    return item ? fromItem(item) : undefined;
  }

  async issueCode(selector: string, presented: { requestHash: string; csrfHash: string; now: number }, code: IssuedCode): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: authorizationKey(selector),
          UpdateExpression: 'SET codeH = :codeH, codeAt = :codeAt, codeExp = :codeExp, customer = :customer, #ttl = :ttl',
          ConditionExpression: ISSUE_CONDITION,
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':request': s(presented.requestHash),
            ':csrf': s(presented.csrfHash),
            ':now': n(presented.now),
            ':codeH': s(code.codeHash),
            ':codeAt': n(code.issuedAt),
            ':codeExp': n(code.expiresAt),
            ':customer': s(JSON.stringify(code.customer)),
            ':ttl': n(code.expiresAt),
          },
        }),
      ),
    );
  }

  async redeemCode(
    selector: string,
    presented: { codeHash: string; clientId: string; redirectUri: string; codeChallenge: string; now: number },
    familySelector: string,
  ): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: authorizationKey(selector),
          UpdateExpression: 'SET redeemedAt = :now, fam = :family',
          ConditionExpression: REDEMPTION_CONDITION,
          ExpressionAttributeValues: {
            ':code': s(presented.codeHash),
            ':client': s(presented.clientId),
            ':redirectUri': s(presented.redirectUri),
            ':challenge': s(presented.codeChallenge),
            ':now': n(presented.now),
            ':family': s(familySelector),
          },
        }),
      ),
    );
  }

  async revokeAuthorization(selector: string, now: number): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: authorizationKey(selector),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': n(now) },
        }),
      ),
    );
  }
}

function fromItem(item: Item): Authorization {
  const authorization: Authorization = {
    selector: str(item, 'pk').slice(AUTHORIZATION_PREFIX.length),
    requestHash: str(item, 'reqH'),
    csrfHash: str(item, 'csrfH'),
    tenant: str(item, 'tenant'),
    clientId: str(item, 'clientId'),
    redirectUri: str(item, 'redirectUri'),
    codeChallenge: str(item, 'challenge'),
    scopes: json<string[]>(item, 'scopes'),
    createdAt: num(item, 'createdAt'),
    expiresAt: num(item, 'exp'),
  };
  const state = optStr(item, 'state');
  if (state !== undefined) authorization.state = state;
  const codeHash = optStr(item, 'codeH');
  if (codeHash !== undefined) {
    authorization.code = {
      codeHash,
      customer: json<IssuedCode['customer']>(item, 'customer'),
      issuedAt: num(item, 'codeAt'),
      expiresAt: num(item, 'codeExp'),
    };
  }
  const redeemedAt = optNum(item, 'redeemedAt');
  if (redeemedAt !== undefined) authorization.redemption = { redeemedAt, familySelector: str(item, 'fam') };
  const revokedAt = optNum(item, 'revokedAt');
  if (revokedAt !== undefined) authorization.revokedAt = revokedAt;
  return authorization;
}
