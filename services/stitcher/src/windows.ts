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
    let days = accountStages.length > 0 ? defaults.lookbackDays : 0;
    for (const w of Object.values(perName)) if (w.level !== 'person') days = Math.max(days, w.lookbackDays ?? defaults.lookbackDays);
    this.accountLookbackDays = days > 0 ? days : defaults.lookbackDays;
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

  /**
   * The length of an account's null windows: the longest lookback a conversion credited on the
   * account can have (the default one for the account stages, and every per-name window not
   * explicitly person-level), so that an account's non-converting windows are as long as its deals'
   * journeys, e.g. a year for `{"deal":{"lookbackDays":365,"level":"account"}}`.
   */
  readonly accountLookbackDays: number;

  levelOf(name: string, stage: string | undefined): 'person' | 'account' {
    const explicit = this.perName[name]?.level;
    if (explicit) return explicit;
    return stage !== undefined && this.accountStages.includes(stage) ? 'account' : 'person';
  }
}
