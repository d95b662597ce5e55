/**
 * API keys (`tsk_<keyid>_<secret>`): generated, hashed and parsed in `services/shared/api-keys.ts`, where
 * the incident tooling, which issues replacement keys, finds them too. Re-exported here for the ingest's
 * own modules.
 */
export * from '../../shared/api-keys';
