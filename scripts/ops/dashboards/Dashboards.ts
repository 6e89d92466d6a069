/**
 * The six Grafana dashboards of the original (Overview, API Gateway, Microservices, Kafka,
 * Infrastructure, Business Metrics), same uids and titles, on the original's metric names
 * (docs/adr/0007-metric-names.md), plus panels for what Pylon adds: delivery latency, gap fills,
 * slow-consumer cuts, outbox lag, consumer lag, dead letters, Node.js runtime, telemetry export.
 * `node scripts/ops/dashboards/build.ts` writes them to infra/grafana/dashboards/<uid>.json.
 */
import type { DashboardSpec } from "./Grafana.ts"
import { NS, series, stat } from "./Grafana.ts"

const NOT_PROBES = `path!~"/health|/ready"`
const HTTP = `${NS},${NOT_PROBES}`
const GATEWAY = `${NS},job="pylon-api-gateway"`

const quantiles = (metric: string, selector: string, by: string, legendPrefix = "") =>
  [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le${by === "" ? "" : `, ${by}`}) (rate(${metric}_bucket{${selector}}[5m])))`,
    legend: `${legendPrefix}p${q * 100}${by === "" ? "" : ` ${by.split(", ").map((label) => `{{${label}}}`).join(" ")}`}`
  }))

const overview: DashboardSpec = {
  uid: "pylon-overview",
  title: "Pylon Overview",
  description: "High-level HTTP, RPC, WebSocket, users and messages overview.",
  tags: ["overview"],
  rows: [
    {
      title: "At a glance",
      panels: [
        stat("HTTP requests / s", "reqps", `sum(rate(pylon_http_requests_total{${HTTP}}[5m]))`),
        stat("Active WebSocket connections", "short", `sum(pylon_websocket_connections_active{${NS}})`),
        stat("Users online", "short", `max(pylon_users_online{${NS}})`),
        stat("Messages sent (1 h)", "short", `sum(increase(pylon_messages_sent_total{${NS}}[1h]))`),
        stat(
          "HTTP 5xx ratio",
          "percentunit",
          `sum(rate(pylon_http_requests_total{${HTTP},status_code=~"5.."}[5m])) / clamp_min(sum(rate(pylon_http_requests_total{${HTTP}}[5m])), 1e-9)`
        ),
        stat("Targets up", "short", `sum(up{job=~"pylon-.*",${NS}})`),
        stat("Outbox lag", "s", `max(pylon_outbox_lag_seconds{${NS}})`),
        stat("Consumer lag", "short", `sum(pylon_kafka_consumer_lag{${NS}})`)
      ]
    },
    {
      title: "Requests",
      panels: [
        series("Request rate by service", "reqps", [
          { expr: `sum by (job) (rate(pylon_http_requests_total{${HTTP}}[5m]))`, legend: "HTTP {{job}}" },
          { expr: `sum by (service) (rate(pylon_grpc_requests_total{${NS}}[5m]))`, legend: "RPC {{service}}" }
        ]),
        series("Request duration p50 / p95 / p99", "s", [
          ...quantiles("pylon_http_request_duration_seconds", HTTP, "", "HTTP "),
          { expr: `histogram_quantile(0.95, sum by (le) (rate(pylon_grpc_request_duration_seconds_bucket{${NS}}[5m])))`, legend: "RPC p95" }
        ]),
        series("Error rate by service", "reqps", [
          { expr: `sum by (job) (rate(pylon_http_requests_total{${HTTP},status_code=~"5.."}[5m]))`, legend: "HTTP {{job}}" },
          { expr: `sum by (service) (rate(pylon_grpc_requests_total{${NS},status_code=~"5.."}[5m]))`, legend: "RPC {{service}}" }
        ]),
        series("Errors by status code", "reqps", [
          { expr: `sum by (status_code) (rate(pylon_http_requests_total{${HTTP},status_code=~"4..|5.."}[5m]))`, legend: "HTTP {{status_code}}" },
          { expr: `sum by (status_code) (rate(pylon_grpc_requests_total{${NS},status_code=~"4..|5.."}[5m]))`, legend: "RPC {{status_code}}" }
        ])
      ]
    }
  ]
}

const apiGateway: DashboardSpec = {
  uid: "pylon-api-gateway",
  title: "Pylon API Gateway",
  description: "Request rate, latency, in-flight requests, WebSocket activity and rate limiting at the gateway.",
  tags: ["api-gateway"],
  rows: [
    {
      title: "HTTP",
      panels: [
        series("HTTP request rate", "reqps", [{
          expr: `sum by (method, path, status_code) (rate(pylon_http_requests_total{${GATEWAY},${NOT_PROBES}}[5m]))`,
          legend: "{{method}} {{path}} {{status_code}}"
        }]),
        series("HTTP request duration p50 / p95 / p99", "s", quantiles("pylon_http_request_duration_seconds", `${GATEWAY},${NOT_PROBES},path!="/ws"`, "method, path")),
        stat("In-flight requests", "short", `sum(pylon_http_requests_in_flight{${GATEWAY}})`),
        stat("Connect requests / s", "reqps", `sum(rate(pylon_grpc_requests_total{${GATEWAY}}[5m]))`),
        series("Rate-limited requests (429)", "reqps", [{
          expr: `sum by (path) (rate(pylon_http_requests_total{${GATEWAY},status_code="429"}[5m]))`,
          legend: "{{path}}"
        }]),
        series("Rate limiter failing open", "short", [{
          expr: `sum by (bucket) (increase(pylon_rate_limiter_fail_open_total{${NS}}[5m]))`,
          legend: "{{bucket}}"
        }], { description: "Requests let through because Redis could not answer (0 when healthy)." })
      ]
    },
    {
      title: "WebSocket",
      panels: [
        series("Active WebSocket connections", "short", [
          { expr: `sum by (room_type) (pylon_websocket_connections_active{${NS}})`, legend: "{{room_type}}" },
          { expr: `sum by (instance) (pylon_ws_connections{${NS}})`, legend: "open {{instance}}" }
        ], { width: 8 }),
        series("WebSocket messages / s", "short", [{
          expr: `sum by (room_type, message_type) (rate(pylon_messages_sent_total{${NS}}[5m]))`,
          legend: "sent {{room_type}} {{message_type}}"
        }, {
          expr: `sum(rate(pylon_ws_frames_received_total{${NS}}[5m]))`,
          legend: "frames received"
        }, {
          expr: `sum(rate(pylon_ws_messages_delivered_total{${NS}}[5m]))`,
          legend: "messages delivered"
        }, {
          expr: `sum(rate(pylon_ws_notifications_delivered_total{${NS}}[5m]))`,
          legend: "notifications delivered"
        }], { width: 8 }),
        series("Delivery latency (stored → written to socket)", "s", quantiles("pylon_ws_delivery_latency_seconds", NS, ""), { width: 8 }),
        series("Gap fills / slow-consumer cuts", "short", [
          { expr: `sum(increase(pylon_ws_gap_fills_total{${NS}}[5m]))`, legend: "gap fills" },
          { expr: `sum(increase(pylon_ws_slow_consumer_closes_total{${NS}}[5m]))`, legend: "slow-consumer closes (4008)" },
          { expr: `sum(increase(pylon_ws_misrouted_messages_total{${NS}}[5m]))`, legend: "misrouted" }
        ], { width: 8 }),
        series("Policy closes by reason", "short", [{
          expr: `sum by (reason) (increase(pylon_ws_policy_closes_total{${NS}}[5m]))`,
          legend: "{{reason}}"
        }], { width: 8 }),
        series("Inbound pauses (backpressure)", "short", [{
          expr: `sum(increase(pylon_ws_inbound_pauses_total{${NS}}[5m]))`,
          legend: "pauses"
        }], { width: 8 })
      ]
    }
  ]
}

const microservices: DashboardSpec = {
  uid: "pylon-microservices",
  title: "Pylon Microservices",
  description: "RPC request rate, latency and errors, pod resources and the Node.js runtime.",
  tags: ["microservices"],
  rows: [
    {
      title: "RPC (internal RPC and Connect)",
      panels: [
        series("RPC request rate", "reqps", [{
          expr: `sum by (service, method, status_code) (rate(pylon_grpc_requests_total{${NS}}[5m]))`,
          legend: "{{service}} {{method}} {{status_code}}"
        }]),
        series("RPC request duration p95", "s", [{
          expr: `histogram_quantile(0.95, sum by (le, service, method) (rate(pylon_grpc_request_duration_seconds_bucket{${NS}}[5m])))`,
          legend: "{{service}} {{method}}"
        }]),
        stat("RPC errors / s", "reqps", `sum(rate(pylon_grpc_requests_total{${NS},status_code=~"4..|5.."}[5m]))`),
        stat("Readiness failures (/ready 503) / s", "reqps", `sum(rate(pylon_http_requests_total{${NS},path="/ready",status_code="503"}[5m]))`)
      ]
    },
    {
      title: "Pods",
      panels: [
        series("Pod CPU usage", "cores", [{
          expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${NS},container!="",pod=~".*service.*|.*gateway.*"}[5m]))`,
          legend: "{{pod}}"
        }], { width: 8 }),
        series("Pod memory usage", "bytes", [{
          expr: `sum by (pod) (container_memory_working_set_bytes{${NS},container!="",pod=~".*service.*|.*gateway.*"})`,
          legend: "{{pod}}"
        }], { width: 8 }),
        series("Pod network I/O", "Bps", [
          { expr: `sum by (pod) (rate(container_network_receive_bytes_total{${NS}}[5m]))`, legend: "rx {{pod}}" },
          { expr: `sum by (pod) (rate(container_network_transmit_bytes_total{${NS}}[5m]))`, legend: "tx {{pod}}" }
        ], { width: 8 })
      ]
    },
    {
      title: "Node.js runtime",
      panels: [
        series("Event-loop delay p99", "s", [{
          expr: `max by (job, instance) (nodejs_eventloop_lag_p99_seconds{${NS}})`,
          legend: "{{job}} {{instance}}"
        }], { width: 8 }),
        series("Heap used / RSS", "bytes", [
          { expr: `sum by (job, instance) (nodejs_heap_size_used_bytes{${NS}})`, legend: "heap {{job}} {{instance}}" },
          { expr: `sum by (job, instance) (process_resident_memory_bytes{${NS}})`, legend: "rss {{job}} {{instance}}" }
        ], { width: 8 }),
        series("GC time / s and CPU", "s", [
          { expr: `sum by (job, kind) (rate(nodejs_gc_duration_seconds_sum{${NS}}[5m]))`, legend: "gc {{job}} {{kind}}" },
          { expr: `sum by (job) (rate(process_cpu_seconds_total{${NS}}[5m]))`, legend: "cpu {{job}}" }
        ], { width: 8 })
      ]
    },
    {
      title: "Telemetry export (OTLP traces, metrics, logs)",
      panels: [
        series("Export failures and dropped batches", "short", [
          { expr: `sum by (job, signal) (increase(pylon_telemetry_export_failures_total{${NS}}[5m]))`, legend: "failed attempts {{job}} {{signal}}" },
          { expr: `sum by (job, signal) (increase(pylon_telemetry_export_dropped_batches_total{${NS}}[5m]))`, legend: "dropped batches {{job}} {{signal}}" }
        ], { width: 24, description: "OTLP export attempts that failed (retried with backoff) and batches given up on; 0 when the collector answers." })
      ]
    }
  ]
}

