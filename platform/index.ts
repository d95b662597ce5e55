/**
 * The platform layer: the definition (locations, regions, stages, names, retention, limits, id formats,
 * data layout, metrics) and the contracts between infrastructure and services (each service's environment,
 * the origin header). It sits at the bottom: everything may import it, it imports nothing of the project.
 * See docs/architecture.md.
 */
export * from './definition';
export * from './names';
export * from './layout';
export * from './config';
export * from './time';
export * from './metrics';
export * from './contracts/ingest-env';
export * from './contracts/purge-env';
export * from './contracts/origin';
export * from './contracts/edge';
export * from './contracts/campaign-config';
export * from './contracts/edge-health-env';
export * from './geo';
export * from './contracts/incidents';
export * from './contracts/incident-env';
export * from './contracts/writer-env';
export * from './quotas';
