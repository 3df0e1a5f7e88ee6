/**
 * The text of a node:util parseArgs error without its trailing advice about `--` (which names
 * parseArgs internals a user cannot act on). Every `tsi` command's option parser reports through it.
 */
export function parseErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\. To specify a positional argument.*$/s, '');
}
