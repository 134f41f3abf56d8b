import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { partitionOf, selectorOfPk } from './keys.js';

/**
 * Reading and writing item attributes. A required attribute that is missing (or of another type)
 * is a corrupt item, never an empty string or a zero: `str`, `num` and `bool` throw CorruptItem,
 * which is no domain error, so the edge logs it and answers with a generic 5xx. Attributes an item
 * may lack (a revocation, an absolute end written only since the session-end change, the
 * previous access token) are read with `optStr` / `optNum` and their absence has a meaning.
 */

export type Item = Record<string, AttributeValue>;

/**
 * An item the broker cannot have written: a required attribute is missing. Names the item's
 * partition (`T#`, `CUST#`, ...) and the attribute, never a key or a value (they may be a
 * selector, an email address or a hash).
 */
export class CorruptItem extends Error {
  override readonly name = 'CorruptItem';

  constructor(
    readonly partition: string,
    readonly attribute: string,
  ) {
    super(`corrupt ${partition} item: required attribute '${attribute}' is missing or not of its type`);
  }
}

const corrupt = (item: Item, name: string): CorruptItem => new CorruptItem(partitionOf(item.pk?.S), name);

export const s = (value: string): AttributeValue => ({ S: value });
export const n = (value: number): AttributeValue => ({ N: String(value) });

/** A required string attribute (an empty string is a value, a missing one is corruption). */
export function str(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw corrupt(item, name);
  return value;
}

/** A required number attribute. */
export function num(item: Item, name: string): number {
  const value = item[name]?.N;
  if (value === undefined) throw corrupt(item, name);
  return Number(value);
}

/** A required boolean attribute. */
export function bool(item: Item, name: string): boolean {
  const value = item[name]?.BOOL;
  if (value === undefined) throw corrupt(item, name);
  return value;
}

/** A required JSON document held in a string attribute. */
export function json<T>(item: Item, name: string): T {
  const text = str(item, name);
  try {
    return JSON.parse(text) as T;
  } catch {
    // Not the parser's message: it quotes the text.
    throw corrupt(item, name);
  }
}

export const optStr = (item: Item, name: string): string | undefined => item[name]?.S;
export const optNum = (item: Item, name: string): number | undefined => {
  const value = item[name]?.N;
  return value === undefined ? undefined : Number(value);
};

/** The selector of a token item (an access token or a session family), from its key. */
export const selectorOf = (tokenItem: Item): string => selectorOfPk(str(tokenItem, 'pk'));
