import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { renderEventCatalogue } from '../../scripts/event-catalogue.js';
import { EVENT_DETAILS_SCHEMAS } from '../../src/contract/emitted-events.js';
import { ALL_EVENT_TYPES } from '../../src/domain/event-types.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('the event catalogue in docs/', () => {
  it('is what `npm run events:doc` writes from the schemas, so it cannot drift from them', () => {
    assert.equal(read('docs/events.md'), renderEventCatalogue(), 'run `npm run events:doc`');
  });

  it('lists every event type with each of its data fields', () => {
    const doc = read('docs/events.md');
    for (const type of ALL_EVENT_TYPES) {
      const at = doc.indexOf(`### \`${type}\``);
      assert.ok(at >= 0, `${type} has a section`);
      const section = doc.slice(at, doc.indexOf('\n### ', at + 1) >>> 0);
      for (const field of Object.keys((EVENT_DETAILS_SCHEMAS[type] as z.ZodObject).shape)) {
        assert.ok(section.includes(`| \`${field}\` |`), `${type}: ${field}`);
      }
    }
  });

  it('is found from the README and from the contract', () => {
    assert.match(read('README.md'), /\(docs\/events\.md\)/);
    assert.match(read('docs/api-v1.md'), /\(events\.md\)/);
  });
});
