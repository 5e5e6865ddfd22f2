package backstage

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// What a platform adds to Backstage's pod: existing Secrets and ConfigMaps as
// environment, volumes and their mounts, init containers, native sidecars, scheduling
// and probe timings. Each addition is checked here, once: the stack's key table calls
// the same checks on its keys, and NewBackstage judges the final pod template against
// Pod Security "restricted" with the admission plugin's own library before anything is
// registered.

// Names the program's own pod uses; an addition may not take them.
var (
	programContainers = []string{"backstage", "wait-for-postgres"}
	programVolumes    = []string{"tmp", "app-tmp", "app-config", "ca-bundle"}
	programMountPaths = []string{"/tmp", "/app/tmp", appConfigDir, caBundleDir}
	// programObjects are the Secrets and ConfigMaps the program writes in the namespace:
	// referencing one as extra environment would duplicate or shadow the program's own.
	programObjects = []string{
		names.BackstageConfigName, names.BackstageSecretName, names.BackstageAppConfigName,
		names.BackstageCABundleName, names.BackstageRegistryName,
		names.PostgresName, names.PostgresBootstrapSecretName,
	}
	// imageAppDir holds Backstage's code in the image: a mount there, or above it, hides it.
	imageAppDir = "/app"
)

// AllowedVolumeSources are the volume types a platform may add: what Pod Security
// "restricted" admits, which never includes hostPath.
var AllowedVolumeSources = []string{"configMap", "secret", "projected", "emptyDir", "persistentVolumeClaim", "csi", "ephemeral"}

// ProbeTimings tune one of Backstage's probes; zero keeps the program's value.
type ProbeTimings struct {
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       int32 `json:"periodSeconds,omitempty"`
	TimeoutSeconds      int32 `json:"timeoutSeconds,omitempty"`
	FailureThreshold    int32 `json:"failureThreshold,omitempty"`
}

// Probes holds the timings of Backstage's three probes.
type Probes struct {
	Startup   *ProbeTimings `json:"startup,omitempty"`
	Readiness *ProbeTimings `json:"readiness,omitempty"`
	Liveness  *ProbeTimings `json:"liveness,omitempty"`
}

// CheckEnvFromObjects refuses names that are not object names, repeats, and the
// program's own Secrets and ConfigMaps.
func CheckEnvFromObjects(kind string) func([]string) error {
	return func(list []string) error {
		seen := map[string]bool{}
		for _, name := range list {
			if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
				return fmt.Errorf("%q is not a %s name (%s)", name, kind, errs[0])
			}
			if slices.Contains(programObjects, name) {
				return fmt.Errorf("names %s, which the program writes itself; its values already reach Backstage (use env or secretEnv to add to them)", name)
			}
			if seen[name] {
				return fmt.Errorf("lists %s twice", name)
			}
			seen[name] = true
		}
		return nil
	}
}

// volumeSources names the sources a volume sets, by their field names in a pod spec.
func volumeSources(v corev1.Volume) []string {
	var out []string
	src := reflect.ValueOf(v.VolumeSource)
	for i := range src.NumField() {
		if !src.Field(i).IsNil() {
			out = append(out, strings.Split(src.Type().Field(i).Tag.Get("json"), ",")[0])
		}
	}
	return out
}

// CheckExtraVolumes refuses a volume whose name is not a volume name, repeats one or
// takes the program's, that does not set exactly one source, or whose source is not
// one of AllowedVolumeSources.
func CheckExtraVolumes(volumes []corev1.Volume) error {
	seen := map[string]bool{}
	for _, v := range volumes {
		if errs := validation.IsDNS1123Label(v.Name); len(errs) > 0 {
			return fmt.Errorf("has a volume named %q, which is not a volume name (%s)", v.Name, errs[0])
		}
		if slices.Contains(programVolumes, v.Name) {
			return fmt.Errorf("has a volume named %s, which the program's pod uses (%s); name it otherwise", v.Name, strings.Join(programVolumes, ", "))
		}
		if seen[v.Name] {
			return fmt.Errorf("has two volumes named %s", v.Name)
		}
		seen[v.Name] = true
		sources := volumeSources(v)
		switch {
		case len(sources) != 1:
			return fmt.Errorf("volume %s sets %d sources (%s); set exactly one of %s", v.Name, len(sources), strings.Join(sources, ", "), strings.Join(AllowedVolumeSources, ", "))
		case sources[0] == "hostPath":
			return fmt.Errorf("volume %s is a hostPath, which gives the pod the node's files and Pod Security restricted refuses; use a persistentVolumeClaim, csi or ephemeral volume", v.Name)
		case !slices.Contains(AllowedVolumeSources, sources[0]):
			return fmt.Errorf("volume %s is a %s volume; use one of %s", v.Name, sources[0], strings.Join(AllowedVolumeSources, ", "))
		}
	}
	return nil
}

