/**
 * Routes served only on embedded defaults (`npm run local`): the snippet, campaign configs and a demo
 * page, laid out exactly as the CDN serves them in the cloud.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Router } from 'express';
import { CAMPAIGN_CONFIG, ID_PATTERNS } from '../../../../platform';
import { sendError } from './respond';

/** Where local mode finds what the CDN would serve. */
export interface LocalModeOptions {
  /** Folder with `config/<account>/<campaign>.json`, as published to the CDN's config bucket. */
  readonly dataDir: string;
  /** Folder holding `snippet.js` and `demo.html`. */
  readonly staticDir: string;
}

/** The snippet folder shipped with the service. */
export const STATIC_DIR = join(__dirname, '..', '..', 'static');

/** Builds the local-mode router. */
export function localRoutes(options: LocalModeOptions): Router {
  const router = Router();
  router.get('/snippet.js', async (_req, res) => {
    const js = await readFile(join(options.staticDir, 'snippet.js'));
    res
      .set({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' })
      .send(js);
  });
  router.get('/demo', async (_req, res) => {
    const html = await readFile(join(options.staticDir, 'demo.html'));
    res.set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).send(html);
  });
  router.get('/config/:account/:file', async (req, res) => {
    const account = String(req.params.account);
    const file = String(req.params.file);
    const campaign = file.endsWith('.json') ? file.slice(0, -5) : '';
    const requestId = req.requestId ?? 'unknown';
    // Both ids become a file path: only well-formed ones, so no request can leave the config folder.
    if (!ID_PATTERNS.account.test(account) || !ID_PATTERNS.campaign.test(campaign))
      return sendError(res, 404, 'not_found', 'no such campaign config', requestId);
    try {
      const json = await readFile(join(options.dataDir, CAMPAIGN_CONFIG.path(account, campaign)));
      res
        .set({
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'public, max-age=60',
          'access-control-allow-origin': '*',
        })
        .send(json);
    } catch {
      sendError(res, 404, 'not_found', `no config for campaign ${campaign} of account ${account}`, requestId);
    }
  });
  router.get('/config/:file', (req, res) => {
    sendError(
      res,
      404,
      'not_found',
      'campaign configs are served at /config/<accountId>/<campaignId>.json',
      req.requestId ?? 'unknown',
    );
  });
  return router;
}
