import { WINDOW_PRESETS, type TouchlineConfig } from '@touchline/contracts';

export interface Window {
  lookbackDays: number;
  viewThroughDays: number;
}

/**
 * Attribution windows and crediting level per conversion name. A preset sets the default lookback
 * and view-through; explicit per-conversion settings win over it. Conversions whose stage is one of
 * the account stages (default opportunity and closed_won) are credited on the account's journey
 * when the person belongs to an account, unless their name says otherwise.
 */
export class Windows {
  readonly defaultWindow: Window;

  constructor(
    defaults: Window,
    private readonly perName: Record<string, { lookbackDays?: number | undefined; viewThroughDays?: number | undefined; level?: 'person' | 'account' | undefined }> = {},
    private readonly accountStages: readonly string[] = ['opportunity', 'closed_won'],
  ) {
    this.defaultWindow = defaults;
  }

  static fromConfig(config: TouchlineConfig): Windows {
    const preset = WINDOW_PRESETS[config.TOUCHLINE_WINDOW_PRESET];
    return new Windows(
      preset ?? { lookbackDays: config.TOUCHLINE_LOOKBACK_DAYS, viewThroughDays: config.TOUCHLINE_VIEW_THROUGH_DAYS },
      config.TOUCHLINE_CONVERSION_WINDOWS,
      config.TOUCHLINE_ACCOUNT_STAGES,
    );
  }

  of(name: string): Window {
    const w = this.perName[name];
    return {
      lookbackDays: w?.lookbackDays ?? this.defaultWindow.lookbackDays,
      viewThroughDays: w?.viewThroughDays ?? this.defaultWindow.viewThroughDays,
    };
  }

  levelOf(name: string, stage: string | undefined): 'person' | 'account' {
    const explicit = this.perName[name]?.level;
    if (explicit) return explicit;
    return stage !== undefined && this.accountStages.includes(stage) ? 'account' : 'person';
  }
}
