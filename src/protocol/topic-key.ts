import type { NamedTopic } from './define.js';

/** Longest parameter value; keys are stored in brokers and must stay small. */
const MAX_PARAM_LENGTH = 128;
const PARAM_VALUE = /^[^.{}\s]+$/;

/**
 * The concrete key of a topic for these parameters: `jobs.{jobId}.logs` + `{jobId: '42'}` →
 * `jobs.42.logs`. Returns an error message instead when a parameter is missing, extra, empty,
 * too long, or contains a dot, a brace or whitespace (which would make keys ambiguous).
 */
export function topicKey(topic: NamedTopic, params: unknown): { key: string } | { error: string } {
  const given = typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {};
  for (const name of Object.keys(given)) {
    if (!topic.params.includes(name)) return { error: `${topic.name} has no parameter "${name}"` };
  }
  const parts: string[] = [];
  for (const segment of topic.pattern.split('.')) {
    if (!segment.startsWith('{')) {
      parts.push(segment);
      continue;
    }
    const name = segment.slice(1, -1);
    const value = given[name];
    if (typeof value !== 'string' || !value)
      return { error: `${topic.name} needs parameter "${name}" as a non-empty string` };
    if (value.length > MAX_PARAM_LENGTH || !PARAM_VALUE.test(value)) {
      return {
        error: `${topic.name}: parameter "${name}" must be up to ${MAX_PARAM_LENGTH} chars without dots, braces or spaces`,
      };
    }
    parts.push(value);
  }
  return { key: parts.join('.') };
}
