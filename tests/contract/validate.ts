import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Validates recorded API responses against the OpenAPI document: the declared status exists for
 * the operation, the content type is the declared one, and a JSON body matches its schema.
 */
export interface Sample {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: unknown;
}

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

export function responseValidator(doc: any) {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: 'urn:tsi:openapi' });
  return (s: Sample): string | null => {
    const op = doc.paths?.[s.path]?.[s.method.toLowerCase()];
    if (!op) return `${s.method} ${s.path}: not in the document`;
    const response = op.responses?.[String(s.status)];
    if (!response) return `${s.method} ${s.path}: status ${s.status} not documented`;
    const type = s.contentType.split(';')[0]!.trim().toLowerCase();
    const content = response.content as Record<string, { schema?: unknown }> | undefined;
    if (!content) return s.body === undefined || s.body === null || s.body === '' ? null : `${s.method} ${s.path} ${s.status}: documented without a body, got one`;
    const declared = Object.keys(content);
    // Reports negotiate their format by query: any declared text type goes, JSON types must match.
    const entry = content[type];
    if (!entry) {
      if (type.startsWith('text/') && s.path.endsWith('/report')) return null;
      return `${s.method} ${s.path} ${s.status}: content type ${type} not among ${declared.join(', ')}`;
    }
    if (!entry.schema || !type.includes('json')) return null;
    const ref = `urn:tsi:openapi#/${pointer('paths', s.path, s.method.toLowerCase(), 'responses', String(s.status), 'content', type, 'schema')}`;
    const validate = ajv.getSchema(ref);
    if (!validate) return `${s.method} ${s.path} ${s.status}: schema not found`;
    if (validate(s.body)) return null;
    const e = validate.errors?.[0];
    return `${s.method} ${s.path} ${s.status}: ${e?.instancePath || '(body)'} ${e?.message} ${e?.params ? JSON.stringify(e.params) : ''}`;
  };
}
