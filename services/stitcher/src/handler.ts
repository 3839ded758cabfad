import type { FraudFlagMessage, InputMessage, PrivacyDeleteMessage } from '@touchline/contracts';
import type { StitchOutput, StitcherState } from './state.js';

export type StitcherInput = InputMessage | FraudFlagMessage | PrivacyDeleteMessage;

/** Applies one decoded message to the state; returns the journeys and null paths it (re)opens. */
export function stitch(state: StitcherState, message: StitcherInput): StitchOutput[] {
  switch (message.kind) {
    case 'touchpoint':
      return state.applyTouch(message);
    case 'conversion':
      return state.applyConversion(message);
    case 'identity':
      return state.applyIdentity(message);
    case 'fraud_flag':
      return state.applyFraudFlag(message);
    case 'privacy_delete':
      return state.applyPrivacyDelete(message);
    case 'cost':
      return [];
  }
}
