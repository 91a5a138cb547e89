import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgePostbackResponse } from '../../src/domain/postback/success.js';

describe('what a tracker’s answer to a postback means', () => {
  it('a 2xx is success when the endpoint has no success matcher', () => {
    assert.equal(judgePostbackResponse(200, 'anything'), 'success');
    assert.equal(judgePostbackResponse(204, null), 'success');
  });

  it('a 200 whose body matches successMatch is success', () => {
    assert.equal(judgePostbackResponse(200, 'success=true;', 'success=true'), 'success');
  });

  it('a 200 whose body does not match successMatch is retried, not given up', () => {
    assert.equal(judgePostbackResponse(200, 'success=false; err_msg=db down', 'success=true'), 'retry');
    assert.equal(judgePostbackResponse(200, '', 'success=true'), 'retry');
    assert.equal(judgePostbackResponse(200, null, 'success=true'), 'retry');
  });

  it('410 is gone', () => {
    assert.equal(judgePostbackResponse(410, 'gone'), 'gone');
  });

  it('a 4xx refusal is rejected, except timeouts, too-early and rate limits, which are retried', () => {
    for (const code of [400, 401, 403, 404, 409, 422])
      assert.equal(judgePostbackResponse(code, ''), 'rejected');
    for (const code of [408, 425, 429]) assert.equal(judgePostbackResponse(code, ''), 'retry');
  });

  it('no answer, a redirect and a 5xx are retried', () => {
    for (const code of [null, 301, 302, 500, 502, 503])
      assert.equal(judgePostbackResponse(code, ''), 'retry');
  });

  it('a matcher that is not a regular expression never matches', () => {
    assert.equal(judgePostbackResponse(200, 'ok', '(unclosed'), 'retry');
  });
});
