import { Router, type Response } from 'express';
import { consoleAssets } from './assets.js';

/**
 * The operator console (/console) and the affiliate portal (/portal): one static page each, on one bundle,
 * that call the documented REST routes under /v1 and nothing else. The page carries no credential: the
 * operator signs in with an API key kept in sessionStorage, and a portal link carries its token in the URL
 * fragment (`/portal#ahp_...`), which the browser never sends, so no server log can hold it.
 */
export interface ConsoleSettings {
  /** The Temporal Web UI, for the links from an event's story to its workflows. */
  temporalUiUrl: string;
  namespace: string;
}

/** Same origin only, no inline script, no framing, no referrer: the page can reach nothing but this API. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The page: a shell the bundle fills in; which app it runs is read from the path. */
export function consoleHtml(app: 'console' | 'portal', settings: ConsoleSettings): string {
  const title = app === 'console' ? 'affiliate-hooks console' : 'Affiliate portal';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="temporal-ui-url" content="${attr(settings.temporalUiUrl)}">
<meta name="temporal-namespace" content="${attr(settings.namespace)}">
<title>${title}</title>
<link rel="stylesheet" href="/console/assets/app.css">
</head>
<body>
<div id="app" data-app="${app}"><p>Loading…</p></div>
<noscript>This page needs JavaScript.</noscript>
<script type="module" src="/console/assets/app.js"></script>
</body>
</html>
`;
}

function secure(res: Response): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
}

export function consoleRouter(settings: ConsoleSettings): Router {
  const router = Router();
  const page = (app: 'console' | 'portal') => (_req: unknown, res: Response) => {
    secure(res);
    res.setHeader('cache-control', 'no-store');
    res.type('html').send(consoleHtml(app, settings));
  };
  // Not strict: /console/ and /portal/ are answered too.
  router.get('/console', page('console'));
  router.get('/portal', page('portal'));
  router.get('/console/assets/:file', async (req, res, next) => {
    const kind = req.params.file === 'app.js' ? 'js' : req.params.file === 'app.css' ? 'css' : null;
    if (!kind) return next();
    try {
      const assets = await consoleAssets();
      secure(res);
      res.setHeader('cache-control', 'no-cache');
      res.type(kind === 'js' ? 'text/javascript' : 'text/css').send(assets[kind]);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
