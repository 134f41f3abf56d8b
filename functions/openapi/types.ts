/** JSON values, as the OpenAPI document and its schemas are written. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type JsonObject = { [key: string]: Json };
