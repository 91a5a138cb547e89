/**
 * The fault run's command line (`npm run faults -- ...`, see run.ts) and the sizes it implies: how many
 * events, how fast, how often the worker is killed, how long everything may take to settle.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export interface FaultOptions {
  quick: boolean;
  totalEvents: number;
  rate: number;
  killEveryMs: number;
  settleMs: number;
  /** Where results/ and the logs go. */
  out: string;
  /** Keep the temporary folder and the database for a look afterwards. */
  keep: boolean;
}

/** The options of this process's command line; an unknown option throws. */
export function parseOptions(): FaultOptions {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      rate: { type: 'string' },
      'kill-every': { type: 'string', default: '10' },
      'settle-seconds': { type: 'string' },
      out: { type: 'string', default: join(import.meta.dirname, 'results') },
      keep: { type: 'boolean', default: false },
    },
  });
  const quick = args.quick;
  return {
    quick,
    totalEvents: Number(args.events ?? (quick ? 200 : 2000)),
    rate: Number(args.rate ?? (quick ? 4 : 10)),
    killEveryMs: Number(args['kill-every']) * 1000,
    settleMs: Number(args['settle-seconds'] ?? (quick ? 240 : 900)) * 1000,
    out: args.out,
    keep: args.keep,
  };
}
