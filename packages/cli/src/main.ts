import { ConfigError, createLogger, loadConfig, onShutdown } from '@touchline/platform';
import { sqlCommand } from './commands/sql.js';
import { startTouchline } from './embedded.js';

const USAGE = `touchline <command>

  start [--demo]             run all services in one process (embedded log and warehouse unless
                             KAFKA_BROKERS / CLICKHOUSE_URL are set); --demo adds a synthetic feed
  sql "<query>" [--format F] query the warehouse of a running Touchline (read-only)
  import costs <file.csv> [--format google-ads|meta|linkedin|generic] [--mapping m.json] [--currency EUR] [--rates USD=0.92]
                             send ad-spend exports to a running Touchline as cost events
  attribute --paths <file> [--sep ';'] [--models m1,m2] [--order k]
                             credit aggregated paths (ChannelAttribution format), JSON lines out
  simulate [--scenario S] [--seed N] (--offline [--report json] | --url U --key K [--rate N])
                             simulated market with known effects: accuracy of every model, or a live feed
  bench [stage ...] [--quick] [--scenario=S1,S2] [--seeds=1,2]
                             run benchmarks (see docs/benchmarks.md); --scenario and --seeds: accuracy only
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'start':
      return start(args);
    case 'sql':
      return sqlCommand(args, process.stdout, process.stderr);
    case 'import': {
      const { importCommand } = await import('./commands/import.js');
      return importCommand(args, process.stdout, process.stderr);
    }
    case 'attribute': {
      const { attributeCommand } = await import('./commands/attribute.js');
      return attributeCommand(args, process.stdout);
    }
    case 'simulate': {
      const { simulateCommand } = await import('./commands/simulate.js');
      return simulateCommand(args, process.stdout, process.stderr);
    }
    case 'bench': {
      const { benchCommand } = await import('./commands/bench.js');
      return benchCommand(args);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

async function start(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== '--demo');
  if (unknown.length) {
    process.stderr.write(`start: unknown option ${unknown.join(' ')}\n`);
    return 2;
  }
  const env = args.includes('--demo') ? { ...process.env, TOUCHLINE_DEMO: '1' } : process.env;
  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL);
  const t = await startTouchline(config, logger);
  const lines = [
    '',
    `Touchline is running at ${t.url}  (event log: ${t.bus.kind}, warehouse: ${t.warehouse.mode})`,
    `  dashboard   ${t.url}/#key=${t.keys.read[0] ?? t.keys.admin[0]}`,
    `  send events POST ${t.url}/v1/batch   (Authorization: Bearer <write key>)`,
    `  query       POST ${t.url}/v1/sql  or  npx touchline sql "SELECT * FROM touchline.credits_current LIMIT 10"`,
  ];
  if (t.keys.generated) {
    lines.push(
      `  keys generated and kept in ${t.keys.file} (shown once):`,
      `    write ${t.keys.write[0]}`,
      `    admin ${t.keys.admin[0]}`,
      `    read  ${t.keys.read[0]}`,
    );
  } else if (t.keys.file) {
    lines.push(`  keys: ${t.keys.file}`);
  }
  if (config.TOUCHLINE_DEMO) lines.push(`  demo feed: ${config.TOUCHLINE_DEMO_RATE} simulated people per second`);
  process.stdout.write(lines.join('\n') + '\n\n');
  onShutdown(logger, () => t.close());
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`touchline: ${err.message}\n`);
    else process.stderr.write(`touchline: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
