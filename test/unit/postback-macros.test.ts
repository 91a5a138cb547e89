import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MACRO_NAMES,
  parseTemplate,
  renderTemplate,
  type ParsedTemplate,
  type ParseTemplateResult,
} from '../../src/domain/postback/macros.js';

function parsed(template: string, syntax: 'text' | 'json' = 'text'): ParsedTemplate {
  const result = parseTemplate(template, syntax);
  assert.ok(result.ok, `expected ${template} to parse: ${JSON.stringify(result)}`);
  return result;
}

function errorsOf(result: ParseTemplateResult): string[] {
  assert.equal(result.ok, false, 'expected the template to be refused');
  return result.ok ? [] : result.errors;
}

const TRICKY = 'a b&c=d/é';

describe('the macro catalogue', () => {
  it('has every macro the postback issue asks for', () => {
    const required = [
      'click_id',
      ...Array.from({ length: 10 }, (_, i) => `sub${i + 1}`),
      'affiliate_id',
      'customer_id',
      'event',
      'event_id',
      'original_event_id',
      'status',
      'payout',
      'currency',
      'amount',
      'country',
      'timestamp',
      'lots',
      'instrument',
      'challenge_id',
      'phase',
    ];
    for (const name of required) assert.ok(MACRO_NAMES.includes(name as never), `missing macro ${name}`);
  });

  it('accepts every macro in its encoded and its raw {_name} form', () => {
    for (const name of MACRO_NAMES) {
      const result = parsed(`https://t.example/?a={${name}}&b={_${name}}`);
      assert.deepEqual(
        result.parts.filter((p) => p.kind === 'macro'),
        [
          { kind: 'macro', name, raw: false },
          { kind: 'macro', name, raw: true },
        ],
      );
    }
  });
});

describe('a template is refused when it is saved', () => {
  it('names an unknown macro and where it is', () => {
    assert.deepEqual(errorsOf(parseTemplate('https://t.example/?x={clickid}')), [
      "unknown macro '{clickid}' at position 21",
    ]);
    assert.deepEqual(errorsOf(parseTemplate('?x={_nope}')), ["unknown macro '{_nope}' at position 3"]);
    assert.deepEqual(errorsOf(parseTemplate('?x={Click_ID}')), ["unknown macro '{Click_ID}' at position 3"]);
  });

  it('refuses an unclosed brace, an unmatched closing brace, and a nested one', () => {
    assert.deepEqual(errorsOf(parseTemplate('?a={click_id')), ["unclosed '{' at position 3"]);
    assert.deepEqual(errorsOf(parseTemplate('?a=click_id}')), ["unmatched '}' at position 11"]);
    assert.deepEqual(errorsOf(parseTemplate('?a={sub{click_id}}')), [
      "nested '{' at position 7 inside the macro opened at position 3",
      "unmatched '}' at position 17",
    ]);
  });

  it('refuses an empty macro, raw or not', () => {
    assert.deepEqual(errorsOf(parseTemplate('?a={}')), ["empty macro '{}' at position 3"]);
    assert.deepEqual(errorsOf(parseTemplate('?a={_}')), ["empty macro '{_}' at position 3"]);
  });

  it('refuses a literal brace: {{ and }} are not escapes, since no brace may ever be sent', () => {
    assert.deepEqual(errorsOf(parseTemplate('?a={{click_id}}')), [
      "'{{' at position 3: a literal brace is never sent, and '{{' is not an escape",
      "unmatched '}' at position 14",
    ]);
    assert.deepEqual(errorsOf(parseTemplate('?a=x}}')), [
      "'}}' at position 4: a literal brace is never sent, and '}}' is not an escape",
    ]);
    assert.ok(!parseTemplate('?json={"a":1}').ok);
  });

  it('reports every problem at once', () => {
    assert.equal(errorsOf(parseTemplate('?a={x}&b={y}&c={}')).length, 3);
  });

  it('accepts a template with no macros at all, and splits text and macros in order', () => {
    assert.deepEqual(parsed('https://t.example/ok').parts, [{ kind: 'text', text: 'https://t.example/ok' }]);
    assert.deepEqual(parsed('{click_id}-{_sub2}x').parts, [
      { kind: 'macro', name: 'click_id', raw: false },
      { kind: 'text', text: '-' },
      { kind: 'macro', name: 'sub2', raw: true },
      { kind: 'text', text: 'x' },
    ]);
  });
});

