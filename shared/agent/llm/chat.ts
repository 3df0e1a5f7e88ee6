import { z } from 'zod';

/**
 * The smallest client for an OpenAI-compatible `POST {endpoint}/chat/completions` with tool
 * calling: one request, bearer key, a hard timeout, and a zod-checked response. Errors carry a
 * short reason safe to store and show (never the key, the prompt or the provider's message).
 */
export class LlmCallError extends Error {
  override name = 'LlmCallError';
}

export interface ChatTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  model: string;
  messages: { role: 'system' | 'user'; content: string }[];
  tools: ChatTool[];
  tool_choice: 'required' | 'auto';
  temperature?: number;
  parallel_tool_calls?: boolean;
}

export interface ToolCall {
  name: string;
  /** The raw JSON text the model produced (parsed and validated by the caller). */
  arguments: string;
}

const ResponseSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          tool_calls: z
            .array(z.object({ type: z.literal('function').optional(), function: z.object({ name: z.string(), arguments: z.string() }) }))
            .nullable()
            .optional(),
        }),
      }),
    )
    .min(1),
});

export interface ChatClientOptions {
  endpoint: string;
  apiKey: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export async function requestToolCalls(options: ChatClientOptions, body: ChatRequest): Promise<ToolCall[]> {
  const url = `${options.endpoint.replace(/\/+$/, '')}/chat/completions`;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${options.apiKey}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const name = (error as { name?: string })?.name;
    throw new LlmCallError(name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${options.timeoutMs} ms` : 'the endpoint could not be reached');
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    throw new LlmCallError(`the response could not be read (HTTP ${response.status})`);
  }
  if (!response.ok) throw new LlmCallError(`the endpoint answered HTTP ${response.status}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LlmCallError('the response is not JSON');
  }
  const parsed = ResponseSchema.safeParse(json);
  if (!parsed.success) throw new LlmCallError('the response is not a chat completion');
  return (parsed.data.choices[0]!.message.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments }));
}
