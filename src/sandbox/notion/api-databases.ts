/** Databases (2022-06-28) and data sources (2025-09-03): read and query. */
import type { Router } from 'express';
import { requireCapability } from './capabilities.js';
import { queryDatabase } from './query.js';
import { reachedDatabase, reachedDataSource } from './reach.js';
import { serializeDatabase, serializeDataSource } from './serialize.js';
import { body, call, pathId, requireVersion } from './api-call.js';
import type { ApiDeps } from './api-call.js';

export function databaseRoutes(router: Router, deps: ApiDeps): void {
  const { state } = deps.store;

  // Databases (2022-06-28) and data sources (2025-09-03)
  router.get('/databases/:database_id', (req, res) => {
    const { view, integration } = call(res);
    requireCapability(integration.capabilities, 'read_content');
    res.json(serializeDatabase(view, reachedDatabase(state, integration, pathId(req.params.database_id, 'database_id'))));
  });

  router.post('/databases/:database_id/query', (req, res) => {
    const context = call(res);
    requireVersion('2022-06-28', context);
    requireCapability(context.integration.capabilities, 'read_content');
    const database = reachedDatabase(state, context.integration, pathId(req.params.database_id, 'database_id'));
    res.json(queryDatabase(context.view, database, body(req)));
  });

  router.get('/data_sources/:data_source_id', (req, res) => {
    const context = call(res);
    requireVersion('2025-09-03', context);
    requireCapability(context.integration.capabilities, 'read_content');
    const database = reachedDataSource(state, context.integration, pathId(req.params.data_source_id, 'data_source_id'));
    res.json(serializeDataSource(context.view, database));
  });

  router.post('/data_sources/:data_source_id/query', (req, res) => {
    const context = call(res);
    requireVersion('2025-09-03', context);
    requireCapability(context.integration.capabilities, 'read_content');
    const database = reachedDataSource(state, context.integration, pathId(req.params.data_source_id, 'data_source_id'));
    res.json(queryDatabase(context.view, database, body(req)));
  });
}
