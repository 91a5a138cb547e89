/** The volume bench's result types and their Markdown table (see bench/volume.ts). */
import type { PgPerEvent } from './pg-counts.js';
import type { ProcessUse } from './resources.js';
import type { Percentiles } from './stats.js';

export interface TradeCheckpoint {
  trades: number;
  fillSeconds: number;
  fillEventsPerSecond: number | null;
  /** Acceptance to settlement of single trades sent one at a time once the backlog is settled. */
  probe: Percentiles;
  stateBytes: number | null;
  stateJsonBytes: number | null;
  pendingCommissions: number;
  historyEvents: number | null;
}

export interface RevenueResult {
  customers: number;
  affiliates: number;
  events: number;
  registrationSeconds: number;
  intakeSeconds: number;
  intakeEventsPerSecond: number;
  bookedSeconds: number;
  bookedEventsPerSecond: number;
  accruals: number;
  accruedTotal: string | null;
  temporal: {
    sampledEvents: number;
    eventWorkflowActionsPerEvent: number;
    settlementActionsPerEvent: number;
    actionsPerEvent: number;
  };
  postgres: PgPerEvent;
  processes: Record<string, ProcessUse>;
}

export interface VolumeResult {
  startedAt: string;
  machine: { cpus: number; model: string; node: string };
  trades: TradeCheckpoint[] | null;
  revenue: RevenueResult | null;
}

const cell = (v: unknown) => (v === null || v === undefined ? 'n/a' : String(v));

export function renderVolume(r: VolumeResult): string {
  const lines = [
    `# Volume run ${r.startedAt}`,
    '',
    `${r.machine.cpus} x ${r.machine.model}, Node ${r.machine.node}`,
    '',
  ];
  if (r.trades?.length) {
    const first = r.trades[0]!;
    lines.push(
      '## One trader, lot deal, 30-day hold',
      '',
      '| trades | fill (s) | fill ev/s | step p50 (ms) | step p95 (ms) | p50 vs first | state (bytes) | state JSON (bytes) | pending | history events |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...r.trades
        .map((c) =>
          [
            c.trades,
            c.fillSeconds,
            cell(c.fillEventsPerSecond),
            cell(c.probe.p50),
            cell(c.probe.p95),
            c.probe.p50 && first.probe.p50 ? `${(c.probe.p50 / first.probe.p50).toFixed(2)}x` : 'n/a',
            cell(c.stateBytes),
            cell(c.stateJsonBytes),
            c.pendingCommissions,
            cell(c.historyEvents),
          ].join(' | '),
        )
        .map((row) => `| ${row} |`),
      '',
    );
  }
  if (r.revenue) {
    const v = r.revenue;
    const mem = Object.entries(v.processes)
      .filter(([, p]) => p.peakRssMb !== null)
      .map(([role, p]) => `${role} ${p.peakRssMb} MB`)
      .join(', ');
    const cpu = Object.entries(v.processes)
      .map(([role, p]) => `${role} ${p.cpuPercent}%`)
      .join(', ');
    lines.push(
      `## Nightly revenue batch: ${v.events} revenue.daily, ${v.customers} customers, ${v.affiliates} affiliates`,
      '',
      '| figure | value |',
      '|---|---:|',
      `| registrations first (s) | ${v.registrationSeconds} |`,
      `| intake: all accepted (s) | ${v.intakeSeconds} |`,
      `| intake (events/s) | ${v.intakeEventsPerSecond} |`,
      `| every event settled (s) | ${v.bookedSeconds} |`,
      `| settled (events/s) | ${v.bookedEventsPerSecond} |`,
      `| accruals booked | ${v.accruals} (total ${cell(v.accruedTotal)}) |`,
      `| Temporal actions per event (event workflow + settlement) | ${v.temporal.actionsPerEvent} (${v.temporal.eventWorkflowActionsPerEvent} + ${v.temporal.settlementActionsPerEvent}, ${v.temporal.sampledEvents} events sampled) |`,
      `| PostgreSQL round trips per event | ${cell(v.postgres.roundTripsPerEvent)} |`,
      `| PostgreSQL transactions per event | ${cell(v.postgres.transactionsPerEvent)} |`,
      `| peak memory | ${mem} |`,
      `| CPU (share of one core) | ${cpu} |`,
      '',
      'Round trips per event by statement (largest first):',
      '',
      ...v.postgres.byStatement.slice(0, 8).map((s) => `- ${s.perEvent}: \`${s.statement}\``),
      '',
    );
  }
  return lines.join('\n');
}
