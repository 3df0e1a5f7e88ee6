import { createHash } from 'node:crypto';

/**
 * A readable, self-contained HTML rendering of the OpenAPI document: no scripts, no CDN (many
 * deployments are offline), a hash-pinned inline style, every value escaped.
 */
type Json = Record<string, any>;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1f24}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.op{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.6em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:700;font-family:monospace}
.GET{color:#0a6}.POST{color:#06c}.PUT{color:#a60}.PATCH{color:#a0a}.DELETE{color:#c22}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:24em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
.dep{color:#c22;font-weight:700}details{margin:.3em 0}nav a{margin-right:.8em}`;

export const DOCS_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function pre(v: unknown): string {
  return `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
}

function anchor(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '-');
}

export function renderDocs(doc: Json): string {
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags?.[0] as string) ?? 'other';
      const M = method.toUpperCase();
      const params = (op.parameters ?? []) as Json[];
      const rows = params
        .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td><td><code>${esc(JSON.stringify(p.schema ?? {}))}</code>${p.description ? `<br>${esc(p.description)}` : ''}</td></tr>`)
        .join('');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
        .map(([status, r]) => {
          const content = Object.entries((r.content ?? {}) as Record<string, Json>);
          const schemas = content.map(([type, c]) => `<div><code>${esc(type)}</code>${c.schema ? `<details><summary>schema</summary>${pre(c.schema)}</details>` : ''}</div>`).join('');
          return `<tr><td>${esc(status)}</td><td>${esc(r.description ?? '')}${schemas}</td></tr>`;
        })
        .join('');
      const html = `<div class="op" id="${esc(anchor(op.operationId ?? `${M} ${path}`))}">
<div><span class="m ${esc(M)}">${esc(M)}</span> <code>${esc(path)}</code> ${op.deprecated ? `<span class="dep">deprecated — sunset ${esc(op['x-sunset'] ?? '')}</span>` : ''}</div>
<p><strong>${esc(op.summary ?? '')}</strong> ${op.security?.length ? '' : '<em>(no authentication)</em>'}</p>
${op.description ? `<p>${esc(op.description)}</p>` : ''}
${rows ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${rows}</table>` : ''}
${body ? `<details><summary>request body (application/json)</summary>${pre(body)}</details>` : ''}
<details><summary>responses</summary><table><tr><th>status</th><th>body</th></tr>${responses}</table></details>
</div>`;
      (byTag.get(tag) ?? byTag.set(tag, []).get(tag)!).push(html);
    }
  }
  const tags = [...byTag.keys()].sort();
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info?.title)}</title><style>${STYLE}</style></head><body>
<h1>${esc(doc.info?.title)}</h1><p>Version ${esc(doc.info?.version)} · OpenAPI ${esc(doc.openapi)} · machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a></p>
<pre>${esc(doc.info?.description ?? '')}</pre>
<nav>${tags.map((t) => `<a href="#tag-${esc(anchor(t))}">${esc(t)}</a>`).join('')}</nav>
${tags.map((t) => `<h2 id="tag-${esc(anchor(t))}">${esc(t)}</h2>${byTag.get(t)!.join('\n')}`).join('\n')}
<h2>Schemas</h2>${Object.entries((doc.components?.schemas ?? {}) as Json)
    .map(([name, s]) => `<details id="schema-${esc(anchor(name))}"><summary><code>${esc(name)}</code></summary>${pre(s)}</details>`)
    .join('')}
</body></html>`;
}
