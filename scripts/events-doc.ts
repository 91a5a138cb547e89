/** `npm run events:doc`: writes docs/events.md from the event schemas (scripts/event-catalogue.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEventCatalogue } from './event-catalogue.js';

writeFileSync(join(import.meta.dirname, '..', 'docs', 'events.md'), renderEventCatalogue());
console.log('events:doc: docs/events.md written');
