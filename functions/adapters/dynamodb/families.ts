import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CONSUMED_SLOTS,
  RENEWAL_CLAUSES,
  rotationClauses,
  type CustomerIdentity,
  type FamilyKind,
  type RefreshFamily,
  type RenewalClause,
  type RotationClause,
  type SessionContext,
  type TokenSlot,
} from '../../domain/refresh-family.js';
import type { RotationOutcome, RotationWrite, SessionStore } from '../../ports.js';
import { json, n, num, optNum, optStr, s, selectorOf, str, type Item } from './item.js';
import { tokenKey } from './keys.js';
import type { DynamoTable } from './table.js';

/**
 * Session families: one item per family at `T#<selector>` (`kind` = `session`), shared with
 * standalone access tokens so any presented token is one GetItem away. It holds the hashes of the
 * current access and refresh tokens (never a token), the previous access token, the last rotation
 * (for retries inside the grace window) and c0…c7: hashes of recently consumed refresh tokens, by
 * generation, for theft detection. `ttl` is the last expiry of its tokens.
 */
/**
 * The rotation rule of domain/refresh-family.ts (ROTATION_CLAUSES, `rotationRefusal`) as
 * condition terms, one per clause; the store contract test holds the two to the same answers.
 */
const ROTATION_TERMS: Record<Exclude<RotationClause, 'scope'>, string> & { scope: (count: number) => string } = {
  exists: 'kind = :session', // the item under T#<selector> is a family, not a service token
  kind: 'sessionKind = :kind',
  tenant: 'tenant = :tenant',
  live: 'attribute_not_exists(revokedAt)',
  // The new expiries may lie beyond the family's end; the end still holds.
  beforeEnd: '(attribute_not_exists(endsAt) OR endsAt > :now)',
  current: 'refH = :presented',
  unexpired: 'refExp > :now',
  client: 'clientId = :client',
  legalEntity: 'contains(les, :le)', // les is absent when the customer holds none
  // One term per scope asked for: gsc, the granted scopes' string set, is absent when none were.
  scope: (count) => Array.from({ length: count }, (_, i) => `contains(gsc, :sc${i})`).join(' AND '),
};

/** A grant family's access token that carries the family's whole scope: its `accSc` / `paccSc`. */
const FAMILY_SCOPE = 'null';

/** The renewal rule of domain/refresh-family.ts (RENEWAL_CLAUSES, `renewalRefusal`), likewise. */
const RENEWAL_TERMS: Record<RenewalClause, string> = {
  exists: 'kind = :session',
  anonymous: 'sessionKind = :anonymous',
  tenant: 'tenant = :tenant',
  client: 'clientId = :client',
  access: '(accH = :presented OR paccH = :presented)',
  refreshUnexpired: 'refExp > :now',
  live: 'attribute_not_exists(revokedAt)',
  beforeEnd: '(attribute_not_exists(endsAt) OR endsAt > :now)',
};
const RENEWAL_CONDITION = (Object.keys(RENEWAL_CLAUSES) as RenewalClause[]).map((c) => RENEWAL_TERMS[c]).join(' AND ');

export class DynamoFamilies implements Omit<SessionStore, 'indexCustomerSession' | 'listCustomerSessions' | 'unindexCustomerSessions'> {
  constructor(private readonly table: DynamoTable) {}

  // --- sessions --------------------------------------------------------------------------------

  async createSession(family: RefreshFamily): Promise<void> {
    await this.table.create(toFamilyItem(family));
  }

  async findSession(selector: string): Promise<RefreshFamily | undefined> {
    const item = await this.table.get(tokenKey(selector));
    return item && str(item, 'kind') === 'session' ? fromFamilyItem(item) : undefined;
  }

