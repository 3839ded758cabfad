export {
  Tracker,
  createTracker,
  SDK_VERSION,
  MemoryStorage,
  type TrackerOptions,
  type Consent,
  type Common,
  type TouchFields,
  type ConversionFields,
  type Traits,
  type Interaction,
} from './tracker.js';
export { captureFromUrl, CLICK_IDS, type Captured, type CampaignParams } from './capture.js';
export type { BrowserEnv, StorageLike } from './env.js';
export type { DeliveryProblem, FetchLike, WireEvent } from './transport.js';
