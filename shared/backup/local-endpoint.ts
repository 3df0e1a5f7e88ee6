import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The running local stack's Firestore emulator address, recorded in the data folder
 * (`<dataDir>/firestore/endpoint.json`) so tools (`tsi backup`) can reach the data while the
 * stack holds the folder's lock. Stale files (a killed stack) are recognised by the pid.
 */
const EndpointSchema = z.strictObject({ host: z.string(), port: z.number().int(), pid: z.number().int() });
export type EmulatorEndpoint = z.infer<typeof EndpointSchema>;

const file = (dataDir: string) => join(dataDir, 'firestore', 'endpoint.json');

export function recordEmulatorEndpoint(dataDir: string, host: string, port: number): void {
  writeFileSync(file(dataDir), JSON.stringify({ host, port, pid: process.pid }) + '\n', { mode: 0o600 });
}

export function clearEmulatorEndpoint(dataDir: string): void {
  rmSync(file(dataDir), { force: true });
}

/** The endpoint of a live stack on this data folder, or null. */
export function readEmulatorEndpoint(dataDir: string): EmulatorEndpoint | null {
  let parsed;
  try {
    parsed = EndpointSchema.safeParse(JSON.parse(readFileSync(file(dataDir), 'utf8')));
  } catch {
    return null;
  }
  if (!parsed.success) return null;
  try {
    process.kill(parsed.data.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return null;
  }
  return parsed.data;
}