// CheckVolumeMounts refuses mount paths that are not absolute, repeat or overlap the
// program's, a mount that hides the image's code, and mount propagation, which needs a
// privileged container.
func CheckVolumeMounts(mounts []corev1.VolumeMount) error {
	seen := map[string]bool{}
	for _, m := range mounts {
		p := m.MountPath
		if !path.IsAbs(p) || path.Clean(p) != p {
			return fmt.Errorf("mounts %s at %q; use an absolute, clean path such as /var/run/%s", m.Name, p, m.Name)
		}
		if p == "/" || p == imageAppDir || strings.HasPrefix(imageAppDir, p+"/") {
			return fmt.Errorf("mounts %s at %s, which would hide Backstage's code in %s; mount it elsewhere", m.Name, p, imageAppDir)
		}
		for _, own := range programMountPaths {
			if p == own || strings.HasPrefix(p, own+"/") || strings.HasPrefix(own, p+"/") {
				return fmt.Errorf("mounts %s at %s, which overlaps the program's mount %s; mount it elsewhere", m.Name, p, own)
			}
		}
		if seen[p] {
			return fmt.Errorf("mounts two volumes at %s", p)
		}
		seen[p] = true
		if err := checkPropagation(m); err != nil {
			return err
		}
	}
	return nil
}

func checkPropagation(m corev1.VolumeMount) error {
	if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
		return fmt.Errorf("mounts %s with mountPropagation %s, which needs a privileged container; leave it unset", m.Name, *m.MountPropagation)
	}
	return nil
}

// CheckMountsExist refuses a mount of a volume that is not among the extra volumes:
// the program's own volumes are Backstage's.
func CheckMountsExist(mounts []corev1.VolumeMount, volumes []corev1.Volume) error {
	for _, m := range mounts {
		if !slices.ContainsFunc(volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			return fmt.Errorf("mounts %q, which is not a volume of extraVolumes; add it there", m.Name)
		}
	}
	return nil
}

// CheckContainers refuses added containers whose names are not container names,
// repeat or take the program's, that have no image, that set a restart policy (sidecar
// says whether they are native sidecars), or that Pod Security restricted refuses once
// the program's defaults are filled in.
func CheckContainers(containers []corev1.Container, sidecar bool) error {
	for i, c := range containers {
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			return fmt.Errorf("has a container named %q, which is not a container name (%s)", c.Name, errs[0])
		}
		if slices.Contains(programContainers, c.Name) {
			return fmt.Errorf("has a container named %s, which the program's pod uses; name it otherwise", c.Name)
		}
		if slices.ContainsFunc(containers[:i], func(o corev1.Container) bool { return o.Name == c.Name }) {
			return fmt.Errorf("has two containers named %s", c.Name)
		}
		if c.Image == "" {
			return fmt.Errorf("container %s has no image; pin one by tag or digest", c.Name)
		}
		if c.RestartPolicy != nil {
			if sidecar {
				return fmt.Errorf("container %s sets restartPolicy; the program makes every sidecar a native sidecar (restartPolicy Always)", c.Name)
			}
			return fmt.Errorf("container %s sets restartPolicy; list a container that keeps running under sidecars instead", c.Name)
		}
		if !sidecar && (c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil || c.Lifecycle != nil) {
			return fmt.Errorf("container %s sets probes or lifecycle hooks, which an init container that runs to completion cannot have; list it under sidecars if it keeps running", c.Name)
		}
		for kind, list := range map[string]corev1.ResourceList{"requests": c.Resources.Requests, "limits": c.Resources.Limits} {
			if memory, ok := list[corev1.ResourceMemory]; ok {
				if err := workload.CheckMemory(memory); err != nil {
					return fmt.Errorf("container %s: resources.%s.memory %s %w", c.Name, kind, memory.String(), err)
				}
			}
		}
	}
	spec := corev1.PodSpec{SecurityContext: workload.PodSecurityContext(backstageUID), InitContainers: withRestrictedDefaults(containers, sidecar)}
	return checkRestricted(&metav1.ObjectMeta{}, &spec)
}

