// The rules npm test's infrastructure step applies to rendered Kubernetes objects
// (scripts/ops/ManifestRules.ts): a correct Pylon Deployment passes, and each drift it guards
// against is reported. (Against the manifests before issue #9 they report 15 problems.)
import { describe, expect, it } from "vitest"
import { checkOverlay, type Container, type K8sObject } from "../../../scripts/ops/ManifestRules.ts"

const container = (overrides: Partial<Container> = {}): Container => ({
  name: "chat-service",
  image: "registry.example.com/pylon:0.1.0",
  args: ["chat"],
  ports: [{ name: "http", containerPort: 9001 }, { name: "metrics", containerPort: 9465 }],
  env: [{ name: "APP_PORT", value: "9001" }, { name: "METRICS_PORT", value: "9465" }],
  resources: { limits: { memory: "384Mi" } },
  ...overrides
})

const deployment = (
  options: { main?: Partial<Container>; init?: ReadonlyArray<Container>; annotation?: string } = {}
): K8sObject => ({
  kind: "Deployment",
  metadata: { name: "chat-service", labels: { "app.kubernetes.io/component": "chat" } },
  spec: {
    template: {
      metadata: { annotations: { "prometheus.io/port": options.annotation ?? "9465" } },
      spec: {
        securityContext: { runAsNonRoot: true },
        containers: [container(options.main)],
        initContainers: options.init ?? [container({ name: "migrate", args: ["migrate"] })]
      }
    }
  }
})

const defaultDeny: K8sObject = {
  kind: "NetworkPolicy",
  metadata: { name: "default-deny" },
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] }
}

describe("ManifestRules", () => {
  it("accepts a wired Pylon Deployment under a default-deny policy", () => {
    expect(checkOverlay([deployment(), defaultDeny])).toEqual([])
  })

  it("reports a missing migrate init container, drifting metrics ports and unpinned images", () => {
    expect(checkOverlay([deployment({ init: [] }), defaultDeny])).toEqual([
      `Deployment chat-service has no init container "migrate"`
    ])
    expect(checkOverlay([deployment({ annotation: "9001" }), defaultDeny])).toEqual([
      `Deployment chat-service: prometheus.io/port is not the "metrics" port 9465`
    ])
    const latest = deployment({ main: { image: "pylon:latest" }, init: [container({ name: "migrate", args: ["migrate"], image: "pylon:latest" })] })
    expect(checkOverlay([latest, defaultDeny]).filter((problem) => problem.includes("not pinned"))).toHaveLength(2)
  })

  it("reports a missing default-deny, a CPU-only HPA and a catch-all TRUSTED_PROXIES", () => {
    const hpa: K8sObject = {
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "api-gateway" },
      spec: { metrics: [{ type: "Resource", resource: { name: "cpu" } }] }
    }
    const config: K8sObject = { kind: "ConfigMap", metadata: { name: "pylon-config-abc" }, data: { TRUSTED_PROXIES: "10.0.0.0/8" } }
    expect(checkOverlay([hpa, config])).toEqual([
      "no NetworkPolicy default-deny selecting every pod for Ingress and Egress",
      "HorizontalPodAutoscaler api-gateway scales on CPU only (add memory or a connections metric)",
      "ConfigMap pylon-config-abc: TRUSTED_PROXIES must be the ingress pods' range (the pod CIDR), not everything"
    ])
  })
})