  async rotateSession(
    selector: string,
    expected: { presentedHash: string; tenant: string; kind: FamilyKind; clientId?: string; now: number },
    next: RotationWrite,
  ): Promise<RotationOutcome> {
    const names: Record<string, string> = { '#ttl': 'ttl' };
    const values: Item = {
      ':session': s('session'),
      ':kind': s(expected.kind),
      ':presented': s(expected.presentedHash),
      ':now': n(expected.now),
      ':tenant': s(expected.tenant),
      ':at': s(next.access.hash),
      ':atExp': n(next.access.expiresAt),
      ':rt': s(next.refresh.hash),
      ':rtExp': n(next.refresh.expiresAt),
      ':consumed': s(next.rotation.consumedHash),
      ':rotatedAt': n(next.rotation.rotatedAt),
      ':sealed': s(next.rotation.sealedSuccessor),
      ':ttl': n(Math.max(next.access.expiresAt, next.refresh.expiresAt)),
    };
    // The rotation rule's clauses (domain/refresh-family.ts), one condition term each.
    const scopes = next.access.scopes;
    const conditions = rotationClauses({ clientId: expected.clientId, legalEntityId: next.legalEntityId, scopes }).map((c) =>
      c === 'scope' ? ROTATION_TERMS.scope(scopes!.length) : ROTATION_TERMS[c],
    );
    // What a rotation writes (applyRotation in domain/refresh-family.ts), as an update expression.
    const updates = [
      // The access token in flight keeps working: the current one becomes the previous one.
      'paccH = accH',
      'paccExp = accExp',
      'accH = :at',
      'accExp = :atExp',
      'refH = :rt',
      'refExp = :rtExp',
      'rotC = :consumed',
      'rotAt = :rotatedAt',
      'rotS = :sealed',
      '#ttl = :ttl',
      '#consumedSlot = :consumed',
    ];
    if (next.legacyEndsAt !== undefined) {
      updates.push('endsAt = if_not_exists(endsAt, :legacyEnd)');
      values[':legacyEnd'] = n(next.legacyEndsAt);
    }
    names['#consumedSlot'] = `c${next.consumedSlot}`;
    if (expected.clientId !== undefined) values[':client'] = s(expected.clientId);
    if (next.legalEntityId !== undefined) {
      updates.push('le = :le');
      values[':le'] = s(next.legalEntityId);
    }
    scopes?.forEach((scope, i) => {
      values[`:sc${i}`] = s(scope);
    });
    if (expected.kind === 'grant' || scopes !== undefined) {
      // Each access token keeps its own scope: the one in flight keeps the scope it was issued with.
      updates.push('paccSc = if_not_exists(accSc, :familyScope)', 'accSc = :accSc');
      values[':familyScope'] = s(FAMILY_SCOPE);
      values[':accSc'] = s(JSON.stringify(scopes ?? null));
    }
    let updated: Item | undefined;
    const won = await this.table.conditional(async () => {
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tokenKey(selector),
          UpdateExpression: `SET ${updates.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return won && updated ? { outcome: 'rotated', family: fromFamilyItem(updated) } : { outcome: 'conflict' };
  }

  async renewAccess(
    selector: string,
    expected: { presentedHash: string; tenant: string; clientId: string; now: number },
    access: TokenSlot,
  ): Promise<RefreshFamily | undefined> {
    let updated: Item | undefined;
    const renewed = await this.table.conditional(async () => {
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tokenKey(selector),
          UpdateExpression: 'SET paccH = accH, paccExp = accExp, accH = :at, accExp = :atExp',
          ConditionExpression: RENEWAL_CONDITION,
          ExpressionAttributeValues: {
            ':session': s('session'),
            ':anonymous': s('anonymous'),
            ':tenant': s(expected.tenant),
            ':client': s(expected.clientId),
            ':presented': s(expected.presentedHash),
            ':now': n(expected.now),
            ':at': s(access.hash),
            ':atExp': n(access.expiresAt),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return renewed && updated ? fromFamilyItem(updated) : undefined;
  }

  async revokeSession(selector: string, now: number, matching?: { hash: string; tenant: string; clientId?: string }): Promise<boolean> {
    const values: Item = { ':now': n(now), ':session': s('session') };
    let condition = 'kind = :session';
    if (matching) {
      // A token of an already ended family matches nothing: logging out twice is a 401.
      condition += ' AND attribute_not_exists(revokedAt) AND tenant = :tenant AND (accH = :hash OR paccH = :hash OR refH = :hash)';
      values[':tenant'] = s(matching.tenant);
      values[':hash'] = s(matching.hash);
      if (matching.clientId !== undefined) {
        condition += ' AND clientId = :client';
        values[':client'] = s(matching.clientId);
      }
    }
    return this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tokenKey(selector),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * Replaces the set and, in the same write, drops a selected legal entity the set no longer
   * holds (so re-adding it later does not bring the old selection back). Two attempts: with the
   * selection dropped if it is outside the new set, else the set alone.
   */
  async setSessionLegalEntities(selector: string, legalEntities: string[]): Promise<boolean> {
    const wanted = [...new Set(legalEntities)];
    const update = (expression: string, extraCondition: string, values: Item) =>
      this.table.conditional(() =>
        this.table.client.send(
          new UpdateItemCommand({
            TableName: this.table.tableName,
            Key: tokenKey(selector),
            UpdateExpression: expression,
            ConditionExpression: `kind = :session AND sessionKind = :customer${extraCondition}`,
            ExpressionAttributeValues: { ':session': s('session'), ':customer': s('customer'), ...values },
          }),
        ),
      );
    // A string set cannot be empty: no legal entities is no attribute, and no selection.
    if (wanted.length === 0) return update('REMOVE les, le', '', {});
    const les: Item = { ':les': { SS: wanted } };
    if (wanted.length <= 99) {
      const operands = Object.fromEntries(wanted.map((le, i) => [`:le${i}`, s(le)]));
      const outside = ` AND attribute_exists(le) AND NOT (le IN (${Object.keys(operands).join(', ')}))`;
      if (await update('SET les = :les REMOVE le', outside, { ...les, ...operands })) return true;
    }
    return update('SET les = :les', '', les);
  }
}

function toFamilyItem(family: RefreshFamily): Item {
  const item: Item = {
    ...tokenKey(family.selector),
    kind: s('session'),
    sessionKind: s(family.kind),
    tenant: s(family.tenant),
    clientId: s(family.clientId),
    sessionId: s(family.sessionId),
    iat: n(family.issuedAt),
    ctx: s(JSON.stringify(family.context)),
    accH: s(family.access.hash),
    accExp: n(family.access.expiresAt),
    refH: s(family.refresh.hash),
    refExp: n(family.refresh.expiresAt),
    ttl: n(Math.max(family.access.expiresAt, family.refresh.expiresAt)),
  };
  if (family.endsAt !== undefined) item.endsAt = n(family.endsAt);
  if (family.scopes !== undefined) {
    // A string set, so the rotation's condition can check a narrower scope with contains(); a
    // set cannot be empty, so no granted scope is no attribute.
    if (family.scopes.length > 0) item.gsc = { SS: family.scopes };
    item.accSc = s(JSON.stringify(family.access.scopes ?? null));
  }
  if (family.customer) {
    const { legalEntityId, legalEntities, ...identity } = family.customer;
    item.customer = s(JSON.stringify(identity));
    // A string set, so the rotation's condition can check a legal entity with contains().
    if (legalEntities.length > 0) item.les = { SS: legalEntities };
    if (legalEntityId !== undefined) item.le = s(legalEntityId);
  }
  return item;
}

export function fromFamilyItem(item: Item): RefreshFamily {
  const family: RefreshFamily = {
    selector: selectorOf(item),
    kind: str(item, 'sessionKind') as RefreshFamily['kind'],
    tenant: str(item, 'tenant'),
    clientId: str(item, 'clientId'),
    sessionId: str(item, 'sessionId'),
    issuedAt: num(item, 'iat'),
    context: json<SessionContext>(item, 'ctx'),
    access: { hash: str(item, 'accH'), expiresAt: num(item, 'accExp') },
    refresh: { hash: str(item, 'refH'), expiresAt: num(item, 'refExp') },
    consumedHashes: [],
  };
  const accessScopes = slotScopes(item, 'accSc');
  if (accessScopes) family.access.scopes = accessScopes;
  const previousAccess = optStr(item, 'paccH');
  if (previousAccess !== undefined) {
    family.previousAccess = { hash: previousAccess, expiresAt: num(item, 'paccExp') };
    const previousScopes = slotScopes(item, 'paccSc');
    if (previousScopes) family.previousAccess.scopes = previousScopes;
  }
  if (family.kind === 'grant') family.scopes = item.gsc?.SS ?? [];
  const consumed = optStr(item, 'rotC');
  if (consumed !== undefined) {
    family.rotation = { consumedHash: consumed, rotatedAt: num(item, 'rotAt'), sealedSuccessor: str(item, 'rotS') };
  }
  for (let slot = 0; slot < CONSUMED_SLOTS; slot++) {
    const hash = optStr(item, `c${slot}`);
    if (hash !== undefined) family.consumedHashes.push(hash);
  }
  const revokedAt = optNum(item, 'revokedAt');
  if (revokedAt !== undefined) family.revokedAt = revokedAt;
  const endsAt = optNum(item, 'endsAt');
  if (endsAt !== undefined) family.endsAt = endsAt;
  const customer = optStr(item, 'customer');
  if (customer !== undefined) {
    const identity: CustomerIdentity = {
      ...json<Omit<CustomerIdentity, 'legalEntities' | 'legalEntityId'>>(item, 'customer'),
      legalEntities: item.les?.SS ?? [],
    };
    const legalEntityId = optStr(item, 'le');
    if (legalEntityId !== undefined) identity.legalEntityId = legalEntityId;
    family.customer = identity;
  }
  return family;
}

/** An access token's own scope (`accSc`, `paccSc`): a JSON array when narrowed, else absent or `null`. */
function slotScopes(item: Item, name: string): string[] | undefined {
  return optStr(item, name) === undefined ? undefined : (json<string[] | null>(item, name) ?? undefined);
}
