import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { activeFunctions, buildBundles, bundleEnv, eventarcDelivery, freePort, ROOT, startStandIns, type StandIns } from '../bundle/harness.js';
import type { PublishedMessage } from '../../local/pubsub-server.js';
import { EventTypes } from '../../shared/events/model.js';

/**
 * Cold start of each production bundle (dist/functions/<name>, rebuilt here by the production
 * build script) started as Cloud Functions starts it — `functions-framework --target=<entry>
 * --source=<bundle>` in a process of its own, with the environment its manifest entry declares,
 * pointed at the bundle suite's stand-ins (tests/bundle/harness.ts) — against a bare
 * functions-framework hello function of the same signature started the same way, in this run:
 * - time from spawn to the first answer: GET /healthz for the api and, separately, a first
 *   authenticated GET (/v1/me: token verification and a Firestore read of the role binding);
 *   an unauthenticated POST for intake (401, after its start-up); for event functions an Eventarc
 *   delivery of a malformed Pub/Sub message, which they acknowledge;
 * - resident memory (VmRSS) of the process right after that answer.
 * Median of COLDSTART_ROUNDS (default 3) starts each, interleaved with the hello functions' starts.
 */
const ROUNDS = Number(process.env.COLDSTART_ROUNDS ?? 3);
const FRAMEWORK = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
const HELLO = join(ROOT, 'dist', 'coldstart-hello');
const POLL_MS = 5;

type Signature = 'http' | 'cloudevent';
interface Probe {
  label: string;
  request: (url: string) => Promise<Response>;
}
interface Sample {
  ms: number;
  rssMiB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function rssMiB(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kib ? Number(kib) / 1024 : Number.NaN;
}

/** Spawns the framework on `source`, then sends each probe (the first one until it gets an answer); one sample per probe. */
async function coldStart(source: string, target: string, signature: Signature, env: Record<string, string>, probes: Probe[]): Promise<Sample[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, [FRAMEWORK, `--target=${target}`, `--source=${source}`, `--signature-type=${signature}`, `--port=${port}`], {
    cwd: source,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const samples: Sample[] = [];
    for (const [i, probe] of probes.entries()) {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${source} exited with ${child.exitCode}: ${stderr}`);
        if (performance.now() - started > 60_000) throw new Error(`${source} gave no answer to ${probe.label} within 60 s: ${stderr}`);
        try {
          const res = await probe.request(url);
          await res.arrayBuffer();
          if (res.status >= 500) throw new Error(`${source}: ${probe.label} answered ${res.status}: ${stderr}`);
          break;
        } catch (error) {
          // Only the first probe waits for the server to listen; later ones must answer at once.
          if (i > 0 || !(error instanceof TypeError)) throw error;
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      }
      samples.push({ ms: performance.now() - started, rssMiB: rssMiB(child.pid!) });
    }
    return samples;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

function writeHelloFunctions(): void {
  for (const [signature, body] of [
    ['http', `functions.http('hello', (req, res) => { res.send('hello'); });`],
    ['cloudevent', `functions.cloudEvent('hello', () => {});`],
  ] as const) {
    const dir = join(HELLO, signature);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `hello-${signature}`, private: true, type: 'module', main: 'index.js' }) + '\n');
    writeFileSync(join(dir, 'index.js'), `import * as functions from '@google-cloud/functions-framework';\n${body}\n`);
  }
}

/** An Eventarc delivery of a Pub/Sub message whose data is not an event: every event function acknowledges it. */
function malformedDelivery(url: string): Promise<Response> {
  const message: PublishedMessage = { topic: 'projects/bench/topics/tsi-events', messageId: `bench-${Date.now()}`, publishTime: new Date(), orderingKey: '', attributes: { 'ce-type': EventTypes.schedulerReconcile }, data: Buffer.from('not json') };
  return fetch(url, { method: 'POST', ...eventarcDelivery(message, 'binary') });
}

function probesFor(name: string, signature: Signature, standIns: StandIns): Probe[] {
  if (name === 'api') {
    return [
      { label: 'GET /healthz', request: (url) => fetch(`${url}/healthz`) },
      { label: 'first authenticated GET /v1/me', request: (url) => fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${standIns.token('analyst@example.com')}` } }) },
    ];
  }
  if (signature === 'http') return [{ label: 'POST without a token', request: (url) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }) }];
  return [{ label: 'malformed event (acked)', request: malformedDelivery }];
}

const HELLO_PROBE: Record<Signature, Probe> = {
  http: { label: 'GET /', request: (url) => fetch(url) },
  cloudevent: { label: 'malformed event', request: malformedDelivery },
};

export async function run(): Promise<void> {
  const out = (line = '') => process.stdout.write(line + '\n');
  buildBundles();
  writeHelloFunctions();
  const standIns = await startStandIns();
  try {
    const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production' };
    const hello: Record<Signature, Sample[]> = { http: [], cloudevent: [] };
    const rows: { name: string; label: string; signature: Signature; samples: Sample[] }[] = [];
    for (const fn of activeFunctions) {
      const signature: Signature = fn.trigger.kind === 'http' ? 'http' : 'cloudevent';
      const probes = probesFor(fn.name, signature, standIns);
      const perProbe: Sample[][] = probes.map(() => []);
      for (let i = 0; i < ROUNDS; i++) {
        hello[signature].push(...(await coldStart(join(HELLO, signature), 'hello', signature, baseEnv, [HELLO_PROBE[signature]])));
        const samples = await coldStart(join(ROOT, 'dist', 'functions', fn.name), fn.entry_point, signature, bundleEnv(fn, standIns.values), probes);
        samples.forEach((s, p) => perProbe[p]!.push(s));
      }
      probes.forEach((probe, p) => rows.push({ name: fn.name, label: probe.label, signature, samples: perProbe[p]! }));
    }
    const base = {
      http: { ms: median(hello.http.map((s) => s.ms)), rss: median(hello.http.map((s) => s.rssMiB)) },
      cloudevent: { ms: median(hello.cloudevent.map((s) => s.ms)), rss: median(hello.cloudevent.map((s) => s.rssMiB)) },
    };
    out(`hello (functions-framework, same start): http ${base.http.ms.toFixed(0)} ms, ${base.http.rss.toFixed(0)} MiB; cloudevent ${base.cloudevent.ms.toFixed(0)} ms, ${base.cloudevent.rss.toFixed(0)} MiB (median of ${hello.http.length} / ${hello.cloudevent.length})`);
    out(`${'function'.padEnd(14)} ${'first answer'.padEnd(32)} ${'time'.padStart(8)} ${'×hello'.padStart(7)} ${'RSS'.padStart(8)} ${'×hello'.padStart(7)}`);
    for (const r of rows) {
      const ms = median(r.samples.map((s) => s.ms));
      const rss = median(r.samples.map((s) => s.rssMiB));
      const b = base[r.signature];
      out(`${r.name.padEnd(14)} ${r.label.padEnd(32)} ${`${ms.toFixed(0)} ms`.padStart(8)} ${`${(ms / b.ms).toFixed(2)}×`.padStart(7)} ${`${rss.toFixed(0)} MiB`.padStart(8)} ${`${(rss / b.rss).toFixed(2)}×`.padStart(7)}`);
    }
    out(`target: ≤ 1.5× hello in time and RSS (issue 11)`);
  } finally {
    await standIns.stop();
  }
}
