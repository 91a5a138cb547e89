import { z } from 'zod';
import { MACRO_NAMES } from '../../domain/postback/macros.js';

export const EventTypeParams = z.object({ type: z.string().max(100) });

export const EventTypeOut = z
  .object({
    type: z.string(),
    kind: z
      .enum(['inbound', 'derived', 'commission', 'affiliate', 'test', 'operational'])
      .describe(
        'inbound: operators send it; derived: the orchestrator derives it from one (deposit.ftd); commission: ' +
          'the commission engine emits it; test: POST /v1/endpoints/{id}/test; operational: about the machinery',
      ),
    verticals: z.array(z.enum(['all', 'igaming', 'forex', 'prop', 'platform'])),
    description: z.string(),
    matchedByWildcard: z
      .boolean()
      .describe(
        'Whether a `*` subscription covers it: operational types reach only endpoints that name them',
      ),
    schema: z
      .record(z.string(), z.unknown())
      .describe('JSON Schema (draft 2020-12) of the body a `format: "webhook"` endpoint receives'),
    example: z.record(z.string(), z.unknown()).describe('An example of that body'),
    postback: z
      .object({
        meaning: z
          .enum(['conversion', 'reversal', 'test'])
          .describe(
            'What it tells a tracker: a conversion, or that one is undone (sent through the reversal)',
          ),
        macros: z
          .array(z.enum(MACRO_NAMES as [string, ...string[]]))
          .describe('The macros that carry a value for it'),
      })
      .nullable()
      .describe('Null when the type means nothing to a tracker: a postback endpoint cannot subscribe to it'),
  })
  .meta({ id: 'EventTypeOut' });

export const EventTypeListOut = z.object({ data: z.array(EventTypeOut) }).meta({ id: 'EventTypeListOut' });
