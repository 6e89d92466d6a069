/**
 * Rules over rendered Kubernetes objects that schemas cannot express: the invariants this repo's
 * deployment relies on (docs/adr/0006-kubernetes-deployment.md). Each rule returns the problems it
 * finds as sentences; check-manifests.ts runs them over every rendered overlay.
 */


export interface Container {
  readonly name?: string
  readonly image?: string
  readonly args?: ReadonlyArray<string>
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly containerPort?: number }>
  readonly env?: ReadonlyArray<{ readonly name?: string; readonly value?: string }>
  readonly resources?: { readonly limits?: Record<string, string> }
}

interface PodTemplate {
  readonly metadata?: { readonly annotations?: Record<string, string> }
  readonly spec?: {
    readonly containers?: ReadonlyArray<Container>
    readonly initContainers?: ReadonlyArray<Container>
    readonly securityContext?: { readonly runAsNonRoot?: boolean }
  }
}

/**
 * A rendered object, read loosely: only the fields the rules look at, all optional. validate-infra.sh
 * runs these rules after kubeconform has validated the same objects against the strict Kubernetes
 * schemas, so the shapes below hold wherever the fields are present.
 */
export interface K8sObject {
  readonly kind?: string
  readonly metadata?: { readonly name?: string; readonly labels?: Record<string, string> }
  readonly spec?: { readonly template?: PodTemplate } & Record<string, unknown>
  readonly data?: Record<string, string>
}

/** The components whose pods are Pylon processes (base/*.yaml labels). */
export const PYLON_COMPONENTS: ReadonlyArray<string> = ["gateway", "room", "chat", "presence", "notification"]

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"])

const template = (object: K8sObject): PodTemplate | undefined =>
  WORKLOADS.has(object.kind ?? "") ? object.spec?.template : undefined

const label = (object: K8sObject) => `${object.kind ?? "?"} ${object.metadata?.name ?? "?"}`
const envValue = (container: Container, name: string) => container.env?.find((entry) => entry.name === name)?.value
const portOf = (container: Container, name: string) => container.ports?.find((port) => port.name === name)?.containerPort

/** Every container: a memory limit and an image with an explicit tag other than `latest`. */
const containersAreBounded = (object: K8sObject): ReadonlyArray<string> => {
  const spec = template(object)?.spec
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]
  return containers.flatMap((container) => {
    const problems: Array<string> = []
    const where = `${label(object)} container ${container.name ?? "?"}`
    if (container.resources?.limits?.["memory"] === undefined) problems.push(`${where} has no memory limit`)
    const image = container.image ?? ""
    const tag = image.includes("@") ? "digest" : image.slice(image.lastIndexOf(":") + 1)
    if (!image.includes(":") || tag === "latest" || tag.includes("/")) {
      problems.push(`${where}: image ${image} is not pinned to a tag or digest`)
    }
    return problems
  })
}

/** Every pod runs as non-root. */
const podsAreNonRoot = (object: K8sObject): ReadonlyArray<string> => {
  const spec = template(object)?.spec
  return spec !== undefined && spec.securityContext?.runAsNonRoot !== true
    ? [`${label(object)} does not set securityContext.runAsNonRoot: true`]
    : []
}

/**
 * Pylon's processes: migrate first (init container `migrate` on the same image), metrics on the
 * container port `metrics` = METRICS_PORT = the prometheus.io/port annotation, APP_PORT = `http`.
 */
const pylonProcessesAreWired = (object: K8sObject): ReadonlyArray<string> => {
  const component = object.metadata?.labels?.["app.kubernetes.io/component"]
  if (object.kind !== "Deployment" || component === undefined || !PYLON_COMPONENTS.includes(component)) return []
  const pod = template(object)
  const main = pod?.spec?.containers?.[0]
  if (main === undefined) return [`${label(object)} has no container`]
  const problems: Array<string> = []
  const migrate = pod?.spec?.initContainers?.find((container) => container.name === "migrate")
  if (migrate === undefined) problems.push(`${label(object)} has no init container "migrate"`)
  else {
    if (migrate.image !== main.image) problems.push(`${label(object)}: migrate runs ${migrate.image}, the process ${main.image}`)
    if (migrate.args?.[0] !== "migrate") problems.push(`${label(object)}: init container "migrate" does not run \`pylon migrate\``)
  }
  const metrics = portOf(main, "metrics")
  if (metrics === undefined) problems.push(`${label(object)} has no container port "metrics"`)
  else {
    if (envValue(main, "METRICS_PORT") !== String(metrics)) problems.push(`${label(object)}: METRICS_PORT is not the "metrics" port ${metrics}`)
    if (pod?.metadata?.annotations?.["prometheus.io/port"] !== String(metrics)) {
      problems.push(`${label(object)}: prometheus.io/port is not the "metrics" port ${metrics}`)
    }
  }
  const http = portOf(main, "http")
  if (http === undefined || envValue(main, "APP_PORT") !== String(http)) problems.push(`${label(object)}: APP_PORT is not the "http" port`)
  return problems
}

/** Rules over one object. */
export const objectRules: ReadonlyArray<(object: K8sObject) => ReadonlyArray<string>> = [
  containersAreBounded,
  podsAreNonRoot,
  pylonProcessesAreWired
]

/** Rules over a whole rendered overlay. */
export const overlayRules: ReadonlyArray<(objects: ReadonlyArray<K8sObject>) => ReadonlyArray<string>> = [
  (objects) => {
    const deny = objects.find((object) => object.kind === "NetworkPolicy" && object.metadata?.name === "default-deny")
    const selector = deny?.spec?.["podSelector"]
    const types = deny?.spec?.["policyTypes"]
    const denies = typeof selector === "object" && selector !== null && Object.keys(selector).length === 0 &&
      Array.isArray(types) && types.includes("Ingress") && types.includes("Egress")
    return denies ? [] : ["no NetworkPolicy default-deny selecting every pod for Ingress and Egress"]
  },
  (objects) =>
    objects
      .filter((object) => object.kind === "HorizontalPodAutoscaler")
      .filter((hpa) => {
        const metrics = hpa.spec?.["metrics"]
        return !Array.isArray(metrics) ||
          !metrics.some((metric: { type?: string; resource?: { name?: string } }) =>
            metric.type !== "Resource" || metric.resource?.name !== "cpu"
          )
      })
      .map((hpa) => `${label(hpa)} scales on CPU only (add memory or a connections metric)`),
  (objects) =>
    objects
      .filter((object) => object.kind === "ConfigMap" && object.metadata?.name?.startsWith("pylon-config") === true)
      .filter((config) => ["", "10.0.0.0/8", "0.0.0.0/0", undefined].includes(config.data?.["TRUSTED_PROXIES"]))
      .map((config) => `${label(config)}: TRUSTED_PROXIES must be the ingress pods' range (the pod CIDR), not everything`)
]

/** Every problem of a rendered overlay. */
export const checkOverlay = (objects: ReadonlyArray<K8sObject>): ReadonlyArray<string> => [
  ...objects.flatMap((object) => objectRules.flatMap((rule) => rule(object))),
  ...overlayRules.flatMap((rule) => rule(objects))
]
