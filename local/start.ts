import { loadConfig } from '../shared/platform/config.js';
import { ConfigError } from '../shared/platform/errors.js';
import { rootLogger } from '../shared/platform/logger.js';
import { startStack } from './stack.js';

/** `npm start`: the platform on embedded defaults, until Ctrl-C. */
async function main(): Promise<void> {
  const started = Date.now();
  const stack = await startStack(process.env, rootLogger);
  const { url, config } = stack;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    [
      '',
      `  Trust & Safety investigation platform — local stack ready in ${secs} s`,
      `  API gateway   ${url}   (data in ${config.dataDir})`,
      `  readiness     curl ${url}/readyz`,
      '',
      '  Next, in another terminal:',
      // tsi defaults to port 8080; on another port it needs to be told where the API is.
      ...(url === 'http://localhost:8080' ? [] : [`    export TSI_URL=${url}`]),
      '    npx tsi investigate email:ban.evader@example.com      # runs as analyst@example.com',
      '    npx tsi investigate --question "who is using voice voice_demo_likeness"',
      '    npx tsi list',
      '    TOKEN=$(npx tsi token lead@example.com)               # a bearer token for curl',
      `    curl -H "Authorization: Bearer $TOKEN" ${url}/v1/investigations`,
      `  API docs      ${url}/v1/docs`,
      '',
      '  Ctrl-C stops the stack; everything is kept for the next `npm start`.',
      '',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n  ${signal}: stopping (finishing in-flight work, saving state)…\n`);
    try {
      await stack.stop();
      process.exit(0);
    } catch (error) {
      rootLogger.error('clean shutdown failed', error);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(`Port ${loadConfig().port} is in use. Stop the other process or run with PORT=<port> npm start.\n`);
    process.exit(2);
  }
  rootLogger.error('local stack failed to start', error);
  process.exit(1);
});