describe('rendering a URL template', () => {
  const template = parsed('https://t.example/pb?enc={sub1}&raw={_sub1}');

  it('URL-encodes {sub1} like encodeURIComponent (space as %20) and inserts {_sub1} raw', () => {
    const { text, missing } = renderTemplate(template, { sub1: TRICKY }, 'url');
    assert.equal(text, 'https://t.example/pb?enc=a%20b%26c%3Dd%2F%C3%A9&raw=a b&c=d/é');
    assert.deepEqual(missing, []);
  });

  it('renders a missing value empty and reports it once, in order of first use', () => {
    const t = parsed('https://t.example/?s={sub2}&c={click_id}&again={_sub2}&p={payout}');
    const { text, missing } = renderTemplate(t, { payout: '5.00' }, 'url');
    assert.equal(text, 'https://t.example/?s=&c=&again=&p=5.00');
    assert.deepEqual(missing, ['sub2', 'click_id']);
  });

  it('counts an empty value, or one that is empty once braces are stripped, as missing', () => {
    const t = parsed('?a={sub1}&b={sub2}');
    assert.deepEqual(renderTemplate(t, { sub1: '', sub2: '{}' }, 'url').missing, ['sub1', 'sub2']);
  });

  it('never emits a brace from a value, literal or percent-encoded, raw or not', () => {
    const t = parsed('https://t.example/?a={sub1}&b={_sub1}');
    const values = { sub1: '{subacc4}x}{' };
    for (const encoding of ['url', 'form', 'raw'] as const) {
      const { text } = renderTemplate(t, values, encoding);
      assert.doesNotMatch(text, /[{}]|%7B|%7D/i, `${encoding}: ${text}`);
    }
    assert.equal(renderTemplate(t, values, 'url').text, 'https://t.example/?a=subacc4x&b=subacc4x');
  });

  it('does not throw on a lone surrogate, which encodeURIComponent alone would', () => {
    const { text } = renderTemplate(parsed('?a={sub1}'), { sub1: 'x\uD800y' }, 'url');
    assert.equal(text, '?a=x%EF%BF%BDy');
  });

  it('inserts everything raw with raw encoding', () => {
    assert.equal(
      renderTemplate(template, { sub1: TRICKY }, 'raw').text,
      `https://t.example/pb?enc=${TRICKY}&raw=${TRICKY}`,
    );
  });
});

describe('rendering a form body', () => {
  it('encodes as application/x-www-form-urlencoded: space as +, the same bytes URLSearchParams writes', () => {
    const t = parsed('subid={click_id}&note={sub1}');
    for (const value of [TRICKY, "it's (really) ~done! *ok* 100%", 'line\nbreak', '東京 +1']) {
      const { text } = renderTemplate(t, { click_id: 'c 1', sub1: value }, 'form');
      assert.equal(text, new URLSearchParams({ subid: 'c 1', note: value }).toString());
    }
    assert.equal(renderTemplate(t, { click_id: 'c 1', sub1: 'x' }, 'form').text, 'subid=c+1&note=x');
  });

  it('keeps {_name} raw in a form body', () => {
    assert.equal(renderTemplate(parsed('a={_sub1}'), { sub1: TRICKY }, 'form').text, `a=${TRICKY}`);
  });
});

describe('rendering a JSON body', () => {
  const body =
    '{"clickid": "{click_id}", "payout": "{payout}", "note": "sub: {_sub1}", "n": 1, "o": {"k": []}}';

  it('treats braces outside strings as JSON structure and macros inside strings as macros', () => {
    assert.deepEqual(
      parsed(body, 'json')
        .parts.filter((p) => p.kind === 'macro')
        .map((p) => p.kind === 'macro' && p.name),
      ['click_id', 'payout', 'sub1'],
    );
  });

  it('escapes values as JSON string content, so the body parses with the values intact', () => {
    const values = { click_id: 'say "hi"\\ \n\t', payout: '-50.00', sub1: TRICKY };
    const { text, missing } = renderTemplate(parsed(body, 'json'), values, 'json');
    assert.deepEqual(JSON.parse(text), {
      clickid: 'say "hi"\\ \n\t',
      payout: '-50.00',
      note: `sub: ${TRICKY}`,
      n: 1,
      o: { k: [] },
    });
    assert.deepEqual(missing, []);
  });

  it('strips braces from values inside the JSON strings too', () => {
    const { text } = renderTemplate(parsed('{"a": "{sub1}"}', 'json'), { sub1: '{x}' }, 'json');
    assert.deepEqual(JSON.parse(text), { a: 'x' });
  });

  it('refuses a macro outside a string literal, a brace inside one, and text that is not JSON', () => {
    assert.match(errorsOf(parseTemplate('{"p": {payout}}', 'json'))[0]!, /not valid JSON/);
    assert.deepEqual(errorsOf(parseTemplate('{"a": "x{"}', 'json')), ["unclosed '{' at position 8"]);
    assert.deepEqual(errorsOf(parseTemplate('{"a": "x}"}', 'json')), ["unmatched '}' at position 8"]);
    assert.deepEqual(errorsOf(parseTemplate('{"a": "\\u007B"}', 'json')), [
      "escaped brace '\\u007B' at position 7",
    ]);
    assert.deepEqual(errorsOf(parseTemplate('{"a": "{nope}"}', 'json')), [
      "unknown macro '{nope}' at position 7",
    ]);
    assert.match(errorsOf(parseTemplate('{"a": "{click_id}",}', 'json'))[0]!, /not valid JSON/);
  });

  it('lets an escaped quote stay inside its string', () => {
    const { text } = renderTemplate(parsed('{"a": "\\"{sub1}\\""}', 'json'), { sub1: 'q' }, 'json');
    assert.deepEqual(JSON.parse(text), { a: '"q"' });
  });

  it('refuses to render a JSON template with another encoding, or a text template as JSON', () => {
    assert.throws(() => renderTemplate(parsed('{"a": "{sub1}"}', 'json'), {}, 'url'), TypeError);
    assert.throws(() => renderTemplate(parsed('"{sub1}"'), {}, 'json'), TypeError);
  });
});
