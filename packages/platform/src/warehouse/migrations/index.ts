import * as m0001 from './0001_init.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Applied in order; a migration is never edited once released, only followed by a new one. */
export const MIGRATIONS: Migration[] = [{ version: 1, ...m0001 }];
