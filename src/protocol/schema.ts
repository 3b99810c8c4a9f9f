import type { StandardSchemaV1 } from '@standard-schema/spec';

export type { StandardSchemaV1 };

/** What a schema accepts (the caller's side of a payload). */
export type InputOf<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : never;
/** What a schema produces after validation (the receiver's side of a payload). */
export type OutputOf<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : never;

/** A validation outcome: the parsed value, or the issues that rejected it. */
export type Validation<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: readonly SchemaIssue[] };

/** One reason a value failed its schema, with the path to the offending field. */
export interface SchemaIssue {
  readonly message: string;
  readonly path: readonly (string | number)[];
}

function toIssues(issues: readonly StandardSchemaV1.Issue[]): SchemaIssue[] {
  return issues.map((issue) => ({
    message: issue.message,
    path: (issue.path ?? []).map((segment) => {
      const key = typeof segment === 'object' ? segment.key : segment;
      return typeof key === 'number' ? key : String(key);
    }),
  }));
}

function settle<T>(result: StandardSchemaV1.Result<T>): Validation<T> {
  return result.issues ? { ok: false, issues: toIssues(result.issues) } : { ok: true, value: result.value };
}

/**
 * Validates a value with any Standard Schema (zod, valibot, arktype...).
 * Returns synchronously when the schema does, so the common case costs no extra promise.
 */
export function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): Validation<OutputOf<S>> | Promise<Validation<OutputOf<S>>> {
  const result = schema['~standard'].validate(value) as
    | StandardSchemaV1.Result<OutputOf<S>>
    | Promise<StandardSchemaV1.Result<OutputOf<S>>>;
  return result instanceof Promise ? result.then(settle) : settle(result);
}

/** Renders issues as one line, e.g. `priority: Too big: expected number to be <=9`. */
export function describeIssues(issues: readonly SchemaIssue[]): string {
  return issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
