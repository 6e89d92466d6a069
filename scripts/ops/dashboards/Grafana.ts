/**
 * A small builder for the Grafana dashboards under infra/grafana/dashboards: each dashboard is
 * declared as rows of stat/timeseries panels with their PromQL, and rendered to the JSON Grafana
 * provisions (schemaVersion 39). Layout (gridPos) and ids are computed, so the definitions stay short.
 * Definitions put `NS` (the namespace variable's matcher) into every selector of Pylon's own series,
 * so each panel follows the dashboard's namespace picker.
 */

export interface Query {
  readonly expr: string
  readonly legend?: string
}

export interface PanelSpec {
  readonly type: "stat" | "timeseries"
  readonly title: string
  readonly unit: string
  readonly queries: ReadonlyArray<Query>
  readonly description?: string
  /** Width in grid columns (of 24); default stat 6, timeseries 12. */
  readonly width?: number
}

export interface RowSpec {
  readonly title: string
  readonly panels: ReadonlyArray<PanelSpec>
}

export interface DashboardSpec {
  /** File name (without .json) and uid. */
  readonly uid: string
  readonly title: string
  readonly description: string
  readonly tags: ReadonlyArray<string>
  readonly rows: ReadonlyArray<RowSpec>
}

/** The label matcher for the dashboards' `namespace` variable (`.*` when "All"). */
export const NS = `namespace=~"$namespace"`

export const stat = (title: string, unit: string, expr: string, description?: string): PanelSpec => ({
  type: "stat",
  title,
  unit,
  queries: [{ expr }],
  ...(description === undefined ? {} : { description })
})

export const series = (
  title: string,
  unit: string,
  queries: ReadonlyArray<Query>,
  options: { readonly width?: number; readonly description?: string } = {}
): PanelSpec => ({ type: "timeseries", title, unit, queries, ...options })

const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const
const HEIGHT = { stat: 4, timeseries: 8 } as const
const DEFAULT_WIDTH = { stat: 6, timeseries: 12 } as const

const panelJson = (panel: PanelSpec, id: number, gridPos: { h: number; w: number; x: number; y: number }) => ({
  id,
  type: panel.type,
  title: panel.title,
  ...(panel.description === undefined ? {} : { description: panel.description }),
  datasource: DATASOURCE,
  gridPos,
  fieldConfig: panel.type === "stat"
    ? {
      defaults: { unit: panel.unit, thresholds: { mode: "absolute", steps: [{ color: "green", value: null }] } },
      overrides: []
    }
    : {
      defaults: { unit: panel.unit, custom: { fillOpacity: 10, showPoints: "never", stacking: { mode: "none" } } },
      overrides: []
    },
  options: panel.type === "stat"
    ? {
      reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
      colorMode: "value",
      graphMode: "area",
      textMode: "auto"
    }
    : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
  targets: panel.queries.map((query, index) => ({
    datasource: DATASOURCE,
    refId: String.fromCharCode(65 + index),
    expr: query.expr,
    ...(query.legend === undefined ? {} : { legendFormat: query.legend })
  }))
})

/** The dashboard JSON Grafana provisions. */
export const render = (spec: DashboardSpec): unknown => {
  const panels: Array<unknown> = []
  let id = 1
  let y = 0
  for (const row of spec.rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] })
    y += 1
    let x = 0
    let rowHeight = 0
    for (const panel of row.panels) {
      const w = panel.width ?? DEFAULT_WIDTH[panel.type]
      const h = HEIGHT[panel.type]
      if (x + w > 24) {
        x = 0
        y += rowHeight
        rowHeight = 0
      }
      panels.push(panelJson(panel, id++, { h, w, x, y }))
      x += w
      rowHeight = Math.max(rowHeight, h)
    }
    y += rowHeight
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ["pylon", ...spec.tags],
    timezone: "browser",
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-3h", to: "now" },
    graphTooltip: 1,
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0, refresh: 1, options: [] },
        {
          name: "namespace",
          label: "Namespace",
          type: "query",
          datasource: DATASOURCE,
          query: { query: `label_values(up{job=~"pylon-.*"}, namespace)`, refId: "ns" },
          definition: `label_values(up{job=~"pylon-.*"}, namespace)`,
          includeAll: true,
          allValue: ".*",
          multi: false,
          refresh: 2,
          current: {},
          hide: 0,
          options: [],
          sort: 1
        }
      ]
    },
    annotations: { list: [] },
    links: [{ title: "Pylon dashboards", type: "dashboards", tags: ["pylon"], asDropdown: true, includeVars: true, keepTime: true }],
    panels
  }
}
