import { createWriteStream } from 'node:fs';
import {
  conversionModel,
  conversionTime,
  costEvents,
  createWorld,
  getScenario,
  LiveSendError,
  SCENARIO_NAMES,
  DEFAULT_SCENARIO,
  Observer,
  pipelineSettingsFor,
  sendLive,
  simulateOffline,
  simulationReport,
  unitEvents,
  type Scenario,
  type SimulationRun,
  type ProgressSink,
} from '@touchline/simulator';

const USAGE = `usage: touchline simulate [--scenario ${SCENARIO_NAMES.join('|')}] [--seed N] [--units N]
                          [--holdout SHARE] [--fraud CHANNEL[:BOTS]]
                          (--offline [--observation pipeline|model] [--report json|table]
                           | --url URL --key KEY [--rate N] [--duration S])
                          [--events FILE] [--journeys FILE]

Simulates a market whose causal effects are known (default scenario: ${DEFAULT_SCENARIO}, seed 1).

  --offline          run the events through Touchline's ingest, stitcher and attributor in
                     process (the credit a live run settles to under the settings a --url run
                     prints) and compare every model with the true share of
                     incremental conversions; --report json prints one JSON object:
                     {"scenario":…,"seed":…,"models":[{"model":…,"tvd":…,"channels":[{"channel":…,
                     "attributed_share":…,"true_share":…}]}]}; --report table (default) a summary
  --observation      pipeline (default): the credit above; model: every unit's window straight
                     into the models, touched or not (fast; what the accuracy bench scores, see
                     docs/architecture.md "Accuracy against a known truth")
  --url, --key       send the events to a running Touchline (POST /v1/batch) instead, at --rate
                     events per second (default 200) for at most --duration seconds, with a
                     progress bar on stderr; batches of ≤500, retried on 429/503
  --units N          population size (default: the scenario's)
  --holdout SHARE    hold out SHARE of the people from every paid channel (one experiment each):
                     adds measured lifts and the incrementality_calibrated model
  --fraud CH[:BOTS]  add click-fraud bots on channel CH (default: 5% of the population)
  --events FILE      also write the v1 events, one JSON per line (offline only)
  --journeys FILE    also write the converting journeys, one JSON per line (offline only)
`;

interface SimulateArgs {
  scenario: Scenario;
  seed: number;
  mode: 'offline' | 'live';
  observation: 'pipeline' | 'model';
  report: 'json' | 'table';
  url?: string;
  key?: string;
  rate: number;
  duration?: number;
  events?: string;
  journeys?: string;
}

type Parsed = { ok: true; args: SimulateArgs } | { ok: false; message: string; help?: boolean };