// CheckProbes bounds the probe timings: a probe that waits longer than the pod's
// grace period, or gives up after more than ten minutes, hides a dead pod.
func CheckProbes(p *Probes) error {
	if p == nil {
		return nil
	}
	for _, probe := range []struct {
		name string
		t    *ProbeTimings
	}{{"startup", p.Startup}, {"readiness", p.Readiness}, {"liveness", p.Liveness}} {
		if probe.t == nil {
			continue
		}
		for _, f := range []struct {
			field string
			v     int32
			hi    int
		}{
			{"initialDelaySeconds", probe.t.InitialDelaySeconds, 600},
			{"periodSeconds", probe.t.PeriodSeconds, 300},
			{"timeoutSeconds", probe.t.TimeoutSeconds, 60},
			{"failureThreshold", probe.t.FailureThreshold, 120},
		} {
			if f.v < 0 || int(f.v) > f.hi {
				return fmt.Errorf("%s.%s is %d; use a value from 1 to %d (0 keeps the program's)", probe.name, f.field, f.v, f.hi)
			}
		}
		t := probeWith(&corev1.Probe{PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3}, probe.t)
		if t.TimeoutSeconds > t.PeriodSeconds {
			return fmt.Errorf("%s.timeoutSeconds (%d) is longer than its periodSeconds (%d); a probe would start before the last one ended", probe.name, t.TimeoutSeconds, t.PeriodSeconds)
		}
	}
	return nil
}

// probeWith applies timings over a probe of the program's.
func probeWith(p *corev1.Probe, t *ProbeTimings) *corev1.Probe {
	if t == nil {
		return p
	}
	for _, f := range []struct {
		dst *int32
		v   int32
	}{
		{&p.InitialDelaySeconds, t.InitialDelaySeconds}, {&p.PeriodSeconds, t.PeriodSeconds},
		{&p.TimeoutSeconds, t.TimeoutSeconds}, {&p.FailureThreshold, t.FailureThreshold},
	} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	return p
}

// CheckTopologySpread refuses constraints the scheduler would refuse; a constraint
// without a labelSelector selects Backstage's pods.
func CheckTopologySpread(constraints []corev1.TopologySpreadConstraint) error {
	seen := map[string]bool{}
	for _, c := range constraints {
		if c.TopologyKey == "" {
			return errors.New("has a constraint without topologyKey; name a node label such as topology.kubernetes.io/zone")
		}
		if errs := validation.IsQualifiedName(c.TopologyKey); len(errs) > 0 {
			return fmt.Errorf("topologyKey %q is not a label key (%s)", c.TopologyKey, errs[0])
		}
		if c.MaxSkew < 1 {
			return fmt.Errorf("constraint on %s has maxSkew %d; use 1 or more", c.TopologyKey, c.MaxSkew)
		}
		switch c.WhenUnsatisfiable {
		case corev1.DoNotSchedule, corev1.ScheduleAnyway:
		default:
			return fmt.Errorf("constraint on %s has whenUnsatisfiable %q; use DoNotSchedule or ScheduleAnyway", c.TopologyKey, c.WhenUnsatisfiable)
		}
		if seen[c.TopologyKey] {
			return fmt.Errorf("has two constraints on %s", c.TopologyKey)
		}
		seen[c.TopologyKey] = true
	}
	return nil
}

// withRestrictedDefaults fills in what Pod Security restricted asks of a container and
// the container left unset: no privilege escalation, no capabilities, a read-only root
// filesystem. A value the container sets stays, and the check judges it.
func withRestrictedDefaults(containers []corev1.Container, sidecar bool) []corev1.Container {
	out := make([]corev1.Container, 0, len(containers))
	for _, c := range containers {
		c = *c.DeepCopy()
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		sc := c.SecurityContext
		if sc.AllowPrivilegeEscalation == nil {
			sc.AllowPrivilegeEscalation = ptr.To(false)
		}
		if sc.Capabilities == nil {
			sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
		}
		if sc.ReadOnlyRootFilesystem == nil {
			sc.ReadOnlyRootFilesystem = ptr.To(true)
		}
		if sidecar {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		out = append(out, c)
	}
	return out
}

var restricted = psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}

// checkRestricted judges a pod as the API server's Pod Security admission would at
// the restricted level, with the same library.
func checkRestricted(meta *metav1.ObjectMeta, spec *corev1.PodSpec) error {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return err
	}
	result := policy.AggregateCheckResults(evaluator.EvaluatePod(restricted, meta, spec))
	if !result.Allowed {
		return fmt.Errorf("breaks Pod Security restricted, which the namespace enforces: %s (%s)", result.ForbiddenReason(), result.ForbiddenDetail())
	}
	return nil
}

// CheckContainerMounts refuses an added container's mount of a volume that is not
// among the extra volumes, or with mount propagation.
func CheckContainerMounts(containers []corev1.Container, volumes []corev1.Volume) error {
	for _, c := range containers {
		for _, m := range c.VolumeMounts {
			if err := errors.Join(CheckMountsExist([]corev1.VolumeMount{m}, volumes), checkPropagation(m)); err != nil {
				return fmt.Errorf("container %s %w", c.Name, err)
			}
		}
	}
	return nil
}