const kafka: DashboardSpec = {
  uid: "pylon-kafka",
  title: "Pylon Kafka",
  description: "Publish and consume rates, latency, consumer lag, dead letters, outbox and broker metrics.",
  tags: ["kafka"],
  rows: [
    {
      title: "Produce and consume",
      panels: [
        series("Messages published / s", "short", [{
          expr: `sum by (topic) (rate(pylon_kafka_messages_published_total{${NS}}[5m]))`,
          legend: "{{topic}}"
        }]),
        series("Publish duration p95", "s", [{
          expr: `histogram_quantile(0.95, sum by (le, topic) (rate(pylon_kafka_publish_duration_seconds_bucket{${NS}}[5m])))`,
          legend: "{{topic}}"
        }]),
        series("Messages consumed / s", "short", [{
          expr: `sum by (topic, consumer_group) (rate(pylon_kafka_messages_consumed_total{${NS}}[5m]))`,
          legend: "{{topic}} {{consumer_group}}"
        }]),
        series("Consumer lag", "short", [
          { expr: `max by (topic, consumer_group) (pylon_kafka_consumer_lag{${NS}})`, legend: "{{topic}} {{consumer_group}}" },
          { expr: `sum by (topic, consumergroup) (kafka_consumergroup_lag{${NS}})`, legend: "exporter {{topic}} {{consumergroup}}" }
        ]),
        series("Processing duration p95", "s", [{
          expr: `histogram_quantile(0.95, sum by (le, consumer_group) (rate(pylon_kafka_message_processing_seconds_bucket{${NS}}[5m])))`,
          legend: "{{consumer_group}}"
        }]),
        series("Dead letters, retries, restarts", "short", [
          { expr: `sum by (topic) (increase(pylon_kafka_dlq_messages_total{${NS}}[5m]))`, legend: "dead-lettered {{topic}}" },
          { expr: `sum(increase(pylon_kafka_consumer_retries_total{${NS}}[5m]))`, legend: "retries" },
          { expr: `sum(increase(pylon_kafka_consumer_restarts_total{${NS}}[5m]))`, legend: "restarts" }
        ])
      ]
    },
    {
      title: "Outbox (chat service)",
      panels: [
        series("Outbox lag", "s", [{ expr: `max(pylon_outbox_lag_seconds{${NS}})`, legend: "oldest unpublished" }]),
        series("Outbox published / failures", "short", [
          { expr: `sum(rate(pylon_outbox_published_total{${NS}}[5m]))`, legend: "published / s" },
          { expr: `sum(rate(pylon_outbox_publish_failures_total{${NS}}[5m]))`, legend: "failed batches / s" }
        ])
      ]
    },
    {
      title: "Broker (kafka-exporter / JMX exporter)",
      panels: [
        series("Broker messages in / s", "short", [{
          expr: `sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesin_total[5m]))`,
          legend: "{{topic}}"
        }]),
        series("Failed produce requests / s", "short", [{
          expr: `sum by (topic) (rate(kafka_server_brokertopicmetrics_failedproducerequests_total[5m]))`,
          legend: "{{topic}}"
        }])
      ]
    }
  ]
}

