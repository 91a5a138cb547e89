import { accessSync, constants, readFileSync } from 'node:fs';

/**
 * A certificate or key given in the environment: inline PEM (`-----BEGIN ...`, with real or `\n`-escaped
 * newlines, as env files and secret stores carry it) or the path of a PEM file.
 */
export function pemOrFile(value: string): Buffer {
  const text = value.trim();
  if (isInlinePem(text)) return Buffer.from(text.replace(/\\n/g, '\n'));
  return readFileSync(text);
}

/** Why the value is neither inline PEM nor a readable file; null when it is one of them. */
export function pemProblem(value: string): string | null {
  const text = value.trim();
  if (isInlinePem(text)) return null;
  try {
    accessSync(text, constants.R_OK);
    return null;
  } catch {
    return 'must be inline PEM ("-----BEGIN ...") or the path of a readable PEM file';
  }
}

function isInlinePem(text: string): boolean {
  return text.startsWith('-----BEGIN ');
}
