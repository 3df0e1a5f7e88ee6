import { redactText } from '../../shared/platform/redact.js';

/**
 * The redactor runs on every log line and every audit field, so a pathological input must cost
 * about what ordinary text of the same length costs (no regex that goes quadratic on long words,
 * digit runs, colons or percent-escapes). Prints each input's time as a ratio of prose's.
 */
function time(text: string, rounds: number): number {
  const started = performance.now();
  for (let i = 0; i < rounds; i++) redactText(text);
  return (performance.now() - started) / rounds;
}

export async function run(): Promise<void> {
  const size = 64 * 1024;
  const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const prose = fill('Analyst asked about account usr_01jdq3v8m7 at 10:00 after a spike; ');
  const baseline = time(prose, 20);
  process.stdout.write(`prose 64 KiB: ${baseline.toFixed(2)} ms per call (baseline)\n`);
  for (const [name, text] of [
    ['one 64 KiB word', fill('a')],
    ['dotted words', fill('a.')],
    ['digit runs with spaces', fill('1 ')],
    ['colons', fill('1:')],
    ['base64', fill('Ab3/')],
    ['percent-escapes', fill('%41')],
    ['e-mails', fill('bob@example.com ')],
  ] as const) {
    process.stdout.write(`${name.padEnd(24)} ${(time(text, 5) / baseline).toFixed(1)}× prose\n`);
  }
}