const infrastructure: DashboardSpec = {
  uid: "pylon-infrastructure",
  title: "Pylon Infrastructure",
  description: "PostgreSQL, Redis and Kubernetes metrics (postgres_exporter, redis_exporter, kube-state-metrics), and Pylon's view of them.",
  tags: ["infrastructure"],
  rows: [
    {
      title: "PostgreSQL",
      panels: [
        series("Connections", "short", [{ expr: `sum(pg_stat_activity_count)`, legend: "connections" }], { width: 8 }),
        series("Active queries", "short", [{ expr: `sum(pg_stat_activity_count{state="active"})`, legend: "active" }], { width: 8 }),
        series("Block read + write time", "ms", [{
          expr: `sum(rate(pg_stat_database_blk_read_time[5m]) + rate(pg_stat_database_blk_write_time[5m]))`,
          legend: "I/O time"
        }], { width: 8 })
      ]
    },
    {
      title: "Redis",
      panels: [
        series("Memory used", "bytes", [{ expr: `sum(redis_memory_used_bytes)`, legend: "used" }], { width: 8 }),
        series("Hit rate", "percentunit", [{
          expr: `sum(rate(redis_keyspace_hits_total[5m])) / clamp_min(sum(rate(redis_keyspace_hits_total[5m])) + sum(rate(redis_keyspace_misses_total[5m])), 1e-9)`,
          legend: "hit rate"
        }], { width: 8 }),
        series("Connected clients", "short", [{ expr: `sum(redis_connected_clients)`, legend: "clients" }], { width: 8 })
      ]
    },
    {
      title: "Kubernetes",
      panels: [
        series("Pod restarts (15 m)", "short", [{
          expr: `sum by (pod) (increase(kube_pod_container_status_restarts_total{${NS}}[15m]))`,
          legend: "{{pod}}"
        }], { width: 8 }),
        series("Pods ready", "short", [{
          expr: `sum by (pod) (kube_pod_status_ready{${NS},condition="true"})`,
          legend: "{{pod}}"
        }], { width: 8 }),
        series("HPA replicas", "short", [
          { expr: `sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{${NS}})`, legend: "{{horizontalpodautoscaler}} current" },
          { expr: `sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{${NS}})`, legend: "{{horizontalpodautoscaler}} max" }
        ], { width: 8 })
      ]
    },
    {
      title: "As Pylon sees its dependencies",
      panels: [
        series("Scrape targets up", "short", [{ expr: `sum by (job) (up{job=~"pylon-.*",${NS}})`, legend: "{{job}}" }], { width: 8 }),
        series("Readiness failures (/ready 503)", "reqps", [{
          expr: `sum by (job) (rate(pylon_http_requests_total{${NS},path="/ready",status_code="503"}[5m]))`,
          legend: "{{job}}"
        }], { width: 8 }),
        series("Redis trouble seen by Pylon", "short", [
          { expr: `sum by (bucket) (increase(pylon_rate_limiter_fail_open_total{${NS}}[5m]))`, legend: "rate limiter fail-open {{bucket}}" },
          { expr: `sum(increase(pylon_presence_publish_failures_total{${NS}}[5m]))`, legend: "presence publish failures" }
        ], { width: 8 })
      ]
    }
  ]
}

