import * as m0001 from './0001_init.js';
import * as m0002 from './0002_attribution.js';
import * as m0003 from './0003_alerts.js';
import * as m0004 from './0004_ingest_flags.js';
import * as m0005 from './0005_experiments.js';
import * as m0006 from './0006_identity_links.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Applied in order; a migration is never edited once released, only followed by a new one. */
export const MIGRATIONS: Migration[] = [{ version: 1, ...m0001 }];
MIGRATIONS.push({ version: 2, ...m0002 });
MIGRATIONS.push({ version: 3, ...m0003 });
MIGRATIONS.push({ version: 4, ...m0004 });
MIGRATIONS.push({ version: 5, ...m0005 });
MIGRATIONS.push({ version: 6, ...m0006 });