export function parseSimulateArgs(argv: readonly string[]): Parsed {
  const v: Record<string, string> = {};
  let offline = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    switch (flag) {
      case '--help':
      case '-h':
        return { ok: false, message: '', help: true };
      case '--offline':
        offline = true;
        break;
      case '--scenario':
      case '--seed':
      case '--units':
      case '--holdout':
      case '--fraud':
      case '--report':
      case '--observation':
      case '--url':
      case '--key':
      case '--rate':
      case '--duration':
      case '--events':
      case '--journeys': {
        const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
        if (value === undefined || value.startsWith('--')) return { ok: false, message: `${flag} needs a value` };
        v[flag.slice(2)] = value;
        break;
      }
      default:
        return { ok: false, message: `unknown argument ${JSON.stringify(raw)}` };
    }
  }
  const name = v.scenario ?? DEFAULT_SCENARIO;
  const scenario = getScenario(name);
  if (!scenario) return { ok: false, message: `unknown scenario ${JSON.stringify(name)}; scenarios: ${SCENARIO_NAMES.join(', ')}` };
  const int = (key: string, min: number): number | string | undefined => {
    if (v[key] === undefined) return undefined;
    const n = /^\d+$/.test(v[key] as string) ? Number(v[key]) : NaN;
    return Number.isSafeInteger(n) && n >= min ? n : `--${key} must be an integer ≥ ${min}, got ${JSON.stringify(v[key])}`;
  };
  const num = (key: string): number | string | undefined => {
    if (v[key] === undefined) return undefined;
    const n = Number(v[key]);
    return Number.isFinite(n) && n > 0 ? n : `--${key} must be a positive number, got ${JSON.stringify(v[key])}`;
  };
  const seed = int('seed', 0);
  const units = int('units', 1);
  const rate = num('rate');
  const duration = num('duration');
  for (const x of [seed, units, rate, duration]) if (typeof x === 'string') return { ok: false, message: x };
  if (typeof units === 'number') scenario.units = units;

  if (v.holdout !== undefined) {
    const share = Number(v.holdout);
    if (!(share > 0 && share < 1)) return { ok: false, message: `--holdout must be a share in (0, 1), got ${JSON.stringify(v.holdout)}` };
    scenario.holdouts = scenario.channels.filter((c) => c.costPerDay > 0).map((c) => ({ id: `holdout-${c.name}`, channel: c.name, share }));
  }
  if (v.fraud !== undefined) {
    const [channel, botsText] = (v.fraud as string).split(':');
    if (!scenario.channels.some((c) => c.name === channel)) return { ok: false, message: `--fraud: no channel ${JSON.stringify(channel)} in ${name}; channels: ${scenario.channels.map((c) => c.name).join(', ')}` };
    const bots = botsText === undefined ? Math.max(1, Math.round(scenario.units * 0.05)) : Number(botsText);
    if (!(Number.isSafeInteger(bots) && bots > 0)) return { ok: false, message: `--fraud: bots must be a positive integer, got ${JSON.stringify(botsText)}` };
    scenario.fraud = [{ channel: channel as string, bots, clicksPerBot: 5 }];
  }

  const live = v.url !== undefined || v.key !== undefined;
  if (offline && live) return { ok: false, message: '--offline and --url/--key exclude each other' };
  if (live && (v.url === undefined || v.key === undefined)) return { ok: false, message: 'a live run needs both --url and --key' };
  if (!live && (v.rate !== undefined || v.duration !== undefined)) return { ok: false, message: '--rate and --duration apply to a live run (--url, --key)' };
  if (live && (v.events !== undefined || v.journeys !== undefined)) return { ok: false, message: '--events and --journeys apply to an offline run' };
  if (v.url !== undefined) {
    try {
      new URL(v.url);
    } catch {
      return { ok: false, message: `--url: ${JSON.stringify(v.url)} is not a URL` };
    }
  }
  const observation = v.observation ?? 'pipeline';
  if (observation !== 'pipeline' && observation !== 'model') return { ok: false, message: `--observation must be pipeline or model, got ${JSON.stringify(observation)}` };
  if (live && v.observation !== undefined) return { ok: false, message: '--observation applies to an offline run' };
  const report = v.report ?? 'table';
  if (report !== 'json' && report !== 'table') return { ok: false, message: `--report must be json or table, got ${JSON.stringify(report)}` };
  return {
    ok: true,
    args: {
      scenario,
      seed: (seed as number | undefined) ?? 1,
      mode: live ? 'live' : 'offline',
      observation,
      report,
      ...(v.url !== undefined ? { url: v.url } : {}),
      ...(v.key !== undefined ? { key: v.key } : {}),
      rate: (rate as number | undefined) ?? 200,
      ...(duration !== undefined ? { duration: duration as number } : {}),
      ...(v.events !== undefined ? { events: v.events } : {}),
      ...(v.journeys !== undefined ? { journeys: v.journeys } : {}),
    },
  };
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (out.write(text)) resolve();
    else out.once('drain', () => resolve());
  });
}

