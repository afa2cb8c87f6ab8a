// Internal: how the names users write map onto the names in the price data.

/**
 * OpenTelemetry `gen_ai.provider.name` values (and common spellings) → genai-prices provider ids.
 * Anything not listed is passed through lower-cased; genai-prices then tries its own matchers.
 */
const PROVIDER_ALIASES: ReadonlyMap<string, string> = new Map([
  ['openai', 'openai'],
  ['azure.ai.openai', 'azure'],
  ['azure.ai.inference', 'azure'],
  ['azure_openai', 'azure'],
  ['azure', 'azure'],
  ['anthropic', 'anthropic'],
  ['aws.bedrock', 'aws'],
  ['bedrock', 'aws'],
  ['amazon-bedrock', 'aws'],
  ['aws', 'aws'],
  ['gcp.gemini', 'google'],
  ['gcp.vertex_ai', 'google'],
  ['gcp.gen_ai', 'google'],
  ['vertex_ai', 'google'],
  ['vertexai', 'google'],
  ['gemini', 'google'],
  ['google', 'google'],
  ['x_ai', 'x-ai'],
  ['xai', 'x-ai'],
  ['x-ai', 'x-ai'],
  ['mistral_ai', 'mistral'],
  ['mistralai', 'mistral'],
  ['mistral', 'mistral'],
  ['deepseek', 'deepseek'],
  ['groq', 'groq'],
  ['cohere', 'cohere'],
  ['perplexity', 'perplexity'],
  ['together', 'together'],
  ['together_ai', 'together'],
  ['togetherai', 'together'],
  ['fireworks', 'fireworks'],
  ['fireworks_ai', 'fireworks'],
  ['cerebras', 'cerebras'],
  ['openrouter', 'openrouter'],
  ['moonshot', 'moonshotai'],
  ['moonshotai', 'moonshotai'],
  ['moonshot_ai', 'moonshotai'],
  ['zhipu', 'zhipuai'],
  ['zhipuai', 'zhipuai'],
  ['zai', 'zai'],
  ['z_ai', 'zai'],
  ['voyage', 'voyageai'],
  ['voyageai', 'voyageai'],
  ['cloudflare', 'cloudflare'],
  ['minimax', 'minimax'],
  ['novita', 'novita'],
  ['baseten', 'baseten'],
]);

/** Vendor segments of Bedrock model ids (`anthropic.claude-…`, `meta.llama3-…`) and where they price. */
const BEDROCK_VENDORS: ReadonlyMap<string, string | undefined> = new Map([
  ['anthropic', 'anthropic'],
  ['meta', undefined],
  ['amazon', undefined],
  ['cohere', 'cohere'],
  ['mistral', 'mistral'],
  ['ai21', undefined],
  ['deepseek', 'deepseek'],
  ['openai', 'openai'],
  ['qwen', undefined],
  ['writer', undefined],
  ['moonshot', 'moonshotai'],
]);

const BEDROCK_ID = /^(?:(?:us|eu|apac|ap|global|us-gov|ca|jp|au)\.)?([a-z0-9]+)\.(.+)$/;
const BEDROCK_VERSION = /-v\d+(?::\d+)?$/;
const DATE_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|20\d{6})$/;

/** Canonical provider id for a provider name as callers write it, or undefined for none. */
export function canonicalProvider(provider: string | undefined): string | undefined {
  if (provider === undefined) return undefined;
  const key = provider.trim().toLowerCase();
  if (key === '') return undefined;
  return PROVIDER_ALIASES.get(key) ?? key;
}

/** A (provider, model) pair to look up. */
export interface NameCandidate {
  readonly provider: string | undefined;
  readonly model: string;
}

/**
 * Lookup candidates for a model as the caller wrote it, most specific first: the name as given,
 * Vertex `@` versions, provider prefixes (`openai/gpt-4o`, `openai:gpt-4o`, `models/…`), Bedrock ids
 * (`us.anthropic.claude-…-v1:0`), then without a trailing date; finally, when a provider was
 * given, the same names without it (so the data's own model matchers get a say).
 */
export function nameCandidates(model: string, provider: string | undefined): NameCandidate[] {
  const canonical = canonicalProvider(provider);
  const name = model.trim().toLowerCase();
  const candidates: NameCandidate[] = [];
  const seen = new Set<string>();
  const add = (candidateProvider: string | undefined, candidateModel: string): void => {
    if (candidateModel === '') return;
    const key = `${candidateProvider ?? ''}\u0000${candidateModel}`;
    if (seen.has(key)) return;
    seen.add(key);
    candidates.push({ provider: candidateProvider, model: candidateModel });
  };

  const names: Array<{ provider: string | undefined; model: string }> = [{ provider: canonical, model: name }];
  if (name.includes('@')) names.push({ provider: canonical, model: name.replace('@', '-') });

  const separator = /[/:]/.exec(name);
  if (separator && separator.index > 0) {
    const prefix = name.slice(0, separator.index);
    const rest = name.slice(separator.index + 1);
    const prefixProvider = PROVIDER_ALIASES.get(prefix);
    if (prefixProvider !== undefined) {
      // `openrouter/anthropic/claude…` style chains: the outermost router is not the price.
      names.push({ provider: canonical === 'openrouter' ? canonical : prefixProvider, model: rest });
      if (canonical === 'openrouter') names.push({ provider: prefixProvider, model: rest });
    } else if (separator[0] === '/') {
      names.push({ provider: canonical, model: rest });
    }
  }

  const bedrock = BEDROCK_ID.exec(name);
  if (bedrock && BEDROCK_VENDORS.has(bedrock[1] as string)) {
    const vendorProvider = BEDROCK_VENDORS.get(bedrock[1] as string);
    if (canonical === undefined) names.push({ provider: 'aws', model: name });
    const bare = (bedrock[2] as string).replace(BEDROCK_VERSION, '');
    if (vendorProvider !== undefined) names.push({ provider: vendorProvider, model: bare });
  }

  for (const entry of [...names]) {
    const undated = entry.model.replace(DATE_SUFFIX, '');
    if (undated !== entry.model) names.push({ provider: entry.provider, model: undated });
  }
  for (const entry of names) add(entry.provider, entry.model);
  if (canonical !== undefined) for (const entry of names) add(undefined, entry.model);
  return candidates;
}
