import type { InputMessage, JourneyMessage } from '@touchline/contracts';
import type { StitcherState } from './state.js';

/** Applies one decoded input message to the state; returns the journeys it (re)opens. Pure. */
export function stitch(state: StitcherState, message: InputMessage): JourneyMessage[] {
  switch (message.kind) {
    case 'touchpoint':
      return state.applyTouch(message);
    case 'conversion':
      return state.applyConversion(message);
    case 'identity':
      return state.applyIdentity(message);
    case 'cost':
      return [];
  }
}