/** NDJSON of the world's events and/or converting journeys, unit by unit (memory stays flat). */
async function writeFiles(args: SimulateArgs): Promise<void> {
  const world = createWorld(args.scenario, args.seed);
  const model = conversionModel(args.scenario);
  const events = args.events ? createWriteStream(args.events) : undefined;
  const journeys = args.journeys ? createWriteStream(args.journeys) : undefined;
  const observer = new Observer(world, { onJourney: (j) => journeys && void write(journeys, `${JSON.stringify(j)}\n`) });
  if (events) for (const e of costEvents(world)) await write(events, `${JSON.stringify(e)}\n`);
  for (let u = 0; u < world.unitCount; u++) {
    const unit = world.unit(u);
    const T = conversionTime(model, unit);
    if (journeys) observer.add(unit, T);
    if (events) for (const e of unitEvents(world, unit, T)) await write(events, `${JSON.stringify(e)}\n`);
  }
  await Promise.all([events, journeys].map((s) => s && new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())))));
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function table(run: SimulationRun): string {
  const report = simulationReport(run);
  const t = run.truth;
  const lines = [
    `scenario ${run.scenario.name}, seed ${run.seed}: ${run.units.toLocaleString('en-US')} units, ${run.touches.toLocaleString('en-US')} touches, ${t.conversions.toLocaleString('en-US')} conversions (${t.baselineConversions.toLocaleString('en-US')} without any marketing)`,
    '',
    `true incremental conversions: ${t.channels.map((c) => `${c.channel} ${c.incrementalConversions} (${pct(c.share)})`).join(', ')}`,
    '',
    `model               TVD    ${report.models[0]?.channels.map((c) => c.channel.padEnd(15)).join(' ') ?? ''}`,
  ];
  for (const m of report.models) lines.push(`${m.model.padEnd(19)} ${m.tvd.toFixed(3)}  ${m.channels.map((c) => pct(c.attributed_share).padEnd(15)).join(' ')}`);
  lines.push(`${'(true share)'.padEnd(19)}        ${report.models[0]?.channels.map((c) => pct(c.true_share).padEnd(15)).join(' ') ?? ''}`);
  for (const e of run.experiments) {
    const l = e.lift;
    lines.push(
      '',
      `holdout ${e.experiment.id}: exposed ${l.exposed.conversions}/${l.exposed.units}, held out ${l.holdout.conversions}/${l.holdout.units}; lift ${(l.absoluteLift * 100).toFixed(3)} pp [${(l.absoluteInterval.low * 100).toFixed(3)}, ${(l.absoluteInterval.high * 100).toFixed(3)}] (${pct(l.relativeLift)}), true ${(e.expectedAbsoluteLift * 100).toFixed(3)} pp`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `touchline simulate …`: simulates a scenario and either attributes it offline against the
 * truth (report on `out`) or sends it to a running Touchline (progress on `err`, summary on
 * `out`). Returns 0 on success, 2 on bad arguments, 1 when a live run fails.
 */
export async function simulateCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const parsed = parseSimulateArgs(args);
  if (!parsed.ok) {
    if (parsed.help) {
      await write(out, USAGE);
      return 0;
    }
    err.write(`simulate: ${parsed.message}\n\n${USAGE}`);
    return 2;
  }
  const a = parsed.args;
  if (a.mode === 'offline') {
    const run = simulateOffline(a.scenario, a.seed, { observation: a.observation });
    if (a.events || a.journeys) await writeFiles(a);
    await write(out, a.report === 'json' ? `${JSON.stringify(simulationReport(run))}\n` : table(run));
    return 0;
  }
  try {
    const progress = err as NodeJS.WritableStream & { isTTY?: boolean };
    const result = await sendLive(createWorld(a.scenario, a.seed), {
      url: a.url as string,
      key: a.key as string,
      rate: a.rate,
      ...(a.duration !== undefined ? { durationSeconds: a.duration } : {}),
      progress: progress as ProgressSink,
    });
    const settings = pipelineSettingsFor(a.scenario);
    const summary = { scenario: a.scenario.name, seed: a.seed, live: result, settings };
    await write(
      out,
      a.report === 'json'
        ? `${JSON.stringify(summary)}\n`
        : `sent ${result.sent} events of ${result.units}/${result.unitsTotal} units in ${result.seconds.toFixed(1)} s: ${result.accepted} accepted, ${result.rejected} rejected${result.rejections.length ? ` (${result.rejections.join('; ')})` : ''}, ${result.retries} retries${result.stoppedBy === 'duration' ? ' (stopped by --duration)' : ''}\n` +
            `journeys and credit match the offline run's when Touchline runs with ${Object.entries(settings)
              .map(([k, v]) => `${k}='${v}'`)
              .join(' ')}\n`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof LiveSendError)) throw e;
    err.write(`simulate: ${e.message}\n`);
    return 1;
  }
}
