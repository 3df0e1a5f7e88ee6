import { parse } from '@cdktf/hcl2json';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Parsed HCL of one directory: every .tf file merged by block type (hcl2json's JSON shape). */
export type Hcl = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const ROOT = new URL('../../', import.meta.url).pathname;
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

export async function parseDir(dir: string, ext = '.tf'): Promise<Hcl> {
  const merged: Hcl = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith(ext)).sort()) {
    const doc = await parse(file, readFileSync(join(dir, file), 'utf8'));
    for (const [kind, value] of Object.entries(doc)) {
      if (kind === 'resource' || kind === 'data') {
        merged[kind] ??= {};
        for (const [type, named] of Object.entries(value as Hcl)) merged[kind][type] = { ...(merged[kind][type] ?? {}), ...(named as Hcl) };
      } else if (Array.isArray(value)) merged[kind] = [...(merged[kind] ?? []), ...value];
      else merged[kind] = { ...(merged[kind] ?? {}), ...(value as Hcl) };
    }
  }
  return merged;
}

/** The one block of a resource (hcl2json wraps each in an array). */
export function resource(hcl: Hcl, type: string, name: string): Hcl {
  const block = hcl.resource?.[type]?.[name]?.[0];
  if (!block) throw new Error(`resource ${type}.${name} not found`);
  return block;
}

/** The one block of a data source. */
export function dataSource(hcl: Hcl, type: string, name: string): Hcl {
  const block = hcl.data?.[type]?.[name]?.[0];
  if (!block) throw new Error(`data ${type}.${name} not found`);
  return block;
}

export function resourcesOfType(hcl: Hcl, type: string): Record<string, Hcl> {
  return Object.fromEntries(Object.entries(hcl.resource?.[type] ?? {}).map(([n, v]) => [n, (v as Hcl[])[0]!]));
}

export function locals(hcl: Hcl): Hcl {
  return Object.assign({}, ...(hcl.locals ?? []));
}

export async function tfvars(env: string): Promise<Hcl> {
  return parse('terraform.tfvars', readFileSync(join(ROOT, 'terraform', 'environments', env, 'terraform.tfvars'), 'utf8'));
}
