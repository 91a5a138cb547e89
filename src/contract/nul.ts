import type { z } from 'zod';

const MAX_ISSUES = 20;

/**
 * PostgreSQL stores U+0000 in neither `text` nor `jsonb`, so input carrying it anywhere (a value or a key,
 * at any depth) is refused up front as a validation failure at its path, instead of failing the insert.
 * Returns zod-shaped issues, at most 20.
 */
export function nulIssues(value: unknown): z.core.$ZodIssue[] {
  const issues: z.core.$ZodIssue[] = [];
  const walk = (v: unknown, path: PropertyKey[]): void => {
    if (issues.length >= MAX_ISSUES) return;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) issues.push(issue(path, 'must not contain the NUL character (\\u0000)'));
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, [...path, i]));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (key.includes('\u0000'))
          issues.push(issue(path, 'a field name must not contain the NUL character'));
        walk(item, [...path, key]);
      }
    }
  };
  walk(value, []);
  return issues;
}

function issue(path: PropertyKey[], message: string): z.core.$ZodIssue {
  return { code: 'custom', path, message, input: undefined };
}
