/**
 * The local config folder as the purge's {@link PublishedConfigStore}: the one shared adapter that the seed
 * and `npm run publish-config` write with (`services/shared/campaign-config`), re-exported under the
 * purge's local adapters.
 */
export {
  FileConfigStore,
  type FileConfigStoreProps,
} from '../../../shared/campaign-config/file-config-store';
export type { PublishedConfigStore } from '../core/ports';
