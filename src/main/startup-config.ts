import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig, type EntryConfig, type EntryPoint } from '../config.js';

/**
 * How every entry point reads its configuration at start: a `.env` file first (the working directory's,
 * or the one `ENV_FILE` names; `ENV_FILE=none` reads none, as the test harness does), then the settings
 * that entry point reads, all checked together. A variable set in the real environment wins over `.env`,
 * even when set empty.
 */

/**
 * Adds the variables of the `.env` file to `env`, without replacing any already there. Returns the file
 * read, or null: none when `ENV_FILE=none`, or when there is no `.env` in `cwd` (no file is no error, but a
 * file `ENV_FILE` names must exist). Throws ConfigError when it cannot be read.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  const named = env.ENV_FILE;
  if (named === 'none') return null;
  const path = named ? (isAbsolute(named) ? named : join(cwd, named)) : join(cwd, '.env');
  if (!named && !existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`ENV_FILE: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`]);
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] === undefined) env[key] = value;
  }
  return path;
}

/**
 * The configuration of entry point `entry`, from `.env` and the environment (then `defaults`, which may fill
 * in what neither sets). On any problem, prints them
 * all (no stack trace: it is the environment that needs fixing, not the code) and exits with code 1.
 */
export function startupConfig<E extends EntryPoint>(
  entry: E,
  defaults?: (env: NodeJS.ProcessEnv) => void,
): EntryConfig<E> {
  try {
    loadEnvFile();
    defaults?.(process.env);
    return loadConfig(process.env, entry);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`${entry}: ${err.message}\nSee README.md, "Configuration", and .env.example.`);
    process.exit(1);
  }
}
