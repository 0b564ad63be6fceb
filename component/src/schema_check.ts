/**
 * Checks and copies values by the engine's schema (`generated/schema.ts`), the way the Python
 * package checks requests by it: one walker over the subset of JSON Schema schemars writes.
 * A keyword it does not know fails the value, so a new kind of rule cannot pass unchecked.
 *
 * What the schema cannot say, and the protocol must, comes in as `Bounds`: no string longer
 * than `maxString` (names, labels), no map key empty or longer.
 */
import { DEFS, type Schema } from "./generated/schema";

export interface Bounds {
  maxString: number;
}

const NOTES = new Set(["format"]);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

const resolve = (s: Schema): Schema => (s.$ref ? DEFS[s.$ref.replace("#/$defs/", "")] : s);

function isKind(x: unknown, kind: string): boolean {
  switch (kind) {
    case "object":
      return isObj(x);
    case "array":
      return Array.isArray(x);
    case "string":
      return typeof x === "string";
    case "integer":
      return Number.isSafeInteger(x);
    // NaN and infinities are numbers in JS, but not JSON: never part of a result.
    case "number":
      return typeof x === "number" && Number.isFinite(x);
    case "boolean":
      return typeof x === "boolean";
    case "null":
      return x === null;
    default:
      return false;
  }
}

/** Whether `x` is a valid `definition` (a name of the schema's `$defs`) within `bounds`. */
export function conforms(x: unknown, definition: string, bounds: Bounds): boolean {
  return walk(x, DEFS[definition], bounds);
}

function walk(x: unknown, s: Schema, bounds: Bounds): boolean {
  for (const [keyword, rule] of Object.entries(s)) {
    if (!check(keyword, rule, x, s, bounds)) return false;
  }
  return true;
}

function check(keyword: string, rule: any, x: unknown, s: Schema, bounds: Bounds): boolean {
  switch (keyword) {
    case "$ref":
      return walk(x, resolve(s), bounds);
    case "type": {
      const kinds: string[] = Array.isArray(rule) ? rule : [rule];
      if (!kinds.some((k) => isKind(x, k))) return false;
      return typeof x !== "string" || x.length <= bounds.maxString;
    }
    case "enum":
      return (rule as unknown[]).includes(x);
    case "const":
      return x === rule;
    case "oneOf":
      return (rule as Schema[]).filter((o) => walk(x, o, bounds)).length === 1;
    case "anyOf":
      return (rule as Schema[]).some((o) => walk(x, o, bounds));
    case "not":
      return !walk(x, rule, bounds);
    case "properties":
      return !isObj(x) || Object.entries(rule as Record<string, Schema>).every(([k, sub]) => !(k in x) || walk(x[k], sub, bounds));
    case "required":
      return !isObj(x) || (rule as string[]).every((k) => k in x);
    case "additionalProperties": {
      if (!isObj(x)) return true;
      const declared = Object.keys(s.properties ?? {});
      const extra = Object.keys(x).filter((k) => !declared.includes(k));
      if (rule === false) return extra.length === 0;
      return extra.every((k) => k.length > 0 && k.length <= bounds.maxString && walk(x[k], rule, bounds));
    }
    case "items":
      return !Array.isArray(x) || x.every((item) => walk(item, rule, bounds));
    case "minItems":
      return !Array.isArray(x) || x.length >= rule;
    case "maxItems":
      return !Array.isArray(x) || x.length <= rule;
    case "uniqueItems":
      return !Array.isArray(x) || !rule || new Set(x.map((v) => JSON.stringify(v))).size === x.length;
    case "minimum":
      return typeof x !== "number" || x >= rule;
    case "maximum":
      return typeof x !== "number" || x <= rule;
    case "exclusiveMinimum":
      return typeof x !== "number" || x > rule;
    case "minLength":
      return typeof x !== "string" || x.length >= rule;
    case "maxLength":
      return typeof x !== "string" || x.length <= rule;
    case "pattern":
      return typeof x !== "string" || new RegExp(rule, "u").test(x);
    default:
      return NOTES.has(keyword);
  }
}

/**
 * A copy of `x` (already checked by `conforms`) that holds only what `definition` declares:
 * nothing else can ride along to Python.
 */
export function copyAs<T>(x: T, definition: string): T {
  return copy(x, DEFS[definition]) as T;
}

function copy(x: unknown, s: Schema): unknown {
  s = resolve(s);
  const variants: Schema[] | undefined = s.oneOf ?? s.anyOf;
  if (variants) {
    // The variant the value is: checked already, so any valid bound will do.
    const match = variants.find((o) => walk(x, o, { maxString: Infinity }));
    return match ? copy(x, match) : undefined;
  }
  if (Array.isArray(x)) return x.map((item) => copy(item, s.items ?? {}));
  if (!isObj(x)) return x;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    if (k in x) out[k] = copy(x[k], sub);
  }
  if (isObj(s.additionalProperties)) {
    for (const k of Object.keys(x)) if (!(k in out)) out[k] = copy(x[k], s.additionalProperties);
  }
  return out;
}