// mergeAffinity adds the stack's affinity to the program's: its node affinity and pod
// affinity as given, its anti-affinity terms beside the program's spreading.
func mergeAffinity(program, extra *corev1.Affinity) *corev1.Affinity {
	if extra == nil {
		return program
	}
	out := program.DeepCopy()
	extra = extra.DeepCopy()
	out.NodeAffinity = extra.NodeAffinity
	out.PodAffinity = extra.PodAffinity
	if anti := extra.PodAntiAffinity; anti != nil {
		if out.PodAntiAffinity == nil {
			out.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		out.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(out.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, anti.RequiredDuringSchedulingIgnoredDuringExecution...)
		out.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(out.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, anti.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	return out
}

// spreadConstraints is the program's spreading over nodes, which a stack's constraint
// on the same key replaces, then the stack's; a constraint without a selector selects
// Backstage's pods.
func spreadConstraints(extra []corev1.TopologySpreadConstraint, selector *metav1.LabelSelector) []corev1.TopologySpreadConstraint {
	var out []corev1.TopologySpreadConstraint
	if !slices.ContainsFunc(extra, func(c corev1.TopologySpreadConstraint) bool { return c.TopologyKey == workload.HostnameTopologyKey }) {
		out = append(out, corev1.TopologySpreadConstraint{
			MaxSkew:           1,
			TopologyKey:       workload.HostnameTopologyKey,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     selector,
		})
	}
	for _, c := range extra {
		c = *c.DeepCopy()
		if c.LabelSelector == nil {
			c.LabelSelector = selector
		}
		out = append(out, c)
	}
	return out
}

// envFromObjects is the stack's existing ConfigMaps, then its Secrets, as environment.
func envFromObjects(spec backstageSpec) []corev1.EnvFromSource {
	var out []corev1.EnvFromSource
	for _, name := range spec.EnvFromConfigMaps {
		out = append(out, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
	}
	for _, name := range spec.EnvFromSecrets {
		out = append(out, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
	}
	return out
}

// CheckContainersApart refuses a name both the init containers and the sidecars use:
// they are one list in the pod.
func CheckContainersApart(initContainers, sidecars []corev1.Container) error {
	for _, c := range initContainers {
		if slices.ContainsFunc(sidecars, func(o corev1.Container) bool { return o.Name == c.Name }) {
			return fmt.Errorf("have a container named %s in both init containers and sidecars; name one otherwise", c.Name)
		}
	}
	return nil
}

// checkPodTemplate judges the pod template the Deployment will carry, with every
// addition in place, against Pod Security restricted.
func checkPodTemplate(spec backstageSpec) error {
	placeholder := pulumi.String("placeholder")
	in := backstagePodInputs{configMapName: placeholder, secretName: placeholder, configHash: placeholder, secretHash: placeholder}
	template := backstageDeployment(kube.NewRefs(), spec, in).Spec.Template
	if err := checkRestricted(&template.ObjectMeta, &template.Spec); err != nil {
		return fmt.Errorf("the pod template %w", err)
	}
	return nil
}

// Autoscaling makes a HorizontalPodAutoscaler own Backstage's replica count.
type Autoscaling struct {
	MinReplicas                       int `json:"minReplicas"`
	MaxReplicas                       int `json:"maxReplicas"`
	TargetCPUUtilizationPercentage    int `json:"targetCPUUtilizationPercentage,omitempty"`
	TargetMemoryUtilizationPercentage int `json:"targetMemoryUtilizationPercentage,omitempty"`
}

// CheckAutoscaling bounds the replicas as CheckReplicas does and asks for a target.
func CheckAutoscaling(a *Autoscaling) error {
	if a == nil {
		return nil
	}
	if err := CheckReplicas(a.MinReplicas); err != nil {
		return fmt.Errorf("minReplicas %w", err)
	}
	if err := workload.Between(a.MaxReplicas, a.MinReplicas, MaxReplicas, "from minReplicas up; more pods need more database connections"); err != nil {
		return fmt.Errorf("maxReplicas %w", err)
	}
	if a.TargetCPUUtilizationPercentage == 0 && a.TargetMemoryUtilizationPercentage == 0 {
		return errors.New("sets no target; set targetCPUUtilizationPercentage (e.g. 70), targetMemoryUtilizationPercentage or both")
	}
	for name, v := range map[string]int{"targetCPUUtilizationPercentage": a.TargetCPUUtilizationPercentage, "targetMemoryUtilizationPercentage": a.TargetMemoryUtilizationPercentage} {
		if v != 0 {
			if err := workload.Between(v, 10, 400, "a share of the pods' requests"); err != nil {
				return fmt.Errorf("%s %w", name, err)
			}
		}
	}
	return nil
}