const business: DashboardSpec = {
  uid: "pylon-business-metrics",
  title: "Pylon Business Metrics",
  description: "Users online, rooms created, messages sent and active WebSocket connections.",
  tags: ["business"],
  rows: [
    {
      title: "Now",
      panels: [
        stat("Users online", "short", `max(pylon_users_online{${NS}})`),
        stat("Rooms created (24 h)", "short", `sum(increase(pylon_rooms_created_total{${NS}}[24h]))`),
        stat("Messages sent (24 h)", "short", `sum(increase(pylon_messages_sent_total{${NS}}[24h]))`),
        stat("Active connections", "short", `sum(pylon_websocket_connections_active{${NS}})`)
      ]
    },
    {
      title: "Trends",
      panels: [
        series("Messages / s by type", "short", [{
          expr: `sum by (message_type) (rate(pylon_messages_sent_total{${NS}}[5m]))`,
          legend: "{{message_type}}"
        }]),
        series("Messages / s by room type", "short", [{
          expr: `sum by (room_type) (rate(pylon_messages_sent_total{${NS}}[5m]))`,
          legend: "{{room_type}}"
        }]),
        series("WebSocket connections and users online", "short", [
          { expr: `sum by (room_type) (pylon_websocket_connections_active{${NS}})`, legend: "connections {{room_type}}" },
          { expr: `max(pylon_users_online{${NS}})`, legend: "users online" }
        ]),
        series("Rooms created / s by room type", "short", [{
          expr: `sum by (room_type) (rate(pylon_rooms_created_total{${NS}}[5m]))`,
          legend: "{{room_type}}"
        }]),
        series("Presence changes / s", "short", [{
          expr: `sum by (status) (rate(pylon_presence_changes_total{${NS}}[5m]))`,
          legend: "{{status}}"
        }]),
        series("Notifications delivered / s", "short", [{
          expr: `sum(rate(pylon_ws_notifications_delivered_total{${NS}}[5m]))`,
          legend: "frames"
        }])
      ]
    }
  ]
}

export const DASHBOARDS: ReadonlyArray<DashboardSpec> = [overview, apiGateway, microservices, kafka, infrastructure, business]
