/**
 * Vitest globalSetup: starts librdkafka's in-process mock cluster (3 brokers, real Kafka wire
 * protocol) through `kcat` and provides its bootstrap servers as `inject('kafkaBrokers')`.
 *
 * - `TOUCHLINE_KAFKA_BROKERS=host:port,...` uses an existing cluster instead (no kcat spawned).
 * - `KCAT_BIN` overrides the kcat executable (default `kcat` on PATH).
 * - If kcat is missing, `kafkaBrokers` is '' and the Kafka tests skip themselves with a warning.
 *   CI installs kcat (Debian/Ubuntu package `kcat`), so there they must run: with `CI` set (or
 *   `TOUCHLINE_REQUIRE_KAFKA=1`) a missing kcat fails the run; `TOUCHLINE_REQUIRE_KAFKA=0` opts out.
 *
 * What the mock does not do like a broker: it refuses CreateTopics (topics auto-create with 4
 * partitions), the idempotent producer and DescribeGroups, and it keeps at most 5 MB or 100,000
 * messages per partition (`rd_kafka_mock_partition_init`): beyond that it drops the oldest, and a
 * consumer still behind them gets "offset out of range" and resets. Keep a test's volume per
 * partition under that.
 *
 * The kcat child must never outlive the run: stdin is /dev/null ('ignore'; `kcat -C` keeps running
 * without stdin), it is killed on teardown and on process exit, and where util-linux `setpriv` exists
 * it is started with a parent-death signal so it also dies if vitest itself is SIGKILLed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated bootstrap servers of the mock cluster, or '' when Kafka is unavailable. */
    kafkaBrokers: string;
  }
}

const STARTUP_TIMEOUT_MS = 15_000;
const BOOTSTRAP_RE = /bootstrap\.servers=([0-9A-Za-z.:,[\]-]+)/;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const external = process.env.TOUCHLINE_KAFKA_BROKERS?.trim();
  if (external) {
    project.provide('kafkaBrokers', external);
    return;
  }

  const kcat = process.env.KCAT_BIN?.trim() || 'kcat';
  let started: { child: ChildProcess; brokers: string };
  try {
    started = await startMockCluster(kcat);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (kafkaRequired()) {
      throw new Error(
        `kafka-mock: the Kafka mock cluster is required here (CI, or TOUCHLINE_REQUIRE_KAFKA=1) but did not start: ${reason}`,
      );
    }
    console.warn(
      `\n[kafka-mock] WARNING: Kafka mock cluster unavailable, Kafka tests will be SKIPPED.\n` +
        `[kafka-mock] reason: ${reason}\n` +
        `[kafka-mock] install kcat (apt-get install kcat) or set TOUCHLINE_KAFKA_BROKERS.\n`,
    );
    project.provide('kafkaBrokers', '');
    return;
  }

  const { child, brokers } = started;
  project.provide('kafkaBrokers', brokers);

  // Last resort if teardown never runs (crash, process.exit): kill synchronously on exit.
  const onExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  return async function teardown(): Promise<void> {
    process.removeListener('exit', onExit);
    await stopChild(child);
  };
}

/** In CI a missing kcat fails the run instead of skipping (TOUCHLINE_REQUIRE_KAFKA=0 opts out). */
function kafkaRequired(): boolean {
  const flag = process.env.TOUCHLINE_REQUIRE_KAFKA;
  if (flag === '1') return true;
  if (flag === '0') return false;
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function hasSetpriv(): boolean {
  if (process.platform !== 'linux') return false;
  const r = spawnSync('setpriv', ['--help'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 });
  return r.status === 0 && String(r.stdout).includes('--pdeathsig');
}

function startMockCluster(kcat: string): Promise<{ child: ChildProcess; brokers: string }> {
  // Any topic will do: kcat only has to stay alive as the host of the mock cluster. A random name
  // keeps it from consuming (and printing) anything the tests produce.
  const topic = `__kcat_mock_host_${randomBytes(4).toString('hex')}`;
  const kcatArgs = ['-b', '127.0.0.1:1', '-X', 'test.mock.num.brokers=3', '-X', 'debug=mock', '-C', '-t', topic, '-q'];
  const probe = spawnSync(kcat, ['-V'], { stdio: 'ignore', timeout: 5_000 });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    return Promise.reject(
      new Error(
        code === 'ENOENT'
          ? `'${kcat}' not found on PATH (kcat is required for the Kafka mock cluster)`
          : `cannot run '${kcat} -V': ${probe.error.message}`,
      ),
    );
  }
  const [cmd, args] = hasSetpriv()
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', kcat, ...kcatArgs]]
    : [kcat, kcatArgs];

  return new Promise((resolve, reject) => {
    let settled = false;
    let stderrTail = '';
    const child = spawn(cmd, args, {
      // stdin: /dev/null (kcat -C does not read it and keeps running); stdout: ignored (consumed
      // records of the host topic, none expected); stderr: piped for the bootstrap line and drained
      // afterwards: debug=mock logs every request and a full pipe would stall the mock brokers.
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: false,
    });

    const fail = (msg: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const tail = stderrTail.trim().split('\n').slice(-5).join('\n');
      reject(new Error(tail ? `${msg}\n--- kcat stderr (tail) ---\n${tail}` : msg));
    };

    const timer = setTimeout(
      () => fail(`kcat did not print the mock cluster's bootstrap.servers within ${STARTUP_TIMEOUT_MS} ms`),
      STARTUP_TIMEOUT_MS,
    );

    child.on('error', (err: NodeJS.ErrnoException) => {
      fail(
        err.code === 'ENOENT'
          ? `'${cmd}' not found on PATH (kcat is required for the Kafka mock cluster)`
          : `failed to spawn ${cmd}: ${err.message}`,
      );
    });
    child.on('exit', (code, signal) => {
      fail(`kcat exited before the mock cluster was ready (code ${code}, signal ${signal})`);
    });

    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (settled) return; // keep draining, ignore
      stderrTail = (stderrTail + chunk).slice(-8_192);
      const m = BOOTSTRAP_RE.exec(stderrTail);
      if (m?.[1]) {
        settled = true;
        clearTimeout(timer);
        stderrTail = '';
        resolve({ child, brokers: m[1] });
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 3_000);
  await exited;
  clearTimeout(timer);
}
