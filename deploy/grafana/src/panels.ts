// Small typed builders for Grafana panels. Everything returned is checked by TypeScript against
// @grafana/schema, the types Grafana itself publishes for dashboard JSON (schemaVersion 41).
import { ThresholdsMode } from '@grafana/schema';
import type { DataSourceRef, Panel, RowPanel } from '@grafana/schema';

/** Every query goes to the dashboard's `datasource` variable (a Prometheus data source). */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** One PromQL query of a panel. */
export interface Query {
  readonly expr: string;
  /** Legend template, e.g. `{{queue}} {{state}}`. */
  readonly legend: string;
  /** Instant query (tables, bar gauges) instead of a range. */
  readonly instant?: boolean;
}

/** Grafana unit ids used here. */
export type Unit = 'short' | 's' | 'ops' | 'percentunit' | 'reqps' | 'bool_on_off';

/** A panel before layout: the grid position is assigned by {@link layout}. */
export type UnplacedPanel = Omit<Panel, 'gridPos' | 'id'> & { readonly width: number };

function targets(queries: readonly Query[]): NonNullable<Panel['targets']> {
  return queries.map((q, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend,
    range: q.instant !== true,
    instant: q.instant === true,
  }));
}

/** A time series panel. */
export function timeseries(
  title: string,
  description: string,
  unit: Unit,
  queries: readonly Query[],
  width = 8,
): UnplacedPanel {
  return {
    type: 'timeseries',
    title,
    description,
    width,
    datasource: DATASOURCE,
    targets: targets(queries),
    fieldConfig: {
      defaults: {
        unit,
        min: 0,
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never' },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

/** A single-value panel, coloured by thresholds (`steps`: [colour, from] pairs). */
export function stat(
  title: string,
  description: string,
  unit: Unit,
  query: Query,
  steps: readonly (readonly [string, number | null])[],
  width = 4,
): UnplacedPanel {
  return {
    type: 'stat',
    title,
    description,
    width,
    datasource: DATASOURCE,
    targets: targets([query]),
    fieldConfig: {
      defaults: {
        unit,
        thresholds: {
          mode: ThresholdsMode.Absolute,
          steps: steps.map(([color, value]) => ({ color, value })),
        },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      textMode: 'auto',
    },
  };
}

/** Horizontal bars of one value per series, 0 to 1 (per-video progress). */
export function progressBars(
  title: string,
  description: string,
  query: Query,
  width = 24,
): UnplacedPanel {
  return {
    type: 'bargauge',
    title,
    description,
    width,
    datasource: DATASOURCE,
    targets: targets([{ ...query, instant: true }]),
    fieldConfig: {
      defaults: { unit: 'percentunit', min: 0, max: 1 },
      overrides: [],
    },
    options: {
      orientation: 'horizontal',
      displayMode: 'gradient',
      showUnfilled: true,
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
  };
}

/** A row of panels under a collapsible header. */
export interface Section {
  readonly title: string;
  readonly panels: readonly UnplacedPanel[];
  readonly height?: number;
}

/**
 * Lays sections out top to bottom on Grafana's 24-column grid: a row header, then the panels
 * left to right, wrapping when a line is full. Ids are assigned in order, so the output is
 * stable (the committed JSON is compared with it).
 */
export function layout(sections: readonly Section[]): (Panel | RowPanel)[] {
  const out: (Panel | RowPanel)[] = [];
  let id = 1;
  let y = 0;
  for (const section of sections) {
    out.push({
      type: 'row',
      id: id++,
      title: section.title,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    const h = section.height ?? 8;
    let x = 0;
    for (const { width, ...panel } of section.panels) {
      if (x + width > 24) {
        x = 0;
        y += h;
      }
      out.push({ ...panel, id: id++, gridPos: { x, y, w: width, h } });
      x += width;
    }
    y += h;
  }
  return out;
}
